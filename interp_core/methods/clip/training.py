"""The handler of ``clip`` recipes: build the open_clip model from the recipe's config, train it
contrastively on the dataset's captions, and test it (zero-shot classification from class prompts, on
the seen classes and on the held-out combinations; concept recognition from the concept prompts that
name features; caption retrieval)."""
from __future__ import annotations

import copy
import math
import time
from typing import Any, Sequence

import numpy as np
import torch

from interp_core.data import load_split
from interp_core.data.base import Split
from interp_core.methods.clip.model import ClipEncoder, build_recipe_clip
from interp_core.methods.clip.recipes import ClipRecipe
from interp_core.store.models import RecipeHandler, register_handler
from interp_core.progress import Progress, ProgressCallback
from interp_core.training.engine import seed_everything, split_train_val

#: Templates of the zero-shot class prompts (the class name is "<colour> <pattern> <shape>").
CLASS_TEMPLATES = ("a photo of a {}", "a {}", "there is a {}", "a picture of a {}", "an image showing a {}")


def class_prompts(class_names: Sequence[str]) -> dict[str, list[str]]:
    """Zero-shot prompts per class, e.g. ``"a photo of a red striped circle"``."""
    return {name: [t.format(name) for t in CLASS_TEMPLATES] for name in class_names}


def training_samples(recipe: ClipRecipe) -> Split:
    """The captioned training split, without the held-out zero-shot combinations when the recipe says so."""
    from interp_core.data.captions import zero_shot_samples

    train = load_split(recipe.dataset, "train")
    if train.captions is None:
        raise ValueError(f"Dataset {recipe.dataset!r} has no captions; a CLIP recipe needs an image-caption dataset.")
    if recipe.hold_out_zero_shot:
        train = train.subset(np.flatnonzero(~zero_shot_samples(train)))
    return train


def vocabulary_texts(recipe: ClipRecipe, train: Split) -> list[str]:
    """The texts whose BPE tokens make a compact vocabulary: the training captions, the zero-shot class
    prompts of every class (the held-out combinations too) and the concept prompts that name features."""
    from interp_core.data.captions import concept_prompts

    prompts = class_prompts(train.info.class_names)
    texts = list(train.captions) + [t for group in prompts.values() for t in group]
    return texts + [t for group in concept_prompts().values() for t in group]


def _lr_factor(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def contrastive_loss(model: ClipEncoder, images: torch.Tensor, tokens: torch.Tensor, loss_fn=None) -> torch.Tensor:
    """CLIP's symmetric cross-entropy over the batch's image-caption similarities (open_clip ``ClipLoss``).
    ``images`` ``(B, 3, H, W)`` in [0, 1], ``tokens`` ``(B, L)``."""
    import open_clip

    loss_fn = loss_fn or open_clip.ClipLoss()
    image_features, text_features, logit_scale = model(model.preprocess(images), tokens.to(model.device))
    return loss_fn(image_features, text_features, logit_scale)


@torch.no_grad()
def _mean_loss(model: ClipEncoder, split: Split, tokens: torch.Tensor, batch_size: int, loss_fn) -> float:
    model.eval()
    total, seen = 0.0, 0
    for start in range(0, len(split) - batch_size + 1, batch_size):  # full batches: the loss depends on the batch size
        idx = np.arange(start, start + batch_size)
        total += float(contrastive_loss(model, split.inputs(idx), tokens[idx], loss_fn)) * batch_size
        seen += batch_size
    model.train()
    return total / max(1, seen)


def train_clip(recipe: ClipRecipe, model: ClipEncoder, device: torch.device, progress: ProgressCallback | None,
               show_bar: bool) -> dict[str, Any]:
    """AdamW (no decay on gains, biases and the temperature) with a linear warm-up and a cosine decay;
    the temperature is clipped at 100 as in CLIP. Keeps the epoch with the lowest validation loss."""
    import open_clip
    from tqdm.auto import tqdm

    seed_everything(recipe.seed)
    model.to(device).train()
    samples = training_samples(recipe)
    vocabulary = model.set_vocabulary(vocabulary_texts(recipe, samples)) if model.vocabulary is not None else None
    train, val = split_train_val(samples, recipe.val_fraction, recipe.seed)
    train_tokens, val_tokens = model.tokenize(train.captions).cpu(), model.tokenize(val.captions).cpu()
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": recipe.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=recipe.lr, betas=(0.9, 0.98), eps=1e-6)
    steps_per_epoch = len(train) // recipe.batch_size
    total = recipe.epochs * steps_per_epoch
    warmup = int(recipe.warmup_epochs * steps_per_epoch)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _lr_factor(s, total, warmup))
    loss_fn = open_clip.ClipLoss()
    rng = np.random.default_rng(recipe.seed)
    history, best_loss, best_state, best_epoch, start = [], math.inf, copy.deepcopy(model.state_dict()), 0, time.perf_counter()
    bar = tqdm(total=total, desc="clip", unit="batch", disable=not show_bar, leave=False)
    for epoch in range(1, recipe.epochs + 1):
        order = rng.permutation(len(train))
        running = 0.0
        for i in range(steps_per_epoch):
            idx = np.sort(order[i * recipe.batch_size:(i + 1) * recipe.batch_size])
            images = train.inputs(idx)
            if recipe.flip:
                flip = torch.from_numpy(rng.random(len(idx)) < 0.5)
                images = torch.where(flip[:, None, None, None], images.flip(-1), images)
            loss = contrastive_loss(model, images, train_tokens[idx], loss_fn)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"Contrastive loss became {loss.item()} at epoch {epoch}; lower the learning rate.")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            with torch.no_grad():
                model.clip.logit_scale.clamp_(0, math.log(100))
            running += float(loss.detach())
            bar.update(1)
            bar.set_postfix(epoch=epoch, loss=f"{running / (i + 1):.3f}")
            if progress is not None and (i % 10 == 0 or i == steps_per_epoch - 1):
                done = ((epoch - 1) * steps_per_epoch + i + 1) / total
                progress(Progress("clip", done, f"epoch {epoch}/{recipe.epochs} · loss {running / (i + 1):.3f}", epoch, recipe.epochs))
        val_loss = _mean_loss(model, val, val_tokens, recipe.batch_size, loss_fn)
        history.append({"epoch": epoch, "train_loss": running / steps_per_epoch, "val_loss": val_loss,
                        "temperature": float(model.clip.logit_scale.detach().exp()), "seconds": time.perf_counter() - start})
        if val_loss < best_loss:
            best_loss, best_state, best_epoch = val_loss, copy.deepcopy(model.state_dict()), epoch
    bar.close()
    model.load_state_dict(best_state)
    model.eval()
    return {"history": history, "best_epoch": best_epoch, "val_loss": best_loss, "train_samples": len(train), "vocabulary_tokens": vocabulary,
            "train_seconds": time.perf_counter() - start}


