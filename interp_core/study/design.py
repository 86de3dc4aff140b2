"""Study designs (what the lead chooses) and study content (what is stored and shown), torch-free.

A :class:`StudyDesign` names the conditions (an explainer of the registry on a model), the inputs
(gallery picks of any dataset, contaminated mixtures included, or uploads), the question types and the
attention checks. :func:`interp_core.study.stimuli.render_study` turns it into :class:`StudyContent`:
stimulus files (PNG, WAV) and items (screens), built here by :func:`build_items` from what was rendered.

Question types (PIQ paper, Secs. 3.3-3.5):

* ``rating``: one screen per input; the input first, then every condition's interpretation under a
  neutral letter in a per-participant order, each rated 1 "bad" to 5 "excellent" (the ACR scale of
  ITU-T P.800 that MOS studies use).
* ``simulation``: one screen per input and condition; the interpretation alone, and the participant
  picks the class the model predicted among ``simulation_choices`` classes (the prediction and seeded
  distractors, in class order so the position gives nothing away); chance is 1 / choices.
* ``preference``: one screen per input and pair of conditions: which of the two explains it better.

Attention checks are instructed-response items ("choose 2 for this picture"): their expected answer is
stored, and a participant who misses one is flagged in the results, never silently dropped. The rest of
quality control (qualification, headphone check, gold and trapping items, exclusion rules) is the
design's ``quality`` (:mod:`.quality`); ``assignment`` says how items are handed out (:mod:`.assignment`);
``recruitment`` opens a platform link at creation (:mod:`.recruitment`).
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from interp_core.study.assignment import ASSIGNMENTS
from interp_core.study.errors import DesignError
from interp_core.study.quality import QualityControl
from interp_core.study.recruitment import Recruitment

QUESTIONS = ("rating", "simulation", "preference")
#: The ACR scale of MOS studies: value and label.
RATING_SCALE: tuple[tuple[int, str], ...] = ((1, "bad"), (2, "poor"), (3, "fair"), (4, "good"), (5, "excellent"))
MAX_INPUTS = 200
MAX_CONDITIONS = 12

DEFAULT_INSTRUCTIONS = ("You will see inputs given to an image or sound classifier and interpretations of its decision made "
                        "by different methods, under neutral letters. Judge how well each interpretation explains the "
                        "decision. Where there are sounds, play each one to its end before you answer.")
DEFAULT_CONSENT = ("I agree to take part in this study. My answers are stored without my name and used for research only. "
                   "I can stop at any time.")

PROMPTS = {
    "rating": "Rate how well each interpretation explains the classifier's decision (1 = bad, 5 = excellent).",
    "simulation": "Which class did the classifier decide on, judging only from this interpretation?",
    "preference": "Which interpretation explains the classifier's decision better?",
}


@dataclass(frozen=True)
class Condition:
    """One method to compare: explainer ``method`` (see ``available_explainers()``) on recipe ``model``."""

    method: str
    model: str

    @property
    def label(self) -> str:
        return f"{self.method} on {self.model}"


@dataclass(frozen=True)
class InputSpec:
    """A gallery pick (``dataset`` test split, ``index``) or an upload (``filename`` and its bytes ``data``)."""

    dataset: str = ""
    index: int = 0
    filename: str = ""
    data: bytes = b""

    @property
    def is_upload(self) -> bool:
        return bool(self.filename)

    def describe(self) -> str:
        return f"upload {self.filename}" if self.is_upload else f"{self.dataset} test #{self.index}"


@dataclass(frozen=True)
class StudyDesign:
    name: str
    conditions: tuple[Condition, ...]
    inputs: tuple[InputSpec, ...]
    questions: tuple[str, ...] = ("rating",)
    instructions: str = DEFAULT_INSTRUCTIONS
    consent: str = DEFAULT_CONSENT
    attention_checks: int = 1
    items_per_participant: int = 0  # 0: every item
    simulation_choices: int = 4
    seed: int = 0
    assignment: str = "balanced"
    quality: QualityControl = field(default_factory=QualityControl)
    recruitment: Recruitment | None = None

    def validate(self) -> None:
        """Raise :class:`DesignError` naming the first field that is wrong (checks that need no model)."""
        if not self.name.strip() or len(self.name) > 200:
            raise DesignError("A study needs a name (at most 200 characters).")
        if not self.consent.strip():
            raise DesignError("A study needs a consent text: participants must agree before they answer.")
        if not self.questions or any(q not in QUESTIONS for q in self.questions) or len(set(self.questions)) != len(self.questions):
            raise DesignError(f"Question types must be some of {', '.join(QUESTIONS)} (each once); got {list(self.questions)}.")
        if not 1 <= len(self.conditions) <= MAX_CONDITIONS:
            raise DesignError(f"Choose between 1 and {MAX_CONDITIONS} methods to compare; got {len(self.conditions)}.")
        if len(set(self.conditions)) != len(self.conditions):
            raise DesignError("The same method on the same model is listed twice.")
        if "preference" in self.questions and len(self.conditions) < 2:
            raise DesignError("Pairwise preference needs at least two methods.")
        if not 1 <= len(self.inputs) <= MAX_INPUTS:
            raise DesignError(f"Choose between 1 and {MAX_INPUTS} inputs; got {len(self.inputs)}.")
        for spec in self.inputs:
            if spec.is_upload and not spec.data:
                raise DesignError(f"The upload {spec.filename!r} is empty.")
            if not spec.is_upload and (not spec.dataset or spec.index < 0):
                raise DesignError("A gallery input needs a dataset and an index >= 0.")
        if not 0 <= self.attention_checks <= 10:
            raise DesignError("Attention checks: between 0 and 10.")
        if self.items_per_participant < 0:
            raise DesignError("Items per participant must be 0 (all) or more.")
        if "simulation" in self.questions and self.simulation_choices < 2:
            raise DesignError("Model simulation needs at least 2 classes to choose from.")
        if self.assignment not in ASSIGNMENTS:
            raise DesignError(f"Assignment must be one of {', '.join(ASSIGNMENTS)}; got {self.assignment!r}.")
        if self.assignment == "latin-square" and ("preference" in self.questions or self.items_per_participant):
            raise DesignError("A Latin square shows every input once under one method: it takes rating and simulation "
                              "questions, and every input (items per participant 0).")
        self.quality.validate(len(self.inputs), len(self.conditions))
        if self.recruitment is not None:
            self.recruitment.validate()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; upload bytes as base64."""
        out = asdict(self)
        out["conditions"] = [asdict(c) for c in self.conditions]
        out["inputs"] = [{**asdict(s), "data": base64.b64encode(s.data).decode()} for s in self.inputs]
        out["questions"] = list(self.questions)
        out["quality"] = self.quality.to_dict()
        out["recruitment"] = self.recruitment.to_dict() if self.recruitment else None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StudyDesign":
        """Inverse of :meth:`to_dict`; unknown or mistyped fields raise :class:`DesignError`."""
        if not isinstance(data, dict):
            raise DesignError("A study design is a JSON object.")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise DesignError(f"Unknown design field(s): {', '.join(sorted(unknown))}.")
        try:
            conditions = tuple(Condition(str(c["method"]), str(c["model"])) for c in data.get("conditions", []))
            inputs = tuple(InputSpec(str(s.get("dataset", "")), int(s.get("index", 0)), str(s.get("filename", "")),
                                     base64.b64decode(s.get("data", "") or b"", validate=True))
                           for s in data.get("inputs", []))
            fields_ = {k: data[k] for k in known - {"conditions", "inputs", "quality", "recruitment"} if k in data}
            fields_["quality"] = QualityControl.from_dict(data.get("quality"))
            fields_["recruitment"] = Recruitment.from_dict(data.get("recruitment"))
            for key in ("attention_checks", "items_per_participant", "simulation_choices", "seed"):
                if key in fields_:
                    fields_[key] = int(fields_[key])
            if "questions" in fields_:
                fields_["questions"] = tuple(str(q) for q in fields_["questions"])
            design = cls(conditions=conditions, inputs=inputs, **fields_)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise DesignError(f"The study design is malformed: {err}") from None
        return design


