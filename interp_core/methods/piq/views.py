"""What the PIQ view shows, computed and drawn here so the page only lays it out.

- :func:`interpret_image`: the classifier's decision written on the input in green (PIQ Figs. 1 and 4),
  PIQ's mask as a red overlay for the predicted class and for a chosen class, and Grad-CAM and LIME
  masks of the decision thresholded to the area of PIQ's mask, as red overlays beside it.
- :func:`interpret_sound`: the spectrogram with PIQ's mask (time in s, frequency in Hz), the input and
  the interpretation as WAV files (the interpretation rebuilt with the input's phase).
- :func:`metrics_rows`: the metrics table of a PIQ model (:func:`~interp_core.methods.piq.metrics.evaluate_piq`).

Pictures are RGB ``uint8`` ``(H', W', 3)``, enlarged by whole pixels so small inputs stay crisp.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from interp_core.visualize import display_scale, enlarge, image_to_uint8

#: The red of the paper's interpretation overlays, and how strongly a full mask tints.
MASK_RED = np.array([230.0, 25.0, 25.0], dtype=np.float32)
MASK_ALPHA = 0.6
DECISION_GREEN = (20, 170, 60)


#: What each target source is, in words (the page's caption).
TARGET_TEXT = {
    "image-threshold": "the image itself in black and white (Fig. 3 left)",
    "dataset-masks": "the dataset's exact masks (shapes: object masks in place of the paper's SAM + GroundingDINO masks, "
                     "Fig. 3 middle; sounds: the events' time-frequency masks)",
    "spectrogram-threshold": "the log1p-magnitude spectrogram above 0.35 of its maximum (Fig. 3 right)",
}
#: Version of what :func:`cached_piq_metrics` computes: bump it when the evaluation changes, so that
#: metrics cached for the same weights by older code are not shown.
METRICS_VERSION = 2
#: Test inputs behind the view's metrics table by default (the whole split where it is small).
METRIC_SAMPLES = {"digits": 359, "shapes": 300, "sounds": 100}


def test_size(dataset: str) -> int:
    from interp_core.data import load_split

    return len(load_split(dataset, "test"))


#: The datasets whose test splits make a dataset's contaminated inputs beyond a mixture of two.
EXTRA_DATASETS = {"digits": "digits-on-texture", "shapes": "shapes-multi"}


def extra_inputs(dataset: str) -> dict[str, tuple[Any, int]]:
    """The dataset's contaminated inputs beyond a mixture of two: label -> (builder of a test index, count)."""
    from interp_core.methods.piq import contaminated

    if dataset == "digits":
        return {"Digit on texture": (contaminated.digit_on_texture, test_size(EXTRA_DATASETS[dataset]))}
    if dataset == "shapes":
        return {"Overlapping shapes": (contaminated.overlapping_shapes, test_size(EXTRA_DATASETS[dataset]))}
    return {}


def source_overlaps(mask: np.ndarray, source_masks: np.ndarray) -> list[float]:
    """IoU of a soft mask ``(H, W)``, binarised to its own area as the metrics do, with each source's
    ground-truth mask ``(K, H, W)``."""
    from interp_core.methods.piq.metrics import own_area_masks
    from interp_core.metrics.faithfulness import mask_iou

    binary = own_area_masks(torch.as_tensor(np.asarray(mask, dtype=np.float32))[None])[0].numpy()
    binary = np.broadcast_to(binary, source_masks.shape)
    return [float(v) for v in mask_iou(binary, source_masks)]


def piq_recipes() -> list[str]:
    """PIQ recipes whose interpreter is trained or shipped (torch-free)."""
    from interp_core.store.catalog import ready_models

    return ready_models(kind="piq")


def red_overlay(x: torch.Tensor | np.ndarray, mask: np.ndarray, *, scale: int = 1) -> np.ndarray:
    """The input ``x`` (``(C, H, W)`` or an RGB picture) tinted red where ``mask`` ``(H, W)`` in [0, 1] is
    high (PIQ's red overlays)."""
    base = image_to_uint8(x).astype(np.float32)
    m = np.clip(np.asarray(mask, dtype=np.float32), 0, 1)[..., None] * MASK_ALPHA
    return enlarge((base * (1 - m) + MASK_RED * m + 0.5).astype(np.uint8), scale)