@torch.no_grad()
def zero_shot_metrics(model: ClipEncoder, test: Split, image_embeddings: torch.Tensor | None = None) -> dict[str, float]:
    """Zero-shot accuracy from class prompts on every test image, on the held-out combinations only
    (classified among all classes), and on the seen classes; plus the accuracy of each concept group
    (shape, colour, ...) read from the concept prompts that name features (argmax over the group's values)."""
    from interp_core.data.captions import concept_prompts, zero_shot_samples
    from interp_core.data.shape_vocabulary import ATTRIBUTE_GROUPS, group_values

    embeddings = model.embed_split(test) if image_embeddings is None else image_embeddings
    labels = torch.from_numpy(test.labels)
    classes = model.prompt_embeddings(class_prompts(test.info.class_names)).cpu()
    correct = (embeddings @ classes.T).argmax(1) == labels
    held = torch.from_numpy(zero_shot_samples(test))
    out = {"zero_shot_accuracy": float(correct.float().mean()),
           "heldout_zero_shot_accuracy": float(correct[held].float().mean()) if held.any() else float("nan"),
           "seen_zero_shot_accuracy": float(correct[~held].float().mean())}
    if "attributes" in test.extras and tuple(test.info.attribute_names) == tuple(concept_prompts()):
        concepts = model.prompt_embeddings(concept_prompts()).cpu()
        scores = embeddings @ concepts.T
        offset = 0
        for group, values in ATTRIBUTE_GROUPS.items():
            truth = torch.from_numpy(group_values(test.extras["attributes"], group))
            guess = scores[:, offset:offset + len(values)].argmax(1)
            out[f"concept_accuracy_{group}"] = float((guess == truth).float().mean())
            offset += len(values)
    return out


@torch.no_grad()
def retrieval_recall(image_embeddings: torch.Tensor, text_embeddings: torch.Tensor, k: int = 5) -> dict[str, float]:
    """Recall@k of image-to-caption and caption-to-image retrieval among the given pairs (row i of each
    is a pair). Many captions of one class are alike, so this is far below the zero-shot accuracy."""
    sims = image_embeddings @ text_embeddings.T
    truth = torch.arange(len(sims))
    i2t = (sims.topk(k, dim=1).indices == truth[:, None]).any(1).float().mean()
    t2i = (sims.T.topk(k, dim=1).indices == truth[:, None]).any(1).float().mean()
    return {f"image_to_text_recall_at_{k}": float(i2t), f"text_to_image_recall_at_{k}": float(t2i)}


def evaluate_clip(recipe: ClipRecipe, model: ClipEncoder, device: torch.device) -> dict[str, Any]:
    """Test metrics; ``accuracy`` (the headline every model reports) is the zero-shot accuracy."""
    model.eval()
    test = load_split(recipe.dataset, "test")
    embeddings = model.embed_split(test)
    metrics = zero_shot_metrics(model, test, embeddings)
    with torch.no_grad():
        texts = torch.cat([model.encode_texts(test.captions[i:i + 256]).cpu() for i in range(0, len(test), 256)])
    metrics.update(retrieval_recall(embeddings, texts))
    return {"accuracy": metrics["zero_shot_accuracy"], **metrics, "n": len(test)}


register_handler("clip", RecipeHandler(build_recipe_clip, train_clip, evaluate_clip))
