"""Pretrained open_clip models from this machine only: a weights file given as a path, or open_clip's
pretrained weights already in the local Hugging Face cache. Nothing is ever downloaded: a missing file or
cache entry fails at once with :class:`ClipWeightsError`, which says what to do."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from interp_core.methods.clip.model import ClipEncoder

#: The file names open_clip gives weights in its Hugging Face repositories (safetensors first).
_HUB_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


class ClipWeightsError(FileNotFoundError):
    """Pretrained CLIP weights were asked for but are not on this machine (nothing is downloaded)."""


def cached_weights(model_name: str, tag: str, cache_dir: str | os.PathLike | None = None) -> Path | None:
    """The local file of open_clip's pretrained ``model_name``/``tag`` in the Hugging Face cache, or None.
    Only looks on disk (``huggingface_hub.try_to_load_from_cache``); never contacts the hub."""
    import open_clip
    from huggingface_hub import try_to_load_from_cache

    cfg = open_clip.get_pretrained_cfg(model_name, tag)
    hub = cfg.get("hf_hub", "") if cfg else ""
    if not hub:
        return None
    repo, filename = os.path.split(hub)  # as open_clip reads it: "org/repo/" names no file, "org/repo/f.bin" one
    for name in ([filename] if filename else list(_HUB_FILES)):
        found = try_to_load_from_cache(repo, name, cache_dir=None if cache_dir is None else str(cache_dir))
        if isinstance(found, str) and Path(found).is_file():
            return Path(found)
    return None


def load_pretrained_clip(model_name: str, weights: str | os.PathLike | None = None, *, tag: str | None = None,
                         cache_dir: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> ClipEncoder:
    """A pretrained open_clip model from this machine only.

    ``model_name``: an open_clip architecture (``open_clip.list_models()``, e.g. ``"ViT-B-32"``).
    ``weights``: a local weights file (``.safetensors``, ``.bin`` or ``.pt`` state dict) for it; or, without
    a file, ``tag`` names open_clip's pretrained weights (e.g. ``"openai"``), which must already be in the
    local Hugging Face cache (``cache_dir``, default ``$HF_HUB_CACHE``). Fails fast with
    :class:`ClipWeightsError` (or ``ValueError`` for unknown names) before building anything. The encoder's
    ``weights_path`` is the file its weights came from.
    """
    import open_clip

    if model_name not in open_clip.list_models():
        known = ", ".join(m for m in open_clip.list_models() if not m.startswith("interp-core-"))[:400]
        raise ValueError(f"Unknown open_clip model {model_name!r}. Known models include: {known} …")
    quick_gelu = False
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise ClipWeightsError(f"CLIP weights file {str(path)!r} does not exist. Give the path of a local "
                                   f"open_clip weights file for {model_name} (nothing is downloaded).")
        source = f"file {path}"
    else:
        if not tag:
            raise ValueError(f"Give either a weights file or a pretrained tag for {model_name!r} "
                             f"(tags: {', '.join(open_clip.list_pretrained_tags_by_model(model_name)) or 'none'}).")
        cfg = open_clip.get_pretrained_cfg(model_name, tag)
        if not cfg:
            raise ValueError(f"open_clip has no pretrained weights {tag!r} for {model_name!r}; tags: "
                             f"{', '.join(open_clip.list_pretrained_tags_by_model(model_name)) or 'none'}.")
        path = cached_weights(model_name, tag, cache_dir)
        if path is None:
            raise ClipWeightsError(
                f"The pretrained CLIP weights {model_name}/{tag} are not in the local Hugging Face cache "
                f"({cache_dir or os.environ.get('HF_HUB_CACHE', '~/.cache/huggingface/hub')}), and nothing is "
                f"downloaded here. Copy them into the cache on a machine with internet access, or pass a local "
                f"weights file instead.")
        quick_gelu = bool(cfg.get("quick_gelu", False))
        source = f"cache {model_name}/{tag} ({path})"
    clip = open_clip.create_model(model_name, pretrained=str(path), force_quick_gelu=quick_gelu, device=device,
                                  output_dict=True)
    encoder = ClipEncoder(clip.eval(), open_clip.get_tokenizer(model_name), model_name, source=source).to(device)
    encoder.weights_path = path  # what result caches key on
    return encoder
