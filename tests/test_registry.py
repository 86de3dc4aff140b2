"""The one generic registry: lazy providers, registration order, clear unknown-name errors."""
from __future__ import annotations

import sys

import pytest

from interp_core.registry import Registry, UnknownNameError


def test_providers_load_once_on_the_first_miss_and_unknown_names_list_the_available(tmp_path, monkeypatch):
    registry: Registry[int] = Registry("widget", ["widget_provider_for_test"])
    monkeypatch.setattr(sys.modules[__name__], "REGISTRY", registry, raising=False)
    (tmp_path / "widget_provider_for_test.py").write_text(
        "import test_registry as t\nt.LOADS.append(1)\nt.REGISTRY.register('b', 2)\nt.REGISTRY.register('a', 1)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    LOADS.clear()
    registry.register("c", 3)
    assert registry.get("c") == 3 and LOADS == []  # a hit needs no provider
    assert registry.get("a") == 1 and LOADS == [1]
    assert registry.names() == ["c", "b", "a"] and LOADS == [1]  # registration order, providers loaded once
    with pytest.raises(UnknownNameError, match=r"Unknown widget 'zz'\. Available: a, b, c\.") as err:
        registry.get("zz")
    assert isinstance(err.value, KeyError) and str(err.value).startswith("Unknown widget")
    sys.modules.pop("widget_provider_for_test", None)


LOADS: list[int] = []


def test_every_registry_is_the_generic_one():
    from interp_core.data import DATASETS
    from interp_core.methods.base import EXPLAINERS
    from interp_core.models.registry import ARCHITECTURES
    from interp_core.store.models import HANDLERS
    from interp_core.store.recipes import RECIPES
    from interp_core.views import VIEWS

    for registry in (DATASETS, EXPLAINERS, ARCHITECTURES, HANDLERS, RECIPES, VIEWS):
        assert isinstance(registry, Registry) and len(registry) > 0
    with pytest.raises(UnknownNameError, match="Unknown recipe 'nope'"):
        RECIPES.get("nope")
