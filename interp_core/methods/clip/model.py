"""An open_clip model as one module that takes our inputs: :class:`ClipEncoder`.

Our images are ``(N, 3, H, W)`` floats in [0, 1]; :meth:`ClipEncoder.encode_images` resizes them to the
model's image size and normalises them with the model's own mean and std, :meth:`ClipEncoder.encode_texts`
tokenizes with the model's tokenizer; both return L2-normalised embeddings. Two ways to get one:

- :func:`build_recipe_clip`: a recipe's small model, from its config registered with
  ``open_clip.add_model_config`` and ``pretrained=None`` (randomly initialised, then trained by the recipe).
- :func:`interp_core.methods.clip.pretrained.load_pretrained_clip`: a pretrained open_clip model, from a
  local weights file or the local cache only.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


class ClipEncoder(nn.Module):
    """An open_clip ``CLIP`` model (``clip``) with its tokenizer and image preprocessing.

    ``name``: the open_clip model name; ``source``: where the weights came from (a recipe, a file, the
    cache). The state dict is the open_clip model's, under ``clip.``; mean and std are not saved (they are
    the model config's).

    ``vocabulary_size`` (a recipe's compact vocabulary; None: the tokenizer's own ids): the text tower's
    token embedding has that many rows, and the buffer ``vocabulary`` (saved with the weights) says which
    BPE token each row stands for: row 0 padding, 1 start of text, 2 any unknown token, the last row end
    of text (open_clip pools the text at the highest id), the rows between the tokens
    :meth:`set_vocabulary` found, in BPE order; unused rows hold -1.
    """

    PAD, START, UNKNOWN = 0, 1, 2

    def __init__(self, clip: nn.Module, tokenizer, name: str, source: str = "", vocabulary_size: int | None = None):
        super().__init__()
        import open_clip

        self.clip = clip
        self.tokenizer = tokenizer
        self.name = name
        self.source = source
        if vocabulary_size is not None and vocabulary_size < 5:
            raise ValueError(f"A compact vocabulary needs at least 5 rows (4 are special), not {vocabulary_size}.")
        self.register_buffer("vocabulary", None if vocabulary_size is None else torch.full((vocabulary_size,), -1, dtype=torch.long))
        cfg = open_clip.get_model_preprocess_cfg(clip)
        size = cfg.get("size", 224)
        self.image_size = tuple(size) if isinstance(size, (tuple, list)) else (int(size), int(size))
        self.register_buffer("mean", torch.tensor(cfg.get("mean", open_clip.OPENAI_DATASET_MEAN)).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg.get("std", open_clip.OPENAI_DATASET_STD)).view(1, 3, 1, 1), persistent=False)

    @property
    def device(self) -> torch.device:
        return self.mean.device

    @property
    def embed_dim(self) -> int:
        with torch.no_grad():
            return int(self.encode_texts(["a"]).shape[1])

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in [0, 1] -> the model's input: resized (bilinear, antialiased) and normalised."""
        x = images.to(self.device, torch.float32)
        if tuple(x.shape[-2:]) != self.image_size:
            x = F.interpolate(x, size=self.image_size, mode="bilinear", antialias=True, align_corners=False)
        return (x - self.mean) / self.std

    def set_vocabulary(self, texts: Sequence[str]) -> int:
        """Fill the compact vocabulary with every BPE token of ``texts``; returns how many there are.
        Raises ValueError when they do not fit in the table."""
        if self.vocabulary is None:
            raise ValueError("This CLIP model reads the tokenizer's own ids; it has no compact vocabulary to set.")
        ids = torch.unique(self.tokenizer(list(texts)))
        special = torch.tensor([self.PAD, self.tokenizer.sot_token_id, self.tokenizer.eot_token_id])
        ids = ids[~torch.isin(ids, special)]
        size = len(self.vocabulary)
        if len(ids) > size - 4:
            raise ValueError(f"The texts use {len(ids)} distinct BPE tokens; a vocabulary of {size} rows holds {size - 4}. "
                             f"Raise the recipe's vocabulary_size.")
        table = torch.full((size,), -1, dtype=torch.long)
        table[self.PAD], table[self.START], table[-1] = self.PAD, self.tokenizer.sot_token_id, self.tokenizer.eot_token_id
        table[3:3 + len(ids)] = ids
        self.vocabulary.copy_(table)
        return len(ids)

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        tokens = self.tokenizer(list(texts))
        if self.vocabulary is None:
            return tokens.to(self.device)
        table = self.vocabulary.cpu()
        if int(table[self.START]) != self.tokenizer.sot_token_id:
            raise RuntimeError("This CLIP model's compact vocabulary is not set: train it, or load its weights first.")
        rows = torch.full((self.tokenizer.vocab_size,), self.UNKNOWN, dtype=torch.long)
        used = table >= 0
        rows[table[used]] = torch.arange(len(table))[used]
        return rows[tokens].to(self.device)

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """L2-normalised image embeddings ``(N, D)`` of ``(N, 3, H, W)`` images in [0, 1]."""
        return F.normalize(self.clip.encode_image(self.preprocess(images)), dim=-1)

    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalised text embeddings ``(N, D)``."""
        return F.normalize(self.clip.encode_text(self.tokenize(texts)), dim=-1)

    @torch.no_grad()
    def prompt_embeddings(self, prompts: dict[str, Sequence[str]] | Sequence[Sequence[str]]) -> torch.Tensor:
        """One embedding per concept ``(K, D)``: the normalised mean of the embeddings of its prompts
        (CLIP's prompt ensembling). ``prompts``: concept -> texts, or a list of text lists."""
        groups = list(prompts.values()) if isinstance(prompts, dict) else [list(p) for p in prompts]
        flat = [t for texts in groups for t in texts]
        embedded = torch.cat([self.encode_texts(flat[i:i + 256]) for i in range(0, len(flat), 256)])
        out, start = [], 0
        for texts in groups:
            out.append(embedded[start:start + len(texts)].mean(0))
            start += len(texts)
        return F.normalize(torch.stack(out), dim=-1)

    @torch.no_grad()
    def embed_split(self, split, batch_size: int = 256, indices=None) -> torch.Tensor:
        """Image embeddings ``(N, D)`` (CPU) of a whole image split (or of ``indices`` of it), in eval mode."""
        import numpy as np

        was_training = self.training
        self.eval()
        order = np.arange(len(split)) if indices is None else np.asarray(indices)
        out = [self.encode_images(split.inputs(order[i:i + batch_size])).cpu() for i in range(0, len(order), batch_size)]
        self.train(was_training)
        return torch.cat(out) if out else torch.empty(0, self.embed_dim)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor):
        """The open_clip forward on preprocessed images and tokens: ``(image_features, text_features,
        logit_scale)`` as open_clip's ``ClipLoss`` takes them."""
        out = self.clip(images, tokens)
        if isinstance(out, dict):
            return out["image_features"], out["text_features"], out["logit_scale"]
        return out[0], out[1], out[2]