def with_decision(picture: np.ndarray, text: str) -> np.ndarray:
    """``picture`` with ``text`` (the classifier's decision) in green in its top-right corner (Figs. 1, 4)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.fromarray(picture)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(10, picture.shape[0] // 14))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    w, h = right - left, bottom - top
    x0 = picture.shape[1] - w - 8
    draw.rectangle((x0 - 3, 2, picture.shape[1] - 2, h + 9), fill=(255, 255, 255))
    draw.text((x0 - left, 5 - top), text, fill=DECISION_GREEN, font=font)
    return np.asarray(image)


@dataclass
class MaskPanel:
    """One mask drawn over the input: ``title``, the red-overlay ``picture``, the ``mask`` ``(H, W)``
    itself, the class it is for and its ``area`` (mean mask value)."""

    title: str
    picture: np.ndarray
    mask: np.ndarray = field(repr=False)
    target: int
    area: float


@dataclass
class ImageInterpretation:
    """The PIQ view of one image: the ``input`` with the decision in green, the classifier's
    ``prediction`` and ``probabilities`` ``(C,)``, the ``chosen`` class, and ``panels``: PIQ for the
    prediction, PIQ for the chosen class (when it differs), Grad-CAM and LIME at PIQ's area."""

    input: np.ndarray
    prediction: int
    probabilities: np.ndarray
    chosen: int
    panels: list[MaskPanel]

    def piq_mask(self, target: int) -> np.ndarray:
        """PIQ's mask ``(H, W)`` for class ``target`` (the predicted or the chosen class)."""
        return next(p.mask for p in self.panels if p.title.startswith("PIQ") and p.target == target)


