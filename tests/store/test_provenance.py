"""Which code a checkpoint's training ran, per module: editing one architecture flags only its models."""
from __future__ import annotations

import pytest

from interp_core.store import provenance
from interp_core.store.recipes import get_recipe


def test_each_recipe_takes_only_the_architecture_modules_it_builds():
    plain = provenance.training_modules(get_recipe("cnn-digits"))
    bcos = provenance.training_modules(get_recipe("bcos-shapes"))
    assert "interp_core.models.cnn" in plain and not any(m.startswith("interp_core.models.bcos") for m in plain)
    assert "interp_core.models.bcos.layers" in bcos and "interp_core.models.cnn" not in bcos
    # The B-cos package by subject: bcos-cnn runs the layers and kernels, not the torchvision conversions.
    assert "interp_core.models.bcos.kernels" in bcos and "interp_core.models.bcos.conversions" not in bcos
    # A recipe that starts from another takes that one's architecture (the frozen backbone runs in training).
    assert "interp_core.models.cnn" in provenance.training_modules(get_recipe("kmex-shapes"))
    for modules in (plain, bcos):
        assert "interp_core.training.engine" in modules and "interp_core.store.models" in modules
        assert "interp_core.store.catalog" not in modules and "interp_core.views" not in modules


def test_every_dataset_a_recipe_trains_on_brings_in_its_generator():
    import dataclasses

    piq = get_recipe("piq-digits")
    assert "interp_core.data.digits" in provenance.training_modules(piq)
    assert "interp_core.data.digit_mixtures" not in provenance.training_modules(piq)
    mixed = dataclasses.replace(piq, train_on_mixtures=True)
    assert mixed.training_datasets == ("digits", "digits-overlap")
    assert "interp_core.data.digit_mixtures" in provenance.training_modules(mixed)
    # shapes-spurious-class has a generator of its own, on top of the shapes module it draws objects with.
    spurious = dataclasses.replace(get_recipe("qsenn-dense-shapes-spurious"), dataset="shapes-spurious-class")
    assert {"interp_core.data.spurious", "interp_core.data.shapes"} <= set(provenance.training_modules(spurious))
    assert "interp_core.data.spurious" not in provenance.training_modules(get_recipe("qsenn-dense-shapes-spurious"))


def test_an_unplaceable_architecture_brings_in_every_model_module(monkeypatch):
    recipe = get_recipe("cnn-digits")
    monkeypatch.setattr(provenance, "_architecture_sites", lambda: {})
    assert set(provenance._model_modules()) <= set(provenance.training_modules(recipe))


def test_a_changed_module_is_named_and_only_for_recipes_that_run_it(monkeypatch):
    plain, bcos = get_recipe("cnn-digits"), get_recipe("bcos-shapes")
    recorded_plain, recorded_bcos = provenance.code_fingerprint(plain), provenance.code_fingerprint(bcos)
    assert provenance.changed_modules(plain, recorded_plain) == []
    assert provenance.changed_modules(bcos, recorded_bcos) == []
    bcos_layers = next(m for m in provenance.training_modules(bcos) if m.startswith("interp_core.models.bcos"))
    real = provenance.definition_hashes
    monkeypatch.setattr(provenance, "definition_hashes", lambda m: real(m) | {"edited"} if m == bcos_layers else real(m))
    assert provenance.changed_modules(bcos, recorded_bcos) == [bcos_layers]
    assert provenance.changed_modules(plain, recorded_plain) == []
    assert provenance.code_fingerprint(bcos)["digest"] != recorded_bcos["digest"]
    assert provenance.code_fingerprint(plain)["digest"] == recorded_plain["digest"]


def _module(tmp_path, name: str, source: str) -> str:
    (tmp_path / f"{name}.py").write_text(source)
    return name


