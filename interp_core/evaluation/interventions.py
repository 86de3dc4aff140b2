"""The interventions the benchmark scores explanations with, by dataset: each test input drawn again with
parts or background objects left out, never masked (FunnyBirds' protocol, ``funnybirds-notes.md``).

* ``creatures``: the five parts of :data:`interp_core.data.creatures.PARTS` and up to three distractors;
  every subset of parts kept (32 renders) and each distractor removed, by
  :func:`~interp_core.data.creatures.render_scenes`. Items are the visible pixels of each part and
  distractor (``part_map``), dilated by one pixel: FunnyBirds' 5x5 dilation is 2 pixels at 256 px, a
  quarter of that at our 64 px is under one pixel, and one pixel still counts a map that falls just off a
  part's edge.
* ``sounds-mix``: the "parts" are the mixture's three sources (event a, event b, the background noise);
  every subset of sources is re-mixed (8 mixtures; all three give the stored mixture exactly, as
  :func:`~interp_core.data.sound_mixtures.mixture_sources` promises). Items are each event's ideal binary
  mask and, for the background, every other time-frequency bin: they tile the spectrogram, no dilation.
  There are no distractors and no class table (the classes are single events), so CSDC, D, BI and TS do
  not apply.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from interp_core.data.base import Split


@dataclass
class InterventionBatch:
    """The interventions of ``n`` test inputs: ``inputs`` ``(n, C, H, W)`` (model inputs), ``keep_inputs``
    ``(n, 2**P, C, H, W)`` (only the parts of bitmask ``s`` kept; ``s = 2**P - 1`` equals ``inputs``),
    ``removal_inputs`` ``(n, D, C, H, W)`` (one distractor removed), ``present`` ``(n, D)`` bool and
    ``item_map`` ``(n, H, W)`` int (0: no item, ``k + 1``: item ``k``, parts then distractors)."""

    inputs: torch.Tensor
    keep_inputs: torch.Tensor
    removal_inputs: torch.Tensor
    present: np.ndarray
    item_map: np.ndarray


class InterventionSuite:
    """One dataset's interventions. ``model_datasets``: the datasets whose models take it; ``parts`` and
    ``distractors`` name the items; ``dilation``: pixels each item region grows by (exclusively)."""

    name: str = ""
    model_datasets: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    distractors: int = 0
    dilation: int = 0
    #: Whether the inputs are images (drawn as such in a drill-down; the pointing game applies).
    image: bool = True

    def split(self) -> Split:
        raise NotImplementedError

    def class_table(self) -> np.ndarray | None:
        """``(C, P)`` part variant of every class, or None when classes are not made of parts."""
        return None

    def batch(self, index: np.ndarray) -> InterventionBatch:
        raise NotImplementedError

    def item_map(self, index: np.ndarray) -> np.ndarray:
        """``(n, H, W)`` int item map of test inputs ``index`` (see :class:`InterventionBatch`)."""
        raise NotImplementedError

    @property
    def items(self) -> tuple[str, ...]:
        return self.parts + tuple(f"distractor {d + 1}" for d in range(self.distractors))


def subset_flags(parts: int) -> np.ndarray:
    """``(2**parts, parts)`` bool: row ``s`` says which parts bitmask ``s`` keeps."""
    return (np.arange(2**parts)[:, None] >> np.arange(parts)) & 1 == 1


class CreaturesSuite(InterventionSuite):
    name = "creatures"
    model_datasets = ("creatures",)
    distractors = 3
    dilation = 1

    def __init__(self) -> None:
        from interp_core.data.creatures import MAX_DISTRACTORS, PARTS

        self.parts, self.distractors = tuple(PARTS), MAX_DISTRACTORS

    def split(self) -> Split:
        from interp_core.data import load_split

        return load_split("creatures", "test")

    def class_table(self) -> np.ndarray:
        from interp_core.data.creatures import CLASS_VARIANTS

        return np.asarray(CLASS_VARIANTS)

    def batch(self, index: np.ndarray) -> InterventionBatch:
        from interp_core.data.creatures import render_scenes, scenes_of

        split, index = self.split(), np.asarray(index, np.int64)
        n, p, d = len(index), len(self.parts), self.distractors
        scenes = scenes_of(split, index)
        flags = subset_flags(p)
        kept = render_scenes(scenes.take(np.repeat(np.arange(n), len(flags))), remove_parts=~np.tile(flags, (n, 1)))
        removed = render_scenes(scenes.take(np.repeat(np.arange(n), d)), remove_distractors=np.tile(np.eye(d, dtype=bool), (n, 1)))
        to_input = split.to_input
        return InterventionBatch(
            inputs=split.inputs(index),
            keep_inputs=to_input(kept.images).reshape(n, len(flags), *split.info.input_shape),
            removal_inputs=to_input(removed.images).reshape(n, d, *split.info.input_shape),
            present=scenes.distractors[..., 0] > 0,
            item_map=self.item_map(index),
        )

    def item_map(self, index: np.ndarray) -> np.ndarray:
        from interp_core.data.creatures import distractor_masks, part_masks

        part_map = self.split().extras["part_map"][np.asarray(index, np.int64)]
        layers = np.concatenate([part_masks(part_map), distractor_masks(part_map)], 1)  # (n, R, H, W), disjoint
        return (layers * np.arange(1, len(self.items) + 1)[None, :, None, None]).sum(1).astype(np.int64)


class MixtureSuite(InterventionSuite):
    name = "sounds-mix"
    model_datasets = ("sounds", "sounds-mix")
    parts = ("event a", "event b", "background")
    image = False

    def split(self) -> Split:
        from interp_core.data import load_split

        return load_split("sounds-mix", "test")

    def batch(self, index: np.ndarray) -> InterventionBatch:
        from interp_core.data.sound_mixtures import mixture_sources

        split, index = self.split(), np.asarray(index, np.int64)
        n = len(index)
        sources = mixture_sources("test", index, num_samples=len(split))
        components = [sources["events"][:, 0], sources["events"][:, 1], sources["backgrounds"]]
        flags = subset_flags(3)
        waves = np.empty((n, len(flags), components[0].shape[1]), np.float32)
        for s, keep in enumerate(flags):
            # the stored mixture's additions, in its order, with left-out sources as exact zeros
            waves[:, s] = (components[0] * keep[0] + components[1] * keep[1]) + components[2] * keep[2]
        shape = split.info.input_shape
        return InterventionBatch(
            inputs=split.inputs(index),
            keep_inputs=split.to_input(waves.reshape(-1, waves.shape[-1])).reshape(n, len(flags), *shape),
            removal_inputs=torch.zeros((n, 0, *shape)),
            present=np.zeros((n, 0), bool),
            item_map=self.item_map(index),
        )

    def item_map(self, index: np.ndarray) -> np.ndarray:
        masks = self.split().extras["source_masks"][np.asarray(index, np.int64)]  # (n, 2, F, T), disjoint
        return np.where(masks[:, 0], 1, np.where(masks[:, 1], 2, 3)).astype(np.int64)


#: The benchmarks by name (``python -m interp_core benchmark NAME``).
SUITES: dict[str, InterventionSuite] = {"creatures": CreaturesSuite(), "sounds-mix": MixtureSuite()}


def get_suite(name: str) -> InterventionSuite:
    if name not in SUITES:
        raise ValueError(f"Unknown benchmark {name!r}. Available: {', '.join(SUITES)}.")
    return SUITES[name]
