"""Render a study once: every input and every condition's interpretation as PNG (and WAV for sounds),
stored with the study, so what participants see never changes when a model is retrained.

Each interpretation explains the class its model predicts for the input (the decision participants
judge) and is drawn as the method draws itself first (:func:`interp_core.visualize.explanation_panels`),
enlarged with nearest-neighbour pixels. Sounds: the input clip, and for each interpretation the method's
own waveform when it has one (PIQ), else the input's magnitude spectrogram kept where the attribution is
positive, turned back into sound with the input's phase (PIQ paper, Sec. 3.5).
"""
from __future__ import annotations

import io
from typing import Callable

import numpy as np

from interp_core.study.checks import check_items
from interp_core.study.design import (
    RenderedInput,
    RenderedInterpretation,
    StimulusFile,
    StudyContent,
    StudyDesign,
    build_items,
)
from interp_core.study.errors import DesignError

DISPLAY_PIXELS = 224
Progress = Callable[[float, str], None]


def png_bytes(picture: np.ndarray) -> bytes:
    """RGB uint8 ``(H, W, 3)`` -> PNG, enlarged by an integer factor towards :data:`DISPLAY_PIXELS`."""
    from PIL import Image

    scale = max(1, DISPLAY_PIXELS // max(picture.shape[:2]))
    if scale > 1:
        picture = np.repeat(np.repeat(picture, scale, 0), scale, 1)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(picture)).save(buf, "PNG")
    return buf.getvalue()