# ------------------------------------------------------------------------------------------ content


@dataclass
class StimulusFile:
    """One stored file: ``key`` (unique in the study), ``media_type`` (image/png or audio/wav), bytes, facts."""

    key: str
    media_type: str
    data: bytes
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class ItemSpec:
    """One screen. ``input``: ``{"picture": key, "sound": key | None, "source": text}``; ``slots``: one dict
    per interpretation (``method``, ``model``, ``fingerprint``, ``picture``, ``sound``, ``explained`` class
    index, ``explained_name``); ``options``: ``[[value, label], ...]``."""

    key: str
    question: str
    prompt: str
    input: dict[str, Any]
    slots: list[dict[str, Any]]
    options: list[list[Any]]
    class_name: str
    attention: bool = False  # a check item (attention, gold, trap): answers are checked, not analysed
    expected: int | None = None
    kind: str = ""  # main | attention | gold | trap; "" derives it from ``attention``
    tolerance: int | None = None  # gold items: how far an answer may be from ``expected``

    def __post_init__(self) -> None:
        self.kind = self.kind or ("attention" if self.attention else "main")


@dataclass
class StudyContent:
    design: dict[str, Any]  # StudyDesign.to_dict() without upload bytes (they live on as stimuli)
    stimuli: list[StimulusFile]
    items: list[ItemSpec]
    name: str
    instructions: str
    consent: str
    seed: int
    recruitment: dict[str, Any] | None = None


