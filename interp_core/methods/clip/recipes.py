"""CLIP recipes: a small open_clip model trained contrastively from scratch on an embedded dataset's
captions (torch-free).

A :class:`ClipRecipe` holds the towers' sizes as plain fields; :meth:`ClipRecipe.model_config` turns them
into the open_clip model config (``embed_dim``, ``vision_cfg``, ``text_cfg``) that the handler registers
with ``open_clip.add_model_config`` before ``open_clip.create_model(..., pretrained=None)``, so the model
is a real open_clip ``CLIP`` and the config is part of the recipe hash. The vision tower is open_clip's
``ModifiedResNet`` when ``vision_layers`` is a tuple of block counts, its ``VisionTransformer`` when it is
an int (then ``patch_size`` applies). The text tower uses open_clip's own BPE tokenizer; with
``vocabulary_size`` its embedding table holds only the BPE tokens the recipe's texts use (see below).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from interp_core.store.recipes import Recipe, register_recipe

#: open_clip's BPE vocabulary (the tokenizer ships in the package).
OPEN_CLIP_VOCAB_SIZE = 49408


@dataclass(frozen=True)
class ClipRecipe(Recipe):
    """Contrastive image-caption training (CLIP's symmetric InfoNCE with a learnt temperature) of an
    open_clip model built from the fields below.

    ``hold_out_zero_shot``: leave the training samples of the zero-shot combinations
    (``interp_core.data.captions.ZERO_SHOT_COMBINATIONS``) out, so that the test can check whether the
    model recognises them from their parts. ``val_fraction``: held out of training; the epoch with the
    lowest validation loss is kept. ``flip``: random horizontal flips (captions say nothing about left
    and right of a single object). ``vocabulary_size``: 0 for open_clip's whole BPE vocabulary (49,408
    rows in the token embedding); n > 0 for a compact one of n rows: the BPE tokens of the training
    captions and of our prompts (class and concept prompts), renumbered, any other token read as one
    unknown token (:class:`~interp_core.methods.clip.model.ClipEncoder`). The shipped 512 rows make the
    checkpoint a quarter of the size and a training step about a fifth faster than 49,408 would.
    """

    embed_dim: int = 128
    image_size: int = 64
    vision_layers: tuple[int, ...] | int = (1, 1, 1, 1)
    vision_width: int = 16
    vision_head_width: int = 32
    patch_size: int | None = None
    context_length: int = 32
    text_width: int = 128
    text_heads: int = 4
    text_layers: int = 3
    text_mlp_ratio: float = 2.0
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup_epochs: float = 0.5
    val_fraction: float = 0.05
    hold_out_zero_shot: bool = True
    flip: bool = True
    vocabulary_size: int = 512

    kind: str = field(default="clip", init=False)

    def model_config(self) -> dict[str, Any]:
        """The open_clip model config of this recipe (what ``open_clip.add_model_config`` reads)."""
        vision: dict[str, Any] = {"image_size": self.image_size, "layers": self.vision_layers, "width": self.vision_width,
                                  "head_width": self.vision_head_width}
        if isinstance(self.vision_layers, int):
            vision["patch_size"] = self.patch_size
        text = {"context_length": self.context_length, "vocab_size": self.vocabulary_size or OPEN_CLIP_VOCAB_SIZE, "width": self.text_width,
                "heads": self.text_heads, "layers": self.text_layers, "mlp_ratio": self.text_mlp_ratio}
        return {"embed_dim": self.embed_dim, "vision_cfg": vision, "text_cfg": text}


register_recipe(ClipRecipe(
    name="clip-shapes",
    dataset="shapes",
    family="clip",
    shipped=True,
    description="A small open_clip model (ResNet image tower, 3-layer text transformer, 512-token vocabulary) trained "
                "contrastively from scratch on the shapes captions, 4 zero-shot combinations held out; names Q-SENN's features.",
))
