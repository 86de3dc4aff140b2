"""``import-model``: check a user's weights file against an architecture and keep it as a model.

:func:`import_model` reads the weights without unpickling anything (:func:`~interp_core.store.checkpoint.load_state_file`:
safetensors, or a ``.pt``/``.pth`` state dict through ``torch.load(weights_only=True)``; a pickle holding
code is refused), checks every tensor's name and shape against the architecture built for the dataset's
input channels and the classes file, and writes the checkpoint and its recipe into the user cache
(:mod:`interp_core.external.imported`). Nothing is trained; the test split is evaluated once so the card
and ``eval`` report the model's accuracy on your data.
"""
from __future__ import annotations

import hashlib
import json
import platform
import time
from pathlib import Path
from typing import Any

import torch

import interp_core
from interp_core import guards
from interp_core.external import IMPORTABLE_ARCHITECTURES
from interp_core.external.datasets import absolute_real_name, is_real_name, parse_real_name, register_real_dataset
from interp_core.external.imported import NAME_PATTERN, ImportedRecipe, is_imported, register_imported, spec_path, write_spec
from interp_core.paths import with_ext
from interp_core.store.card import state_digest
from interp_core.store.catalog import checkpoint_stems
from interp_core.store.checkpoint import CheckpointError, load_state_file, save_checkpoint
from interp_core.store.recipes import RECIPES, get_recipe, recipe_hash

#: Largest classes file read (a class name per line or a JSON list).
MAX_CLASSES_BYTES = 4 * 1024**2


class ModelImportError(ValueError):
    """The weights, classes or dataset do not make a model of the architecture; the message says why."""


def read_class_names(path: str | Path) -> tuple[str, ...]:
    """Class names from ``path``: one per line (blank lines and surrounding spaces dropped), or a JSON list of strings."""
    path = Path(path)
    try:
        with guards.open_regular(path, MAX_CLASSES_BYTES, "classes files") as (fh, _):
            text = fh.read().decode("utf-8")
    except guards.GuardError as err:
        raise ModelImportError(f"Classes file refused: {err}") from None
    except UnicodeDecodeError:
        raise ModelImportError(f"Classes file {path} is not UTF-8 text.") from None
    except FileNotFoundError:
        raise ModelImportError(f"Classes file {path} does not exist.") from None
    if text.lstrip().startswith("["):
        try:
            names = json.loads(text)
        except json.JSONDecodeError as err:
            raise ModelImportError(f"Classes file {path} starts like a JSON list but is not valid JSON ({err}).") from None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ModelImportError(f"Classes file {path}: the JSON must be a list of class-name strings.")
    else:
        names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names:
        raise ModelImportError(f"Classes file {path} names no class.")
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise ModelImportError(f"Classes file {path} names {duplicate!r} twice.")
    return tuple(names)


def check_state_shapes(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], arch: str) -> None:
    """Refuse ``state`` unless it has exactly the tensors of ``expected`` (names and shapes); the message
    names the first mismatching key and both shapes."""
    for key, want in expected.items():
        if key not in state:
            raise ModelImportError(f"The weights lack {key!r}, which architecture {arch!r} needs (shape {tuple(want.shape)}); "
                               f"they hold {len(state)} tensors, the architecture {len(expected)}.")
        got = state[key]
        if tuple(got.shape) != tuple(want.shape):
            raise ModelImportError(f"Shape mismatch at {key!r}: the file has {tuple(got.shape)}, architecture {arch!r} "
                               f"expects {tuple(want.shape)} (wrong architecture, number of classes or input channels?).")
        if got.dtype.is_floating_point != want.dtype.is_floating_point:
            raise ModelImportError(f"{key!r} is {got.dtype} in the file, {want.dtype} in architecture {arch!r}.")
    extra = [k for k in state if k not in expected]
    if extra:
        raise ModelImportError(f"The weights hold {extra[0]!r}, which architecture {arch!r} does not have "
                           f"({len(extra)} unexpected tensor(s)); is it the right architecture?")