def test_definitions_ignore_comments_docstrings_and_moves_but_not_edits(tmp_path, monkeypatch):
    monkeypatch.setattr(provenance, "_path", lambda m: tmp_path / f"{m}.py" if (tmp_path / f"{m}.py").is_file() else None)
    body = "def scale(x):\n    return 2 * x\n\nRATE = 0.1\n"
    a = _module(tmp_path, "a", '"""Module A."""\nimport math\n' + body)
    b = _module(tmp_path, "b", "from c import thing  # moved here\n" + body.replace("return", "# why\n    return")
                .replace("(x):", '(x):\n    """Doubles x."""'))
    assert provenance.definition_hashes(a) == provenance.definition_hashes(b) and len(provenance.definition_hashes(a)) == 2
    edited = _module(tmp_path, "e", body.replace("2 * x", "3 * x"))
    constant = _module(tmp_path, "k", body.replace("0.1", "0.2"))
    for other in (edited, constant):
        assert len(provenance.definition_hashes(other) - provenance.definition_hashes(a)) == 1


def test_a_definition_moved_to_another_module_keeps_the_checkpoint_current(monkeypatch):
    recipe = get_recipe("cnn-digits")
    recorded = provenance.code_fingerprint(recipe)
    modules = provenance.training_modules(recipe)
    engine = provenance.definition_hashes("interp_core.training.engine")
    moved = sorted(engine)[0]
    real = provenance.definition_hashes
    # The split: one definition leaves the engine for another module of the same training.
    monkeypatch.setattr(provenance, "definition_hashes", lambda m: (
        real(m) - {moved} if m == "interp_core.training.engine" else real(m) | {moved} if m == modules[0] else real(m)))
    assert provenance.changed_modules(recipe, recorded) == []


def test_a_record_missing_a_definition_counts_its_module_as_changed_and_old_records_are_per_module():
    recipe = get_recipe("cnn-digits")
    recorded = provenance.code_fingerprint(recipe)
    engine = provenance.definition_hashes("interp_core.training.engine")
    recorded["definitions"] = [d for d in recorded["definitions"] if d != sorted(engine)[0]]
    assert provenance.changed_modules(recipe, recorded) == ["interp_core.training.engine"]
    per_module = {"modules": dict(provenance.code_fingerprint(recipe)["modules"])}
    assert provenance.changed_modules(recipe, per_module) == []
    del per_module["modules"]["interp_core.training.engine"]
    assert provenance.changed_modules(recipe, per_module) == ["interp_core.training.engine"]
    assert provenance.changed_modules(recipe, "218569f943f8") is None


@pytest.mark.parametrize("name", ["cnn-digits", "bcos-shapes"])
def test_catalog_status_follows_the_per_module_record(name, monkeypatch):
    from interp_core.store import catalog

    meta = {"code_fingerprint": provenance.code_fingerprint(get_recipe(name))}
    monkeypatch.setattr(catalog, "checkpoint_meta", lambda n, **_: meta)
    assert catalog.code_status(name) == "current" and catalog.stale_modules(name) == []
    base = provenance.definition_hashes("interp_core.data.base")
    meta["code_fingerprint"]["definitions"] = sorted(set(meta["code_fingerprint"]["definitions"]) - base)
    assert catalog.code_status(name) == "stale" and catalog.stale_modules(name) == ["interp_core.data.base"]
    meta["code_fingerprint"] = "218569f943f8"  # the older single-hash form cannot be checked per module
    assert catalog.code_status(name) == "stale"
    monkeypatch.setattr(catalog, "checkpoint_meta", lambda n, **_: {"created": "2026"})
    assert catalog.code_status(name) == "unknown"


def test_an_architecture_registered_outside_the_models_package_is_placed_by_its_provider():
    from interp_core.store.recipes import all_recipes

    gpu = [r for r in all_recipes().values() if getattr(r, "arch", "") in ("resnet50", "resnet18")]
    if not gpu:
        pytest.skip("no recipe names a torchvision architecture")
    assert "interp_core.external.architectures" in provenance.training_modules(gpu[0])
