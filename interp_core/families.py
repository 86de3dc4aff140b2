"""The one list of method families. Adding a family = one line in :data:`FAMILIES`.

Each family is a package ``interp_core.methods.<family>`` whose modules plug into the generic registries
by name, all optional:

* ``__init__.py`` (torch-free): registers the family's dashboard view, if it has one (:mod:`interp_core.views`);
* ``recipes.py`` (torch-free): its recipes (:mod:`interp_core.store.recipes`);
* ``training.py``: the handler of its recipe kind (build, train, evaluate, ship extra assets);
* ``explainers.py``: its explanation methods (:mod:`interp_core.methods.base`);
* ``views.py``: what its page shows, computed (imported by its page only);
* ``cli.py``: its own sub-commands, ``register(subparsers)`` (torch-free at import).
"""
from __future__ import annotations

from pathlib import Path

#: The families, in the order their recipes, methods and views are listed.
FAMILIES: tuple[str, ...] = (
    "standard",  # standard CNN classifiers, the baselines every other family explains or compares with
    "posthoc",   # post-hoc attribution methods (Captum and RISE) for any classifier
    "bcos",      # B-cos networks (Böhle et al., CVPR 2022)
    "kmex",      # KMEx post-hoc prototypes (TMLR 2024)
    "clip",  # CLIP-style vision-language models that name features (Q-SENN Eqs. 11-16)
    "qsenn",     # Q-SENN and SLDD sparse ternary decision layers (AAAI 2024)
    "piq",       # PIQ class-specific vector-quantized interpretations (images and audio)
)

_METHODS = Path(__file__).resolve().parent / "methods"


def family_modules(part: str) -> list[str]:
    """Module names of ``part`` (``"recipes"``, ``"training"``, ``"explainers"``, ``""`` for the package
    itself) of every family that has one; found on disk, so nothing is imported."""
    if not part:
        return [f"interp_core.methods.{f}" for f in FAMILIES if (_METHODS / f / "__init__.py").exists()]
    return [f"interp_core.methods.{f}.{part}" for f in FAMILIES if (_METHODS / f / f"{part}.py").exists()]
