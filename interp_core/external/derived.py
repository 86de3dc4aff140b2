"""Family recipes for an imported classifier: ``python -m interp_core derive NAME --families kmex,piq,qsenn``
(torch-free at import; a recipe provider).

A derived recipe is a copy of a family's default recipe for the imported model's modality, the
*template* (``<family>-shapes`` for images, ``<family>-sounds`` for audio, see :data:`REFERENCE_DATASETS`),
with its dataset set to the imported model's and every reference to another recipe rewritten:

* a string field (or a tuple of them) naming a recipe of kind ``classifier`` (KMEx's and PIQ's
  ``backbone``, the dense Q-SENN model's ``init_from``) now names the imported model; the template's
  :data:`ARCHITECTURE_FIELDS` are then copied from the imported recipe, so a recipe that builds its own
  network (the dense Q-SENN model) builds the imported architecture;
* one naming any other recipe (Q-SENN's ``dense``, its ``compare`` recipes) names that recipe derived
  in turn, so a whole chain (``qsenn-shapes`` -> ``qsenn-dense-shapes`` -> ``cnn-shapes``) is rewritten.

Names follow the template's with its dataset replaced by the model's: ``kmex-shapes`` -> ``kmex-NAME``.
Nothing here names a family: the references are found by value, and each derived recipe is checked
by building it with its own handler (no training), so a family whose template does not fit the imported
architecture (e.g. PIQ's decoder stages for another input size, KMEx on a classifier that is not one
linear layer) is refused with the handler's reason and left out. ``--set FAMILY.FIELD=JSON`` changes a
field of that family's derived recipes before the check.

Derived recipes are kept as ``<cache>/imported/derived/<NAME>.json`` beside the imported recipe: each
with its template's name and all its fields, so a later change of the template does not change it. When
the recipe registry loads, they are registered again after the imported models, for those whose model
is registered; ``train``, ``eval``, ``list`` and the pages take them as any recipe.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from interp_core import guards
from interp_core.external.imported import imported_dir, is_imported
from interp_core.io import write_json_atomic
from interp_core.registry import Registry
from interp_core.store.recipes import RECIPES, Recipe, get_recipe, register_recipe

log = logging.getLogger("interp_core.external")

#: The dataset whose recipes are each family's defaults, per dataset kind (``DatasetInfo.kind``).
REFERENCE_DATASETS = {"image": "shapes", "audio": "sounds"}
#: Fields that say which network a recipe builds; a recipe derived from a classifier copies them.
ARCHITECTURE_FIELDS = ("arch", "arch_kwargs")
FORMAT = 1


class DeriveError(ValueError):
    """A derived recipe cannot be made; the message says why."""


def derived_path(imported: str) -> Path:
    return imported_dir() / "derived" / f"{imported}.json"


def read_derived(imported: str) -> list[dict[str, Any]]:
    """The stored entries ``{"template", "recipe"}`` for imported model ``imported`` ([] if none or unreadable)."""
    path = derived_path(imported)
    if not path.exists():
        return []
    try:
        payload = guards.read_json(path)
    except guards.GuardError as err:
        log.warning("skipped derived-recipe file %s: %s", path, err)
        return []
    entries = payload.get("recipes") if isinstance(payload, dict) else None
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("recipe"), dict)] if isinstance(entries, list) else []


def _write_derived(imported: str, entries: list[dict[str, Any]]) -> Path:
    return write_json_atomic(derived_path(imported), {"format": FORMAT, "imported": imported, "recipes": entries})


def _like(template_value: Any, value: Any) -> Any:
    """``value`` (from JSON) in the template field's shape: lists become tuples where the field holds one."""
    if isinstance(template_value, tuple) and isinstance(value, list):
        return tuple(value)
    return value


def _init_fields(recipe: Recipe) -> list[str]:
    return [f.name for f in dataclasses.fields(recipe) if f.init]


def _rebuild(template: Recipe, values: dict[str, Any]) -> Recipe:
    """``template`` with ``values`` (unknown fields ignored, JSON lists made tuples where the template has tuples)."""
    known = set(_init_fields(template))
    return dataclasses.replace(template, **{k: _like(getattr(template, k), v) for k, v in values.items() if k in known})


#: Derived recipe name -> where it came from (filled when it is registered, with the recipe).
ORIGINS: Registry[dict[str, Any]] = Registry("derived recipe", ("interp_core.external.derived",))


def derived_from(name: str) -> dict[str, Any] | None:
    """``{"imported", "template", "starts_from"}`` of derived recipe ``name`` (None if it is not one)."""
    return ORIGINS.get(name) if name in ORIGINS else None


