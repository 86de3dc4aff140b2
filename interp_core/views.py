"""The dashboard's views, in one registry: the shared ones here, each family's from its package.

A :class:`View` names its page file (``pages/<page>.py``), its menu entry, what it shows and what warms
its default selection at server start (:mod:`interp_core.evaluation.warmup`); the dashboard's navigation
and Home's table of views are both built from this registry, so they list exactly the views that exist.
Torch-free.
"""
from __future__ import annotations

from dataclasses import dataclass

from interp_core.families import family_modules
from interp_core.registry import Registry

#: Menu sections, in order.
SECTIONS = ("Overview", "Methods", "Evaluate", "Studies")


@dataclass(frozen=True)
class View:
    page: str          # file stem in pages/
    title: str
    icon: str          # Streamlit material icon
    section: str       # one of SECTIONS
    summary: str       # what the view shows, one line (Home's table)
    order: int = 50    # position inside its section
    #: ``module:function`` that computes the view's default selection through a warm-up context
    #: (:class:`interp_core.evaluation.warmup.WarmupContext`); "" when the view has nothing worth warming.
    warm: str = ""


def _view_modules() -> list[str]:
    """This module, each family's package, and the rating-study package (``interp_core/study/__init__.py``)."""
    from pathlib import Path

    study = ["interp_core.study"] if (Path(__file__).resolve().parent / "study" / "__init__.py").exists() else []
    return ["interp_core.views", *family_modules(""), *study]


VIEWS: Registry[View] = Registry("view", _view_modules)


def register_view(view: View) -> View:
    if view.section not in SECTIONS:
        raise ValueError(f"Unknown menu section {view.section!r}; expected one of {', '.join(SECTIONS)}.")
    return VIEWS.register(view.page, view)


def navigation() -> dict[str, list[View]]:
    """Views by section, in menu order (sections without views are left out)."""
    views = [v for _, v in VIEWS.items()]
    out = {s: sorted((v for v in views if v.section == s), key=lambda v: (v.order, v.title)) for s in SECTIONS}
    return {s: v for s, v in out.items() if v}


register_view(View("home", "Home", ":material/home:", "Overview",
                   "what the tool is, every model with its status, the device, training what is missing", order=0,
                   warm="interp_core.store.catalog:warm_up"))
register_view(View("data", "Data", ":material/dataset:", "Overview",
                   "every embedded dataset with its masks, attributes, captions and sounds; the input widget", order=10,
                   warm="interp_core.data.preview:warm_up"))
register_view(View("compare", "Compare", ":material/compare:", "Evaluate",
                   "one input, every method of every family on every model it supports, side by side", order=0,
                   warm="interp_core.evaluation.compare:warm_up"))
register_view(View("pointing_game", "Pointing game", ":material/my_location:", "Evaluate",
                   "localisation scores of any method on grids of test images (B-cos paper, Sec. 4)", order=10,
                   warm="interp_core.evaluation.pointing_views:warm_up"))
register_view(View("benchmark", "Benchmark", ":material/leaderboard:", "Evaluate",
                   "every method of every family on the same interventions: FunnyBirds' metrics, randomisation, "
                   "sparseness, pointing game; one input up close", order=20,
                   warm="interp_core.evaluation.benchmark_views:warm_up"))
