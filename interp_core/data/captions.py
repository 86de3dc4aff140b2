"""Captions, concept prompts and zero-shot hold-outs for the shapes datasets (for a small CLIP-like model).

A caption names an object's concepts with synonyms ("round shape" for circle, "banded" for striped),
drops some of them at random (attribute dropout: the defining concepts rarely, size, outline, spot and
background often), and fills one of several templates; multi-object scenes add spatial relations from
the objects' centroids ("a red striped circle left of a blue plain square"). Captions are seeded and
deterministic per sample: sample ``i`` of a split gets the same caption whatever the split's size.

``ZERO_SHOT_COMBINATIONS`` are (shape, colour, pattern) triples a text-image model can be trained
without, to check whether it recognises them from their parts. ``concept_prompts`` phrases every
attribute as Q-SENN's CLIP prompts are phrased ("This is a photo of a red wing of a bird").
"""
from __future__ import annotations

import random
import re

import numpy as np

from interp_core.data.shape_vocabulary import (
    ATTRIBUTE_NAMES, BACKGROUNDS, CLASS_NAMES, COLORS, PATTERNS, SHAPES, WITHIN_CLASS_GROUPS, group_values,
)

#: Words a caption may use for each concept value (the first is the canonical name).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "shape::circle": ("circle", "round shape", "disc"),
    "shape::square": ("square", "square shape", "box"),
    "shape::triangle": ("triangle", "triangular shape", "three-sided shape"),
    "shape::cross": ("cross", "plus sign", "cross shape"),
    "color::red": ("red", "scarlet"),
    "color::green": ("green", "emerald"),
    "color::blue": ("blue", "azure"),
    "color::yellow": ("yellow", "golden"),
    "pattern::plain": ("plain", "solid", "uniform"),
    "pattern::striped": ("striped", "banded", "stripy"),
    "pattern::dotted": ("dotted", "polka-dot", "speckled"),
    "size::small": ("small", "little", "tiny"),
    "size::large": ("large", "big", "huge"),
    "outline::none": ("without an outline", "with no border"),
    "outline::dark": ("with a dark outline", "with a black rim", "outlined in black"),
    "mark::none": ("without a mark", "with no spot"),
    "mark::spot": ("with a white spot", "with a white centre mark", "with a bright spot in the middle"),
    "background::sand": ("on sand", "on a sandy background", "in the sand"),
    "background::grass": ("on grass", "on a lawn", "in the grass"),
    "background::water": ("on water", "on the sea", "over water"),
    "background::rock": ("on rock", "on stone", "on a rocky background"),
    "background::snow": ("on snow", "in the snow", "on a snowy background"),
    "background::night": ("at night", "on a night sky", "in the dark"),
}
#: Noun phrases for "a shape with ..." prompts of the pattern concepts.
_PATTERN_NOUNS = {"plain": ("a plain surface", "a single solid colour"), "striped": ("stripes", "bands"),
                  "dotted": ("dots", "polka dots")}
RELATIONS = {"left": ("left of", "to the left of"), "right": ("right of", "to the right of"),
             "above": ("above", "over"), "below": ("below", "under", "beneath")}

# Attribute dropout: probability that a caption leaves a concept group out; an absent outline or spot
# is mentioned with probability _SAY_ABSENT.
_DROPOUT = {"color": 0.08, "pattern": 0.12, "size": 0.5, "outline": 0.4, "mark": 0.3, "background": 0.3}
_SAY_ABSENT = 0.1
_SINGLE_TEMPLATES = ("{obj}{place}", "a photo of {obj}{place}", "there is {obj}{place}", "a picture of {obj}{place}",
                     "an image showing {obj}{place}", "{obj}{place}, seen from above")
_SCENE_TEMPLATES = ("{scene}{place}", "a photo of {scene}{place}", "there is {scene}{place}", "a picture of {scene}{place}")

#: Held-out (shape, colour, pattern) combinations for zero-shot checks: every shape, colour and
#: pattern appears in them, and each stays common in the other 44 classes.
ZERO_SHOT_COMBINATIONS: tuple[tuple[str, str, str], ...] = (
    ("circle", "yellow", "striped"), ("square", "red", "dotted"), ("triangle", "blue", "plain"), ("cross", "green", "striped"),
)