def wav_bytes(waveform: np.ndarray, sample_rate: int) -> bytes:
    """Mono float waveform ``(S,)`` -> 16-bit PCM WAV (peak-normalised when it would clip)."""
    import soundfile

    wave = np.asarray(waveform, dtype=np.float32).reshape(-1)
    peak = float(np.abs(wave).max(initial=0.0))
    if peak > 0.99:
        wave = wave * (0.99 / peak)
    buf = io.BytesIO()
    soundfile.write(buf, wave, sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _input_tensor(spec, shape: tuple[int, ...], sample_rate: int | None):
    """``(x, waveform or None, true class name or None)`` of one input spec."""
    from interp_core import inputs
    from interp_core.data import dataset_info, load_split

    if spec.is_upload:
        sample = inputs.input_from_upload(inputs.upload_kind(spec.data, spec.filename), spec.data, spec.filename, shape, sample_rate)
        return sample.x, None if sample.waveform is None else np.asarray(sample.waveform, dtype=np.float32), None
    info = dataset_info(spec.dataset)
    if tuple(info.input_shape) != tuple(shape):
        raise DesignError(f"Inputs of {spec.dataset} have shape {tuple(info.input_shape)}, but the chosen models take {tuple(shape)}.")
    split = load_split(spec.dataset, "test")
    if not 0 <= spec.index < len(split):
        raise DesignError(f"{spec.dataset} has test samples 0-{len(split) - 1}; {spec.index} does not exist.")
    x = split.inputs([spec.index])[0]
    wave = np.asarray(split.data[spec.index], dtype=np.float32) if info.kind == "audio" else None
    return x, wave, info.class_names[int(split.labels[spec.index])]


def _interpretation_sound(x, explanation, waveform: np.ndarray):
    import torch

    from interp_core.data.sounds import magnitude_to_waveform

    if explanation.waveform is not None:
        return np.asarray(explanation.waveform, dtype=np.float32)
    attribution = explanation.attribution.clamp(min=0)
    mask = attribution / attribution.max() if float(attribution.max()) > 0 else attribution
    kept = torch.log1p(torch.expm1(x[0].float()) * mask)
    return magnitude_to_waveform(kept[None], torch.from_numpy(waveform)[None])[0].numpy()


def render_study(design: StudyDesign, progress: Progress | None = None) -> StudyContent:
    """Every stimulus and item of ``design``; raises :class:`DesignError` for methods, models or inputs
    that do not fit together (unknown method, untrained model, method that does not explain the model,
    inputs of another shape)."""
    import torch

    from interp_core.evaluation.models import loaded
    from interp_core.methods.base import explainer_class, get_explainer
    from interp_core.registry import UnknownNameError
    from interp_core.store.models import ModelNotTrainedError
    from interp_core.visualize import explanation_panels, input_picture

    design.validate()
    report = progress or (lambda fraction, message: None)
    models = {}
    for c in design.conditions:
        try:
            cls = explainer_class(c.method)
            model = models.get(c.model) or loaded(c.model)
        except (UnknownNameError, ModelNotTrainedError) as err:
            raise DesignError(str(err)) from None
        if not cls.supports(model.card):
            raise DesignError(f"The method {c.method!r} does not explain {c.model!r}.")
        models[c.model] = model
    cards = [m.card for m in models.values()]
    if len({(c.modality, tuple(c.input_shape)) for c in cards}) != 1:
        raise DesignError("All models of a study must take the same inputs (one modality, one input shape).")
    modality, shape = cards[0].modality, tuple(cards[0].input_shape)
    sample_rate = next((m.info.sample_rate for m in models.values() if m.info.sample_rate), None)

    stimuli: list[StimulusFile] = []
    rendered: list[RenderedInput] = []
    steps = len(design.inputs) * (1 + len(design.conditions))
    step = 0
    for n, spec in enumerate(design.inputs):
        report(step / steps, f"input {n + 1}/{len(design.inputs)}: {spec.describe()}")
        x, wave, true_class = _input_tensor(spec, shape, sample_rate)
        key = f"in{n}"
        stimuli.append(StimulusFile(f"{key}.png", "image/png", png_bytes(input_picture(x, modality)), {"source": spec.describe()}))
        sound = None
        if wave is not None:
            sound = f"{key}.wav"
            stimuli.append(StimulusFile(sound, "audio/wav", wav_bytes(wave, sample_rate or 16000),
                                        {"source": spec.describe(), "seconds": len(wave) / (sample_rate or 16000)}))
        step += 1
        interpretations = []
        for c_index, c in enumerate(design.conditions):
            report(step / steps, f"input {n + 1}/{len(design.inputs)}: {c.label}")
            model = models[c.model]
            with torch.no_grad():
                predicted = int(model.model(x.unsqueeze(0).to(model.device))[0].argmax())
            explanation = get_explainer(c.method, model).explain(x, [predicted])[0]
            panels = explanation_panels(x, explanation, modality)
            facts = {"method": c.method, "model": c.model, "fingerprint": model.card.fingerprint, "explained": predicted,
                     "panel": panels[0][0], "source": spec.describe()}
            picture = f"{key}-c{c_index}.png"
            stimuli.append(StimulusFile(picture, "image/png", png_bytes(panels[0][1]), facts))
            interp_sound = None
            if wave is not None:
                interp_sound = f"{key}-c{c_index}.wav"
                audio = _interpretation_sound(x, explanation, wave)
                stimuli.append(StimulusFile(interp_sound, "audio/wav", wav_bytes(audio, sample_rate or 16000),
                                            {**facts, "seconds": len(audio) / (sample_rate or 16000)}))
            interpretations.append(RenderedInterpretation(c.method, c.model, model.card.fingerprint, picture, interp_sound,
                                                          predicted, tuple(model.card.class_names)))
            step += 1
        class_name = true_class or interpretations[0].class_names[interpretations[0].explained]
        rendered.append(RenderedInput(key, f"{key}.png", sound, spec.describe(), class_name, interpretations))
    report(1.0, "done")
    stored_design = design.to_dict()
    for spec in stored_design["inputs"]:
        spec["data"] = ""  # the upload lives on as its rendered stimulus
    checks, check_stimuli = check_items(design, rendered, {s.key: s.data for s in stimuli if s.media_type == "image/png"})
    return StudyContent(stored_design, stimuli + check_stimuli, build_items(design, rendered) + checks, design.name,
                        design.instructions, design.consent, design.seed,
                        design.recruitment.to_dict() if design.recruitment else None)
