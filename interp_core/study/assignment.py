"""Which items each participant gets, and in which order.

A *cell* is one (stimulus, condition) pair: the unit whose ratings the results average. Three ways to
hand out the items (the design's ``assignment``):

* ``balanced`` (the default): balanced incomplete blocks, cyclic. The main items in their stored order
  are cut into blocks of ``k = items_per_participant`` (all items when 0): block ``b`` holds items
  ``b·k, ..., b·k + k - 1`` (mod ``n``). Handing out blocks in turn (:meth:`StudyStore.assign_block`
  gives each new participant the block with the fewest active holders) covers the items cyclically, so
  after any number of finished participants the ratings of two cells differ by at most one.
* ``latin-square``: each participant sees every stimulus once, under one condition, rotated: for block
  ``b`` stimulus ``i`` is shown under condition ``(i + b) mod C``, so no one judges the same input twice
  (no carry-over) and each cell gets every C-th participant. Rating screens then show one
  interpretation; preference questions do not fit this design.
* ``random``: a seeded random sample of ``k`` items per participant (counts balance only on average).

Inside a session the order is seeded per participant as before: items shuffled, check items at seeded
places (never first), the interpretations of a screen in a seeded order under neutral letters.
"""
from __future__ import annotations

import math
import random
from typing import Any

ASSIGNMENTS = ("balanced", "latin-square", "random")


def condition_label(method: str, model: str) -> str:
    """How results name a condition: ``"gradcam on cnn-digits"`` (the same method may run on several models)."""
    return f"{method} on {model}" if model else method


def stimulus_of(item: dict[str, Any]) -> str:
    """The stimulus (input) an item shows, for grouping its cells."""
    source = item.get("input") or {}
    return str(source.get("stimulus") or source.get("source") or item["key"])


def _main(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((i for i in items if not i["attention"]), key=lambda i: i["id"])


def conditions_of(items: list[dict[str, Any]]) -> list[str]:
    """The conditions of the main items, in order of first appearance."""
    labels = (condition_label(s["method"], s.get("model", "")) for i in _main(items) for s in i["slots"])
    return list(dict.fromkeys(labels))


def _per_participant(n: int, per_participant: int) -> int:
    return per_participant if 0 < per_participant < n else n


def block_count(assignment: str, items: list[dict[str, Any]], per_participant: int = 0) -> int:
    """How many different blocks the design has (1 when everybody gets the same items)."""
    if assignment == "latin-square":
        return max(1, len(conditions_of(items)))
    if assignment == "balanced":
        n = len(_main(items))
        return n // math.gcd(n, _per_participant(n, per_participant)) if n else 1
    return 1


def block_items(assignment: str, items: list[dict[str, Any]], block: int,
                per_participant: int = 0) -> list[tuple[dict[str, Any], list[int]]]:
    """The main items of ``block`` with the slots shown of each: ``[(item, [slot, ...]), ...]``."""
    main = _main(items)
    if assignment == "latin-square":
        conditions = conditions_of(items)
        stimuli = list(dict.fromkeys(stimulus_of(i) for i in main))
        out = []
        for item in main:
            wanted = conditions[(stimuli.index(stimulus_of(item)) + block) % len(conditions)]
            slots = [n for n, s in enumerate(item["slots"]) if condition_label(s["method"], s.get("model", "")) == wanted]
            if slots and (item["question"] == "rating" or len(slots) == len(item["slots"])):
                out.append((item, slots))
        return out
    n = len(main)
    k = _per_participant(n, per_participant)
    return [(main[(block * k + t) % n], list(range(len(main[(block * k + t) % n]["slots"])))) for t in range(k)]


def participant_plan(items: list[dict[str, Any]], seed: int, items_per_participant: int = 0, assignment: str = "random",
                     block: int = 0) -> list[dict[str, Any]]:
    """The participant's screens: ``[{"item": id, "order": [slot, ...]}]``. Main items shuffled (for
    ``random`` a seeded sample when ``items_per_participant`` is set; else the items of ``block``), check
    items at seeded places (never first), and the shown slots of each item in a seeded order."""
    rng = random.Random(seed)
    checks = [i for i in items if i["attention"]]
    if assignment == "random":
        main = [i for i in items if not i["attention"]]
        if items_per_participant and items_per_participant < len(main):
            main = rng.sample(main, items_per_participant)
        chosen = [(i, list(range(len(i["slots"])))) for i in main]
    else:
        chosen = block_items(assignment, items, block, items_per_participant)
    rng.shuffle(chosen)
    order = list(chosen)
    for check in checks:
        order.insert(rng.randint(1, len(order)) if order else 0, (check, list(range(len(check["slots"])))))
    plan = []
    for item, slots in order:
        rng.shuffle(slots)
        plan.append({"item": item["id"], "order": slots})
    return plan
