"""The maps' figures: scales, orientation of sound maps, the pointing game's target cell, probabilities."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from app.figures import map_png, probability_text

SOUND = (257, 182)  # (F, T) of the sounds front-end


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _centroid(mask: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(mask)
    assert len(rows), "colour not found"
    return rows.mean() / mask.shape[0], cols.mean() / mask.shape[1]


def _red(p):
    return (p[..., 0] > 180) & (p[..., 1] < 80) & (p[..., 2] < 80)


@pytest.mark.parametrize("p,text", [(0.973, "97.3%"), (2e-20, "<0.01%"), (0.0042, "0.42%"), (1.0, "100%"), (0.9996, ">99.9%"),
                                    (0.0, "<0.01%"), (float("nan"), "n/a")])
def test_probabilities_for_people(p, text):
    assert probability_text(p) == text


def test_sound_maps_put_low_frequencies_at_the_bottom():
    """Row 0 of an (F, T) map is the lowest frequency: drawn at the bottom, as the spectrogram is, for
    signed maps and segment maps alike (no method is drawn upside down)."""
    values = np.zeros(SOUND, np.float32)
    values[:20] = 1.0  # lowest 20 bins (0 to 600 Hz)
    spec = np.random.default_rng(0).random(SOUND).astype(np.float32)
    signed = _pixels(map_png("signed", values, base=spec, audio=True))
    assert _centroid(_red(signed))[0] > 0.6
    segments = np.zeros(SOUND, int)
    segments[:20] = 1
    seg = _pixels(map_png("segments", base=spec, audio=True, segments=segments, palette=np.array([[0, 0, 1.0], [0, 1.0, 0]])))
    green = (seg[..., 1] > 150) & (seg[..., 0] < 120) & (seg[..., 2] < 120)
    assert _centroid(green)[0] > 0.6


def test_image_maps_keep_row_zero_at_the_top():
    values = np.zeros((64, 64), np.float32)
    values[:10] = 1.0
    picture = _pixels(map_png("signed", values, base=np.full((64, 64, 3), 128, np.uint8)))
    assert _centroid(_red(picture))[0] < 0.4


def test_numeric_maps_have_a_colour_bar_and_coloured_maps_do_not():
    values = np.random.default_rng(1).normal(size=(64, 64)).astype(np.float32)
    signed = _pixels(map_png("signed", values))
    rgba = _pixels(map_png("rgba", rgba=np.random.default_rng(2).random((64, 64, 4))))
    assert signed.shape[1] > rgba.shape[1] * 1.15  # room for the bar
    # the bar runs from blue to red on the right-hand side of the figure
    right = signed[:, int(signed.shape[1] * 0.75):]
    assert _red(right).any() and ((right[..., 2] > 180) & (right[..., 0] < 80)).any()


def test_pointing_game_frames_the_target_cell():
    grid = np.full((192, 192, 3), 90, np.uint8)
    values = np.random.default_rng(3).random((192, 192)).astype(np.float32)
    for cell, (top, left) in ((0, (True, True)), (8, (False, False))):
        p = _pixels(map_png("positive", values, base=grid, cells=3, mark_cell=cell))
        lime = (p[..., 1] > 200) & (p[..., 0] < 100) & (p[..., 2] < 100)
        y, x = _centroid(lime)
        assert (y < 0.4) == top and (x < 0.4) == left, (cell, y, x)


def test_every_view_shares_one_class_palette():
    """The class colours live in interp_core.visualize; the prototypes view draws with that same palette."""
    import colorsys

    from interp_core.methods.kmex import views as kmex_views
    from interp_core.visualize import class_colors

    assert kmex_views.class_colors is class_colors
    colours = class_colors(["red plain circle", "red striped circle", "green plain square", "0"])
    hues = [colorsys.rgb_to_hls(*(int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)))[0] * 360 for c in colours[:3]]
    assert min(hues[0], 360 - hues[0]) < 15 and min(hues[1], 360 - hues[1]) < 15 and abs(hues[2] - 125) < 15
    assert colours[0] != colours[1]  # classes sharing a colour word get distinct shades
    assert class_colors(["red plain circle", "red striped circle", "green plain square", "0"]) == colours