def _strip_wrapper_prefix(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the ``module.`` prefix that DataParallel/DistributedDataParallel state dicts carry."""
    if state and all(k.startswith("module.") for k in state) and not any(k.startswith("module.") for k in expected):
        return {k[len("module."):]: v for k, v in state.items()}
    return state


def _resolve_dataset(dataset: str) -> str:
    if is_real_name(dataset):
        name = absolute_real_name(dataset)
        if not parse_real_name(name).path().is_dir():
            raise ModelImportError(f"Dataset folder {parse_real_name(name).path()} does not exist.")
        register_real_dataset(name)
        return name
    from interp_core.data import DATASETS

    if dataset not in DATASETS:
        raise ModelImportError(f"Unknown dataset {dataset!r}: give KIND:ROOT (e.g. imagefolder:/data/images) or an embedded "
                           f"dataset ({', '.join(DATASETS.names())}).")
    return dataset


def import_model(name: str, *, arch: str, weights: str | Path, classes: str | Path, dataset: str,
                 output: str | None = None, arch_kwargs: dict[str, Any] | None = None, replace: bool = False,
                 evaluate: bool = True, device: str | torch.device | None = None) -> dict[str, Any]:
    """Import the weights file ``weights`` of architecture ``arch`` as model ``name`` on ``dataset``.

    ``classes``: the class names, in the order of the model's outputs; they must be the dataset's classes
    in its order (an ImageFolder's are its sorted folder names). ``output``: ``"softmax"`` or ``"sigmoid"``
    (default: sigmoid for ``bcos-*``, trained with BCE as in the B-cos paper; softmax otherwise).
    ``replace``: overwrite an earlier import of ``name``. Returns ``{"recipe", "card", "test_metrics",
    "checkpoint", "spec"}``. Raises :class:`ModelImportError` (a ``ValueError``) or
    :class:`~interp_core.store.checkpoint.CheckpointError` with the reason.
    """
    from interp_core.data import dataset_info
    from interp_core.models import build_model
    from interp_core.store.models import HANDLERS, load_model, model_card

    if not NAME_PATTERN.match(name):
        raise ModelImportError(f"Model name {name!r}: use 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.")
    if name in RECIPES and not is_imported(name):
        raise ModelImportError(f"{name!r} is one of our recipes; choose another name for your model.")
    if name in RECIPES and not replace:
        raise ModelImportError(f"A model {name!r} was imported before; pass --replace to overwrite it.")
    if arch not in IMPORTABLE_ARCHITECTURES:
        raise ModelImportError(f"Unsupported architecture {arch!r}; import-model takes {', '.join(IMPORTABLE_ARCHITECTURES)}.")
    output = output or ("sigmoid" if arch.startswith("bcos-") else "softmax")
    if output not in ("softmax", "sigmoid"):
        raise ModelImportError(f"output must be 'softmax' or 'sigmoid', got {output!r}.")
    dataset = _resolve_dataset(dataset)
    info = dataset_info(dataset)
    class_names = read_class_names(classes)
    if class_names != tuple(info.class_names):
        if sorted(class_names) == sorted(info.class_names):
            raise ModelImportError(f"The classes file lists the dataset's classes in another order; the model's output i must be "
                               f"the dataset's class i: {', '.join(info.class_names[:8])}{' ...' if info.num_classes > 8 else ''}.")
        missing = [c for c in info.class_names if c not in class_names]
        raise ModelImportError(f"The classes file names {len(class_names)} classes, dataset {dataset!r} has {info.num_classes}"
                           + (f"; it lacks {missing[0]!r}" if missing else "") + ".")
    import interp_core.external.architectures  # noqa: F401  (registers the plain torchvision builders)

    arch_kwargs = dict(arch_kwargs or {})
    model = build_model(arch, in_channels=info.input_shape[0], num_classes=len(class_names), **arch_kwargs)
    expected = model.state_dict()
    weights = Path(weights)
    state = _strip_wrapper_prefix(load_state_file(weights), expected)
    check_state_shapes(state, expected, arch)
    model.load_state_dict(state, strict=True)
    imported_state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}

    family = "bcos" if arch.startswith("bcos-") else "standard"
    recipe = ImportedRecipe(
        name=name, dataset=dataset, family=family, arch=arch, arch_kwargs=arch_kwargs,
        loss="bce" if output == "sigmoid" else "ce", weights_sha256=state_digest(imported_state).hex(),
        description=f"Imported {arch} from {weights.name} ({len(class_names)} classes).",
    )
    if name in RECIPES:  # replace: drop the earlier import's files
        old = get_recipe(name)
        for suffix in (".safetensors", ".json"):
            with_ext(checkpoint_stems(old)["cache"], suffix).unlink(missing_ok=True)
    device = torch.device(device) if device is not None else torch.device("cpu")
    metrics = HANDLERS.get("classifier").evaluate(recipe, model.to(device).eval(), device) if evaluate else {}
    source = {"file": str(weights.resolve()), "file_sha256": _file_sha256(weights), "format": weights.suffix.lstrip("."),
              "arch": arch, "imported": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    meta = {
        "recipe": recipe.to_dict(), "recipe_type": type(recipe).__name__, "recipe_hash": recipe_hash(recipe),
        "seed": recipe.seed, "test_metrics": metrics, "imported": source, "interp_core_version": interp_core.__version__,
        "torch_version": torch.__version__, "python": platform.python_version(), "machine": platform.machine(),
        "created": source["imported"],
    }
    stem = checkpoint_stems(recipe)["cache"]
    meta = save_checkpoint(stem, imported_state, meta)
    card = model_card(recipe, meta)
    write_spec(recipe, card.to_dict(), source)
    register_imported(recipe)
    loaded = load_model(name, device, train_if_missing=False, show_bar=False)  # verifies what was written
    return {"recipe": name, "card": loaded.card.to_dict(), "test_metrics": metrics, "checkpoint": str(with_ext(stem, ".safetensors")),
            "spec": str(spec_path(name))}


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


__all__ = ["CheckpointError", "ModelImportError", "check_state_shapes", "import_model", "read_class_names"]