def _probabilities(loaded, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return loaded.card.probabilities(loaded.model(x.unsqueeze(0).to(loaded.device)))[0].cpu().numpy()


def backbone_card(loaded):
    """The card of the classifier a loaded PIQ model interprets (its backbone recipe)."""
    from interp_core.store.models import load_model

    return load_model(loaded.recipe.backbone, loaded.device, train_if_missing=False, show_bar=False).card


def baseline_masks(loaded, x: torch.Tensor, target: int, area: int, methods: tuple[str, ...] = ("gradcam", "lime")) -> dict[str, np.ndarray]:
    """Each post-hoc method's map of ``x`` for ``target`` on the PIQ model's classifier, thresholded to
    its ``area`` highest pixels (the same area as PIQ's mask)."""
    from interp_core.methods.base import get_explainer
    from interp_core.metrics.faithfulness import top_area_masks

    card = backbone_card(loaded)
    inputs = x.unsqueeze(0).to(loaded.device)
    cls = torch.tensor([target], device=loaded.device)
    out = {}
    for method in methods:
        maps = get_explainer(method, loaded.model.backbone, card).attribute(inputs, cls)
        out[method] = top_area_masks(maps.cpu(), [area])[0].numpy().astype(np.float32)
    return out


BASELINE_TITLES = {"gradcam": "Grad-CAM", "lime": "LIME"}


def interpret_image(loaded, x: torch.Tensor, chosen: int | None = None, *, baselines: tuple[str, ...] = ("gradcam", "lime"),
                    display: int = 224) -> ImageInterpretation:
    """PIQ's interpretation of image ``x`` ``(C, H, W)`` for the predicted class and for class ``chosen``
    (default: the prediction), with ``baselines`` thresholded to the area of the predicted-class mask."""
    from interp_core.methods.base import get_explainer

    names = loaded.card.class_names
    probs = _probabilities(loaded, x)
    predicted = int(probs.argmax())
    chosen = predicted if chosen is None else int(chosen)
    targets = [predicted] if chosen == predicted else [predicted, chosen]
    explanations = get_explainer("piq", loaded).explain(x.float(), targets)
    scale = display_scale(x.shape[-1], display)
    panels = []
    for e in explanations:
        label = "predicted" if e.target == predicted else "chosen"
        panels.append(MaskPanel(f"PIQ · {label} class {names[e.target]}", red_overlay(x, e.mask, scale=scale), e.mask, e.target,
                                float(e.mask.mean())))
    area = int(round(float(panels[0].mask.sum())))
    for method, mask in baseline_masks(loaded, x, predicted, area, baselines).items():
        panels.append(MaskPanel(f"{BASELINE_TITLES.get(method, method)} · {names[predicted]} at PIQ's area",
                                red_overlay(x, mask, scale=scale), mask, predicted, float(mask.mean())))
    picture = with_decision(enlarge(image_to_uint8(x), scale), f"{names[predicted]} {probs[predicted]:.0%}")
    return ImageInterpretation(picture, predicted, probs, chosen, panels)


@dataclass
class SoundInterpretation:
    """The PIQ view of one sound: decision, ``mask`` ``(F, T)`` for the ``target`` class, the plotly
    ``figure`` (spectrogram, interpretation, mask contour; time and frequency axes), and the input and
    interpretation as ``input_wav``/``interpretation_wav`` bytes (``waveform`` the interpretation ``(S,)``)."""

    prediction: int
    probabilities: np.ndarray
    target: int
    mask: np.ndarray = field(repr=False)
    figure: Any = field(repr=False)
    input_wav: bytes = field(repr=False)
    interpretation_wav: bytes = field(repr=False)
    waveform: np.ndarray = field(repr=False)
    phase: str = "input"


def spectrogram_axes(n_bins: int, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame times (s) ``(T,)`` and bin frequencies (Hz) ``(F,)`` of the ``sounds`` STFT front-end."""
    from interp_core.data.sounds import HOP_LENGTH, N_FFT, SAMPLE_RATE

    return np.arange(n_frames) * HOP_LENGTH / SAMPLE_RATE, np.arange(n_bins) * SAMPLE_RATE / N_FFT


def spectrogram_figure(x: torch.Tensor, mask: np.ndarray, title: str, *, height: int = 330):
    """Two panels over time (s) and frequency (Hz): the input's log1p-magnitude spectrogram with the mask's
    0.5 contour, and the interpretation ``mask ⊙ spectrogram``."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    spec = np.asarray(x.detach().cpu(), dtype=np.float32).reshape(x.shape[-2], x.shape[-1])
    times, freqs = spectrogram_axes(*spec.shape)
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=("input log1p|STFT| with the mask (cyan)", title))
    # One colour scale for both panels (the interpretation is the input's magnitude where the mask keeps it).
    limits = dict(zmin=0.0, zmax=float(spec.max()) or 1.0)
    fig.add_trace(go.Heatmap(z=spec.tolist(), x=times.tolist(), y=freqs.tolist(), colorscale="Magma", showscale=False, **limits), 1, 1)
    fig.add_trace(go.Contour(z=np.asarray(mask, dtype=np.float32).tolist(), x=times.tolist(), y=freqs.tolist(), showscale=False,
                             contours=dict(start=0.5, end=0.5, size=1, coloring="none"), line=dict(color="cyan", width=1.5)), 1, 1)
    fig.add_trace(go.Heatmap(z=(spec * mask).tolist(), x=times.tolist(), y=freqs.tolist(), colorscale="Magma", **limits,
                             colorbar=dict(title=dict(text="log1p |STFT|", side="right"), thickness=12)), 1, 2)
    fig.update_xaxes(title_text="time (s)")
    fig.update_yaxes(title_text="frequency (Hz)", row=1, col=1)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def interpret_sound(loaded, x: torch.Tensor, waveform: np.ndarray | None, chosen: int | None = None) -> SoundInterpretation:
    """PIQ's interpretation of the spectrogram ``x`` ``(1, F, T)`` of ``waveform`` ``(S,)`` for class
    ``chosen`` (default: the prediction), as a figure and as sound with the input's phase."""
    from interp_core.data.sounds import SAMPLE_RATE
    from interp_core.methods.base import get_explainer
    from interp_core.methods.piq.audio import wav_bytes

    names = loaded.card.class_names
    probs = _probabilities(loaded, x)
    predicted = int(probs.argmax())
    target = predicted if chosen is None else int(chosen)
    e = get_explainer("piq", loaded).explain(x.float(), [target], waveform=waveform)[0]
    kind = "predicted" if target == predicted else "chosen"
    figure = spectrogram_figure(x, e.mask, f"interpretation for the {kind} class {names[target]}")
    source = waveform if waveform is not None else e.waveform
    return SoundInterpretation(predicted, probs, target, e.mask, figure, wav_bytes(source, SAMPLE_RATE), wav_bytes(e.waveform, SAMPLE_RATE),
                               e.waveform, e.extras.get("phase", "input"))


#: Rows of the metrics table: (method, key prefix).
METHOD_ROWS = (("PIQ", ""), ("Grad-CAM (same area)", "gradcam_"), ("LIME (same area)", "lime_"))
METRIC_COLUMNS = (("fidelity-in ↑", "fidelity_in"), ("faithfulness ↑", "faithfulness"), ("AI ↑", "ai"), ("AD ↓", "ad"), ("AG ↑", "ag"),
                  ("mask IoU ↑", "mask_iou"), ("Fréchet, own features ↓", "frechet_own_features"))


def piq_metrics(loaded, *, test_samples: int | None = 300, lime_samples: int = 8, mixture_samples: int | None = 100) -> dict[str, Any]:
    """The evaluation of a loaded PIQ model on (the first ``test_samples`` of) its test split."""
    from interp_core.methods.piq.metrics import evaluate_piq

    return evaluate_piq(loaded.model, loaded.recipe.dataset, backbone_card(loaded), test_samples=test_samples,
                        lime_samples=lime_samples, mixture_samples=mixture_samples)


def cached_piq_metrics(loaded, *, test_samples: int | None = 300, lime_samples: int = 8, mixture_samples: int | None = 100,
                       compute: bool = True) -> dict[str, Any] | None:
    """:func:`piq_metrics`, cached on disk under the weights fingerprints of the model and of its
    classifier (computed once per set of weights and settings, then read back). ``compute=False``: only
    what is cached (None if nothing is)."""
    from interp_core.store.results import cached_json, result_dir

    backbone = backbone_card(loaded).fingerprint
    path = result_dir("piq", loaded) / f"metrics-v{METRICS_VERSION}-{backbone}-{test_samples}-{lime_samples}-{mixture_samples}.json"
    compute_now = (lambda: piq_metrics(loaded, test_samples=test_samples, lime_samples=lime_samples,
                                       mixture_samples=mixture_samples)) if compute else None
    return cached_json(path, compute_now)


def metrics_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per method (PIQ, Grad-CAM, LIME) with the metrics it has (None where it has none)."""
    rows = []
    for method, prefix in METHOD_ROWS:
        if prefix + "fidelity_in" not in metrics:
            continue
        n = metrics.get("lime_n") if prefix == "lime_" else metrics.get("n")
        rows.append({"method": method, "inputs": n, **{label: metrics.get(prefix + key) for label, key in METRIC_COLUMNS}})
    return rows


def mixture_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """The mixture scores as (score, value) rows, if the evaluation has them."""
    labels = {"mixture_n": "mixtures whose decision is a source", "mixture_mask_iou": "IoU of the decision's mask with its source",
              "mixture_other_iou": "IoU of that mask with the other source", "mixture_predicted_beats_other": "share where the decision's source wins",
              "mixture_chosen_iou": "IoU of the other class's mask with the other source"}
    return [{"score": text, "value": metrics[key]} for key, text in labels.items() if key in metrics]


def warm_up(context) -> None:
    """The PIQ view's default selection, warmed at server start (:mod:`interp_core.evaluation.warmup`): the first
    ready interpreter on the first test sample its classifier gets right, interpreted for the decision, and
    its dataset's contaminated inputs."""
    from interp_core.methods.piq import contaminated

    names = piq_recipes()
    if not names:
        return
    name = names[0]
    loaded = context.model(name)
    dataset = loaded.recipe.dataset
    for split_of in (dataset, *([EXTRA_DATASETS[dataset]] if dataset in EXTRA_DATASETS else [])):
        context.split(split_of, "test")  # made aside by the dashboard's context; then read from the disk cache
    context.step(f"preparing the contaminated {dataset} inputs", lambda: (test_size(dataset), extra_inputs(dataset)))
    picked = context.sample(dataset, name)
    sample = contaminated.from_sample(picked.x, picked.label, picked.source, picked.waveform)
    x = sample.x.float().contiguous()
    if loaded.card.modality == "audio":
        wave = None if sample.waveform is None else np.asarray(sample.waveform, np.float32)
        first = context.result(interpret_sound, name, x, wave, None)
        context.result(interpret_sound, name, x, wave, int(first.prediction))
    else:
        first = context.result(interpret_image, name, x, None)
        context.result(interpret_image, name, x, int(first.prediction))