def _references(recipe: Recipe) -> dict[str, Any]:
    """The fields of ``recipe`` naming other registered recipes: ``{field: name or tuple of names}``."""
    found = {}
    for field in _init_fields(recipe):
        value = getattr(recipe, field)
        if field in ("name", "dataset", "description", "family"):
            continue
        if isinstance(value, str) and value and value != recipe.name and value in RECIPES:
            found[field] = value
        elif isinstance(value, tuple) and value and all(isinstance(v, str) and v in RECIPES for v in value):
            found[field] = value
    return found


def _register(entry_imported: str, template_name: str, recipe: Recipe) -> Recipe:
    register_recipe(recipe)
    ORIGINS.register(recipe.name, {"imported": entry_imported, "template": template_name,
                                   "starts_from": _references(recipe)})
    return recipe


def derived_name(template: Recipe, imported: str) -> str:
    """``kmex-shapes`` -> ``kmex-NAME``: the template's name with its dataset replaced (or ``-NAME`` added);
    ``<derived_stem>-NAME`` for a recipe type that names its own stem (``bcosified-cnn-shapes`` -> ``bcos-NAME``)."""
    if getattr(template, "derived_stem", ""):
        return f"{template.derived_stem}-{imported}"
    suffix = f"-{template.dataset}"
    stem = template.name[: -len(suffix)] if template.name.endswith(suffix) else template.name
    return f"{stem}-{imported}"


def default_template(family: str, dataset_kind: str) -> Recipe:
    """The family's default recipe for data of ``dataset_kind``: its recipe on the reference dataset whose
    type names a ``derived_stem`` (the template for imported models, e.g. the B-cosified one), else
    ``<family>-<reference dataset>``."""
    reference = REFERENCE_DATASETS.get(dataset_kind)
    if reference is None:
        raise DeriveError(f"No family recipes are made for {dataset_kind!r} data (only {', '.join(REFERENCE_DATASETS)}).")
    stemmed = [r for _, r in RECIPES.items() if r.family == family and r.dataset == reference and getattr(r, "derived_stem", "")]
    if stemmed:
        return stemmed[0]
    name = f"{family}-{reference}"
    if name not in RECIPES or get_recipe(name).family != family:
        families = sorted({r.family for _, r in RECIPES.items() if r.name == f"{r.family}-{reference}" and _references(r)})
        raise DeriveError(f"Family {family!r} has no default recipe for {dataset_kind} data (no recipe {name!r}); "
                          f"families with one: {', '.join(families) or 'none'}.")
    return get_recipe(name)


def derive_chain(template: Recipe, imported: Recipe) -> list[tuple[str, Recipe]]:
    """``[(template name, derived recipe)]`` for ``template`` and every non-classifier recipe it refers to,
    dependencies first (nothing registered)."""
    chain: list[tuple[str, Recipe]] = []
    renamed: dict[str, str] = {}
    starts_from_classifier = []

    def derive(source: Recipe) -> str:
        if source.name in renamed:
            return renamed[source.name]
        changes: dict[str, Any] = {}
        names = {source.name: derived_name(source, imported.name)}  # old -> new, for the description too
        for field, value in _references(source).items():
            targets = value if isinstance(value, tuple) else (value,)
            for target in targets:
                names[target] = imported.name if get_recipe(target).kind == "classifier" else derive(get_recipe(target))
            changes[field] = tuple(names[t] for t in targets) if isinstance(value, tuple) else names[value]
        if imported.name in names.values():
            starts_from_classifier.append(source.name)
            changes.update({f: getattr(imported, f) for f in ARCHITECTURE_FIELDS if f in _init_fields(source)})
        renamed[source.name] = names[source.name]
        description = source.description
        for old in sorted(names, key=len, reverse=True):
            description = description.replace(old, names[old])
        changes.update(source.moved_to(imported.dataset))
        recipe = dataclasses.replace(
            source, name=names[source.name], dataset=imported.dataset, shipped=False, **changes,
            description=f"{description} [from {source.name}, for the imported {imported.name}]")
        chain.append((source.name, recipe))
        return recipe.name

    derive(template)
    if not starts_from_classifier:
        raise DeriveError(f"{template.name!r} does not start from a classifier recipe (no field names one), so there is "
                          f"nothing to derive from {imported.name!r}.")
    return chain