class _DropMessage(logging.Filter):
    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def register_config(name: str, config: dict) -> str:
    """Register the open_clip model config ``config`` under ``name`` (a JSON file in the interp_core cache,
    read by ``open_clip.add_model_config``); a name already registered with the same config is kept."""
    import open_clip

    from interp_core.paths import cache_subdir

    if open_clip.get_model_config(name) == json.loads(json.dumps(config)):
        return name
    path = cache_subdir("open_clip_configs") / f"{name}.json"
    text = json.dumps(config, indent=1, sort_keys=True)
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    open_clip.add_model_config(path)
    return name


def build_recipe_clip(recipe) -> ClipEncoder:
    """The untrained open_clip model of a :class:`~interp_core.methods.clip.recipes.ClipRecipe`."""
    import open_clip

    from interp_core.store.recipes import recipe_hash

    name = register_config(f"interp-core-{recipe.name}-{recipe_hash(recipe)}", recipe.model_config())
    root = logging.getLogger()
    quiet = _DropMessage("No pretrained weights loaded")  # open_clip warns on every untrained build; ours are trained
    root.addFilter(quiet)
    try:
        clip = open_clip.create_model(name, pretrained=None, output_dict=True)
    finally:
        root.removeFilter(quiet)
    return ClipEncoder(clip, open_clip.get_tokenizer(name), name, source=f"recipe {recipe.name}",
                       vocabulary_size=getattr(recipe, "vocabulary_size", 0) or None)