def _article(phrase: str) -> str:
    first = phrase.split()[0]
    vowel = first[0] in "aeio" or (first[0] == "u" and not first.startswith("uni"))
    return f"{'an' if vowel else 'a'} {phrase}"


def _rng(seed: int, split: str, index: int) -> random.Random:
    return random.Random(f"captions:{seed}:{split}:{index}")  # str seeds hash with SHA-512: stable across runs


def describe_object(rnd: random.Random, values: dict[str, str]) -> str:
    """An object phrase with its article, e.g. ``"a big scarlet banded disc with a black rim"``.

    ``values`` maps every object concept group (shape, color, pattern, size, outline, mark) to a value name; the
    words come in the fixed order size, colour, pattern, shape, then the outline and spot clauses. An
    absent outline or spot is said only now and then ("without an outline"), as people caption.
    """
    def word(group: str) -> str | None:
        if group not in values or rnd.random() < _DROPOUT[group]:
            return None
        return rnd.choice(SYNONYMS[f"{group}::{values[group]}"])

    words = [word("size"), word("color"), word("pattern"), rnd.choice(SYNONYMS[f"shape::{values['shape']}"])]
    clauses = [word(group) for group in ("outline", "mark") if values[group] != "none" or rnd.random() < _SAY_ABSENT]
    phrase = _article(" ".join(w for w in words if w))
    said = [c for c in clauses if c]
    return f"{phrase} {' and '.join(said)}" if said else phrase


def _place(rnd: random.Random, background: str) -> str:
    if rnd.random() < _DROPOUT["background"]:
        return ""
    return " " + rnd.choice(SYNONYMS[f"background::{background}"])