def _apply_overrides(chain: list[tuple[str, Recipe]], family: str, overrides: dict[str, Any]) -> list[tuple[str, Recipe]]:
    if not overrides:
        return chain
    unknown = [f for f in overrides if not any(f in _init_fields(r) for _, r in chain)]
    if unknown:
        raise DeriveError(f"--set {family}.{unknown[0]}: no recipe derived for {family} has a field {unknown[0]!r}.")
    fixed = {"name", "dataset", "family", "shipped"}
    if fixed & set(overrides):
        raise DeriveError(f"--set {family}.{sorted(fixed & set(overrides))[0]}: that field is set by derive.")
    return [(t, dataclasses.replace(r, **{k: _like(getattr(r, k), v) for k, v in overrides.items() if k in _init_fields(r)}))
            for t, r in chain]


def _check_buildable(chain: list[tuple[str, Recipe]]) -> None:
    """Build each derived recipe's model with its handler (nothing is trained): raises what the handler
    raises when the template does not fit the imported model."""
    from interp_core.store.models import HANDLERS

    for _, recipe in chain:
        HANDLERS.get(recipe.kind).build(recipe)


def derive(imported: str, families: list[str], overrides: dict[str, dict[str, Any]] | None = None,
           check: bool = True) -> dict[str, Any]:
    """Derive and register each family's recipes for imported model ``imported``, and keep them in the cache.

    ``overrides``: ``{family: {field: value}}`` applied to that family's derived recipes. ``check``: build
    each derived model first (imports torch). Returns ``{"derived": {family: [recipe names]}, "skipped":
    {family: reason}, "file": path}``; raises :class:`DeriveError` when ``imported`` is not an imported model.
    """
    from interp_core.data import dataset_info

    if not is_imported(imported):
        raise DeriveError(f"{imported!r} is not an imported model; import it with import-model first.")
    base = get_recipe(imported)
    kind = dataset_info(base.dataset).kind
    overrides = overrides or {}
    unknown = [f for f in overrides if f not in families]
    if unknown:
        raise DeriveError(f"--set names family {unknown[0]!r}, which is not among --families ({', '.join(families)}).")
    entries = {e["recipe"].get("name"): e for e in read_derived(imported)}
    derived: dict[str, list[str]] = {}
    skipped: dict[str, str] = {}
    for family in families:
        try:
            chain = _apply_overrides(derive_chain(default_template(family, kind), base), family, overrides.get(family, {}))
            for _, recipe in chain:
                if recipe.name in RECIPES and (derived_from(recipe.name) or {}).get("imported") != imported:
                    raise DeriveError(f"{recipe.name!r} is already a recipe that was not derived from {imported!r}.")
        except DeriveError as err:
            skipped[family] = str(err)
            continue
        previous = {r.name: (RECIPES.get(r.name), ORIGINS.get(r.name)) if r.name in RECIPES else None for _, r in chain}
        for template_name, recipe in chain:
            _register(imported, template_name, recipe)
        try:
            if check:
                _check_buildable(chain)
        except (ValueError, TypeError, AttributeError, RuntimeError) as err:
            for name, old in previous.items():  # leave what was registered before this call
                RECIPES.unregister(name)
                ORIGINS.unregister(name)
                if old is not None:
                    register_recipe(old[0])
                    ORIGINS.register(name, old[1])
            template = chain[-1][0]
            skipped[family] = (f"the {family} recipe {template!r} does not fit {imported!r} ({base.arch} on {base.dataset}): {err} "
                               f"(--set {family}.FIELD=VALUE changes a field of the derived recipes)")
            continue
        derived[family] = [r.name for _, r in chain]
        for template_name, recipe in chain:
            entries[recipe.name] = {"template": template_name, "recipe": _stored_fields(recipe)}
    path = _write_derived(imported, list(entries.values())) if derived else derived_path(imported)
    return {"derived": derived, "skipped": skipped, "file": str(path)}


def _stored_fields(recipe: Recipe) -> dict[str, Any]:
    return {k: v for k, v in recipe.to_dict().items() if k in _init_fields(recipe)}


def _register_all() -> None:
    """Every stored derived recipe of a registered imported model (an unknown template is skipped with a log line)."""
    folder = imported_dir() / "derived"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        if not is_imported(path.stem):
            log.warning("skipped derived recipes of %s: no imported model of that name is registered", path.stem)
            continue
        for entry in read_derived(path.stem):
            template = entry.get("template")
            if not isinstance(template, str) or template not in RECIPES:
                log.warning("skipped derived recipe %s of %s: its template %r is not a recipe", entry["recipe"].get("name"),
                            path.stem, template)
                continue
            try:
                _register(path.stem, template, _rebuild(get_recipe(template), entry["recipe"]))
            except (TypeError, ValueError) as err:
                log.warning("skipped derived recipe %s of %s: %s", entry["recipe"].get("name"), path.stem, err)


_register_all()