@dataclass
class RenderedInterpretation:
    method: str
    model: str
    fingerprint: str
    picture: str  # stimulus key
    sound: str | None
    explained: int  # the class explained: the model's prediction
    class_names: tuple[str, ...]


@dataclass
class RenderedInput:
    key: str
    picture: str
    sound: str | None
    source: str
    class_name: str  # the true class when known, else the first model's prediction
    interpretations: list[RenderedInterpretation]


def _slot(r: RenderedInterpretation) -> dict[str, Any]:
    return {"method": r.method, "model": r.model, "fingerprint": r.fingerprint, "picture": r.picture, "sound": r.sound,
            "explained": r.explained, "explained_name": r.class_names[r.explained]}


def build_items(design: StudyDesign, rendered: list[RenderedInput]) -> list[ItemSpec]:
    """The screens of a study from its rendered inputs, in a fixed order (participants get their own)."""
    rng = random.Random(design.seed)
    scale = [list(v) for v in RATING_SCALE]
    items: list[ItemSpec] = []
    for r in rendered:
        source = {"picture": r.picture, "sound": r.sound, "source": r.source, "stimulus": r.key}
        if "rating" in design.questions:
            items.append(ItemSpec(f"rating-{r.key}", "rating", PROMPTS["rating"], source,
                                  [_slot(i) for i in r.interpretations], scale, r.class_name))
        if "simulation" in design.questions:
            for c, interp in enumerate(r.interpretations):
                classes = range(len(interp.class_names))
                k = min(design.simulation_choices, len(interp.class_names))
                others = rng.sample([x for x in classes if x != interp.explained], k - 1)
                options = [[x, interp.class_names[x]] for x in sorted([interp.explained, *others])]
                items.append(ItemSpec(f"simulation-{r.key}-{c}", "simulation", PROMPTS["simulation"],
                                      {"picture": None, "sound": None, "source": r.source, "stimulus": r.key}, [_slot(interp)], options,
                                      r.class_name))
        if "preference" in design.questions:
            for a, b in itertools.combinations(range(len(r.interpretations)), 2):
                items.append(ItemSpec(f"preference-{r.key}-{a}-{b}", "preference", PROMPTS["preference"], source,
                                      [_slot(r.interpretations[a]), _slot(r.interpretations[b])], [[0, "first"], [1, "second"]],
                                      r.class_name))
    for n in range(design.attention_checks):
        r = rendered[n % len(rendered)]
        expected = rng.randint(1, 5)
        label = dict(RATING_SCALE)[expected]
        items.append(ItemSpec(f"attention-{n}", "rating", f"Attention check: please choose {expected} ({label}) for this picture.",
                              {"picture": None, "sound": None, "source": r.source},
                              [{"method": "attention-check", "model": "", "fingerprint": "", "picture": r.picture, "sound": None,
                                "explained": -1, "explained_name": ""}], scale, r.class_name, attention=True, expected=expected))
    return items