def _value_names(labels: np.ndarray, attributes: np.ndarray) -> list[dict[str, str]]:
    """Concept value names of objects from their classes ``(n,)`` and attribute vectors ``(n, A)``."""
    labels = np.asarray(labels, dtype=np.int64)
    within = {group: group_values(attributes, group) for group in WITHIN_CLASS_GROUPS}
    return [
        {"shape": SHAPES[label // 12], "color": COLORS[(label // 3) % 4], "pattern": PATTERNS[label % 3],
         **{group: WITHIN_CLASS_GROUPS[group][int(index[i])] for group, index in within.items()}}
        for i, label in enumerate(labels)
    ]


def shape_captions(labels: np.ndarray, attributes: np.ndarray, *, seed: int, split: str) -> list[str]:
    """One caption per single-object sample from its label ``(N,)`` and attributes ``(N, A)``."""
    backgrounds = group_values(attributes, "background")
    captions = []
    for i, values in enumerate(_value_names(labels, attributes)):
        rnd = _rng(seed, split, i)
        obj = describe_object(rnd, values)
        captions.append(rnd.choice(_SINGLE_TEMPLATES).format(obj=obj, place=_place(rnd, BACKGROUNDS[int(backgrounds[i])])))
    return captions


def relation(centroid: np.ndarray, reference: np.ndarray) -> str:
    """Where ``centroid`` lies relative to ``reference`` (both ``(row, column)``): ``"left"``,
    ``"right"``, ``"above"`` or ``"below"``, along the axis of the larger offset."""
    d_row, d_col = float(centroid[0] - reference[0]), float(centroid[1] - reference[1])
    if abs(d_col) >= abs(d_row):
        return "left" if d_col < 0 else "right"
    return "above" if d_row < 0 else "below"


def scene_captions(object_labels: np.ndarray, object_attributes: np.ndarray, centroids: np.ndarray,
                   prominent: np.ndarray, backgrounds: np.ndarray, *, seed: int, split: str) -> list[str]:
    """One caption per multi-object scene: the prominent object first, every other object placed
    relative to it ("a red striped circle left of a blue plain square, and above a green cross").

    ``object_labels`` ``(N, K)`` (-1: no object), ``object_attributes`` ``(N, K, A)``, ``centroids``
    ``(N, K, 2)`` (row, column), ``prominent`` ``(N,)`` slot index, ``backgrounds`` ``(N,)``.
    """
    n, slots = object_labels.shape
    values = _value_names(np.maximum(object_labels, 0).reshape(-1), object_attributes.reshape(n * slots, -1))
    captions = []
    for i in range(n):
        rnd = _rng(seed, split, i)
        first = int(prominent[i])
        others = [k for k in range(slots) if k != first and object_labels[i, k] >= 0]
        head = describe_object(rnd, values[i * slots + first])
        parts = []
        for k in others:
            # the relation of the first object to object k: "<first> left of <k>"
            where = rnd.choice(RELATIONS[relation(centroids[i, first], centroids[i, k])])
            parts.append(f"{where} {describe_object(rnd, values[i * slots + k])}")
        scene = f"{head} {', and '.join(parts)}"
        captions.append(rnd.choice(_SCENE_TEMPLATES).format(scene=scene, place=_place(rnd, BACKGROUNDS[int(backgrounds[i])])))
    return captions


def _alternation(group: str) -> str:
    words = [w for name, syns in SYNONYMS.items() if name.startswith(f"{group}::") for w in syns]
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_OBJECT_PATTERN = re.compile(
    rf"\b(?:(?:{_alternation('size')}) )?(?:({_alternation('color')}) )?(?:({_alternation('pattern')}) )?"
    rf"({_alternation('shape')})\b"
)


def _canonical(group: str, word: str | None) -> str | None:
    if word is None:
        return None
    return next(name.split("::")[1] for name, syns in SYNONYMS.items() if name.startswith(f"{group}::") and word in syns)


def caption_objects(caption: str) -> list[tuple[str, str | None, str | None]]:
    """The (shape, colour, pattern) of every object a caption names, in order; ``None`` where the
    caption left the colour or pattern out."""
    return [(_canonical("shape", m[3]), _canonical("color", m[1]), _canonical("pattern", m[2]))
            for m in _OBJECT_PATTERN.finditer(caption)]


def mentions_zero_shot(caption: str) -> bool:
    """Whether a caption names an object of a held-out combination (colour and pattern both named)."""
    return any(obj in ZERO_SHOT_COMBINATIONS for obj in caption_objects(caption))


def zero_shot_classes() -> tuple[int, ...]:
    """Class indices of ``ZERO_SHOT_COMBINATIONS``."""
    return tuple(CLASS_NAMES.index(f"{c} {p} {s}") for s, c, p in ZERO_SHOT_COMBINATIONS)


def is_zero_shot(label: int) -> bool:
    return int(label) in zero_shot_classes()


def zero_shot_samples(split) -> np.ndarray:
    """``(N,)`` bool: the samples of a shapes or shapes-multi split showing a held-out combination
    (for scenes: any of their objects)."""
    held_out = np.array(zero_shot_classes())
    labels = split.extras.get("object_labels", np.asarray(split.labels)[:, None])
    return np.isin(labels, held_out).any(axis=1)


def concept_prompts() -> dict[str, list[str]]:
    """Text prompts for every attribute in ``ATTRIBUTE_NAMES`` order, phrased as Q-SENN phrases its CLIP
    prompts ("This is a photo of a red wing of a bird"): "a photo of a ... shape with ..."."""
    prompts: dict[str, list[str]] = {}
    for name in ATTRIBUTE_NAMES:
        group, value = name.split("::")
        words = SYNONYMS[name]
        if group == "shape":
            texts = [f"a photo of {_article(w)}" for w in words] + [f"a photo of a shape that is {_article(value)}"]
        elif group in ("color", "size", "pattern"):
            texts = [f"a photo of {_article(w)} shape" for w in words]
            if group == "pattern":
                texts += [f"a photo of a shape with {noun}" for noun in _PATTERN_NOUNS[value]]
            else:
                texts.append(f"a photo of a shape with {value} {'colour' if group == 'color' else 'size'}")
        else:  # outline, mark, background: the caption clauses complete "a photo of a shape ..."
            texts = [f"a photo of a shape {w}" for w in words]
        prompts[name] = texts
    return prompts
