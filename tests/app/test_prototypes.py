"""AppTest of the Prototypes (KMEx) view on the shipped models: Fig. 2, predictions, maps, Tables 1 and 2, and for
kmex-sounds the players of the prototypes' clips and patches."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from page_runner import open_page
from streamlit.testing.v1 import AppTest


def _prototypes_page() -> AppTest:
    return open_page("prototypes", interactive=True)


@pytest.fixture(scope="module")
def shapes_page() -> AppTest:
    """One rendered page for the read-only checks (each rerun of the page costs seconds)."""
    return _prototypes_page()


def _library(dataset: str):
    from interp_core.data import load_split
    from interp_core.store import load_model

    return load_model(f"kmex-{dataset}", train_if_missing=False).model, load_split(dataset, "test")


@torch.no_grad()
def _expected_predictions(model, x: torch.Tensor) -> dict[str, int]:
    """Each model's class for one input, through the models themselves (not the view's helper)."""
    x = x.unsqueeze(0)
    return {"CNN": int(model.backbone(x).argmax()), "KMEx": int(model(x).argmax()),
            "B4": int(model.explain_encoder(x, "b4").prediction[0]), "B234": int(model.explain_encoder(x, "b234").prediction[0])}


def _shown_predictions(at: AppTest) -> dict[str, str]:
    tables = [t.value for t in at.dataframe if "predicts" in t.value.columns]
    return dict(zip(tables[0]["model"], tables[0]["predicts"])) if tables else {}


def _tables(at: AppTest) -> list:
    return [d for d in at.dataframe if "predicts" not in d.value.columns]


def test_page_renders_fig2_maps_and_the_library_predictions(shapes_page):
    at = shapes_page
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("plotly_chart")) == 1
    model, test = _library("shapes")
    names = test.info.class_names
    index = at.number_input(key="kmex-shapes-index").value
    expected = {k: names[v] for k, v in _expected_predictions(model, test.inputs([index])[0]).items()}
    assert expected["CNN"] == names[int(test.labels[index])]  # the view opens on a correctly classified sample
    assert _shown_predictions(at) == expected
    subheaders = [s.value for s in at.subheader]
    assert f"B4 · predicts {expected['B4']}" in subheaders and f"B234 · predicts {expected['B234']}" in subheaders
    # the attribution explains the CNN's class by default
    assert at.selectbox(key=f"kmex-target-shapes-shapes test #{index}").value == names.index(expected["CNN"])


def test_tables_hold_what_the_library_computes(shapes_page):
    from interp_core.methods.kmex import prototype_cosines

    cosines, accuracies = (d.value.set_index(d.value.columns[0]) for d in _tables(shapes_page))
    model, test = _library("shapes")
    with torch.no_grad():
        y = torch.from_numpy(test.labels)
        outputs = [model.block_outputs(test.inputs(np.arange(i, min(i + 500, len(test))))) for i in range(0, len(test), 500)]
        z = torch.cat([model.backbone.pool(o[-1]).flatten(1) for o in outputs])
        b4 = torch.cat([model.explain_encoder(None, "b4", outputs=o).prediction for o in outputs])
    assert accuracies.loc["CNN", "test"] == pytest.approx(float((model.classifier(z).argmax(1) == y).float().mean()))
    assert accuracies.loc["KMEx (K/C=5)", "test"] == pytest.approx(float((model.kmex.predict_scores(z).argmax(1) == y).float().mean()))
    assert accuracies.loc["B4", "test"] == pytest.approx(float((b4 == y).float().mean()))
    assert abs(accuracies.loc["KMEx (K/C=5)", "test"] - accuracies.loc["CNN", "test"]) <= 0.01  # the paper's Table 2 finding
    assert ((accuracies[["train", "test"]] >= 0) & (accuracies[["train", "test"]] <= 1)).all().all()
    cj = prototype_cosines(model.classifier.weight.detach(), torch.arange(test.info.num_classes), z, y)
    kmex = prototype_cosines(model.buffer("prototypes"), model.buffer("prototype_classes"), z, y)
    assert tuple(cosines.loc["CNN classifier columns c_j", ["class", "out"]]) == pytest.approx(cj, abs=1e-5)
    assert tuple(cosines.loc["KMEx (K/C=5)", ["class", "out"]]) == pytest.approx(kmex, abs=1e-5)
    assert cosines.loc["KMEx (K/C=5)", "class"] > cosines.loc["CNN classifier columns c_j", "class"]  # Table 1's finding
    assert any("from 2016 training images" in c.value and "2000 test images" in c.value for c in shapes_page.caption)


def test_switching_to_digits_explains_a_digit():
    at = _prototypes_page()
    at.selectbox(key="kmex-model").set_value("kmex-digits").run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    model, test = _library("digits")
    index = at.number_input(key="kmex-digits-index").value
    expected = {k: test.info.class_names[v] for k, v in _expected_predictions(model, test.inputs([index])[0]).items()}
    assert _shown_predictions(at) == expected
    assert expected["CNN"] == test.info.class_names[int(test.labels[index])]  # not the misclassified digit #0
    accuracies = _tables(at)[1].value.set_index("model")
    assert abs(accuracies.loc["KMEx (K/C=5)", "test"] - accuracies.loc["CNN", "test"]) <= 0.01


def test_a_bad_upload_shows_a_message_and_the_rest_of_the_page_stays():
    at = _prototypes_page()
    at.radio(key="kmex-shapes-source").set_value("Upload").run()
    at.file_uploader(key="kmex-shapes-upload").set_value(("notes.png", b"this is text, not an image", "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1 and "not an image" in at.error[0].value.lower(), [e.value for e in at.error]
    assert not _shown_predictions(at)  # nothing explained for a bad file ...
    assert len(_tables(at)) == 2 and len(at.get("plotly_chart")) == 1  # ... while Fig. 2 and the tables remain


@pytest.mark.slow
def test_a_new_class_choice_is_projected_and_clickable_points_name_their_images():
    """Slow on first use (UMAP import and fit, about 30 s); cached on disk afterwards."""
    from interp_core.methods.kmex import KINDS

    at = _prototypes_page()
    at.multiselect(key="kmex-classes-shapes").set_value([0, 6, 12]).run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    assert any("projected once" in i.value for i in at.info)
    figure = __import__("json").loads(at.get("plotly_chart")[0].proto.spec)
    drawn = [t for t in figure["data"] if t.get("customdata")]
    from interp_core.data import dataset_info

    names = dataset_info("shapes").class_names
    assert {t["name"] for t in drawn} == {names[0], names[6], names[12]}
    kinds = {KINDS[int(row[0])] for t in drawn for row in t["customdata"]}
    assert kinds == set(KINDS)


def test_umap_colours_follow_the_colour_words_of_the_class_names(shapes_page):
    import colorsys
    import json

    figure = json.loads(shapes_page.get("plotly_chart")[0].proto.spec)
    drawn = [t for t in figure["data"] if t.get("customdata")]
    hues = {"red": 0, "green": 125, "blue": 222, "yellow": 52}
    colour_of = {}
    for trace in drawn:
        word = trace["name"].split()[0]
        rgb = [int(trace["marker"]["color"][i:i + 2], 16) / 255 for i in (1, 3, 5)]
        hue = colorsys.rgb_to_hls(*rgb)[0] * 360
        assert min(abs(hue - hues[word]), 360 - abs(hue - hues[word])) < 15, (trace["name"], trace["marker"]["color"])
        colour_of.setdefault(trace["name"], set()).add(trace["marker"]["color"])
    assert all(len(c) == 1 for c in colour_of.values())  # one colour per class across kinds
    assert len({next(iter(c)) for c in colour_of.values()}) == len(colour_of)  # and distinct classes differ


def test_clustered_classifier_columns_get_a_zoomed_inset(shapes_page):
    import json

    import numpy as np

    figure = json.loads(shapes_page.get("plotly_chart")[0].proto.spec)
    inset = [t for t in figure["data"] if t.get("xaxis") == "x2"]
    if not inset:  # only when the c_j really overlap at the default zoom
        pytest.skip("c_j points are spread out in this projection")
    def values(v):  # plotly sends numpy arrays as {"dtype", "bdata"} typed arrays
        import base64

        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]) if isinstance(v, dict) else np.asarray(v, float)

    points = np.array([(x, y) for t in inset for x, y in zip(values(t["x"]), values(t["y"]))])
    assert {t["marker"]["symbol"] for t in inset} <= {"x", "triangle-up"}
    assert "xaxis2" in figure["layout"] and np.ptp(points, axis=0).max() > 0
    assert any("c_j" in a.get("text", "") for a in figure["layout"].get("annotations", []))


# ----------------------------------------------------------------------------- sounds (kmex-sounds)


@pytest.fixture(scope="module")
def sounds_page() -> AppTest:
    at = _prototypes_page()
    at.selectbox(key="kmex-model").set_value("kmex-sounds").run(timeout=300)
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    return at


def _player_files(at: AppTest) -> list[str]:
    """The media file id behind every audio player, in page order."""
    return [element.proto.url.rsplit("/", 1)[-1].rsplit(".", 1)[0] for element in at.get("audio")]


def _file_id(wav: bytes) -> str:
    """The id Streamlit stores a WAV under: a hash of its bytes, so equal ids mean the player plays these bytes."""
    from streamlit.runtime.memory_media_file_storage import _calculate_file_id

    return _calculate_file_id(wav, "audio/wav")


def test_sounds_page_predicts_and_tabulates_as_the_library(sounds_page):
    at = sounds_page
    model, test = _library("sounds")
    names = test.info.class_names
    index = at.number_input(key="kmex-sounds-index").value
    expected = {k: names[v] for k, v in _expected_predictions(model, test.inputs([index])[0]).items()}
    assert _shown_predictions(at) == expected and expected["CNN"] == names[int(test.labels[index])]
    assert len(at.get("plotly_chart")) == 1 and any("10 prototypes per class" in c.value for c in at.caption)
    cosines, accuracies = (d.value.set_index(d.value.columns[0]) for d in _tables(at))
    with torch.no_grad():
        y = torch.from_numpy(test.labels)
        outputs = [model.block_outputs(test.inputs(np.arange(i, min(i + 100, len(test))))) for i in range(0, len(test), 100)]
        z = torch.cat([model.backbone.pool(o[-1]).flatten(1) for o in outputs])
        b234 = torch.cat([model.explain_encoder(None, "b234", outputs=o).prediction for o in outputs])
    cnn, kmex = (float((scores.argmax(1) == y).float().mean()) for scores in (model.classifier(z), model.kmex.predict_scores(z)))
    assert accuracies.loc["CNN", "test"] == pytest.approx(cnn) and accuracies.loc["KMEx (K/C=10)", "test"] == pytest.approx(kmex)
    assert accuracies.loc["B234", "test"] == pytest.approx(float((b234 == y).float().mean()))
    assert abs(kmex - cnn) <= 0.01  # the acceptance: KMEx within a point of the CNN
    assert cosines.loc["KMEx (K/C=10)", "class"] > cosines.loc["CNN classifier columns c_j", "class"]  # Table 1's pattern
    assert any("from 1600 training clips" in c.value and "400 test clips" in c.value for c in at.caption)


def test_sounds_page_plays_the_prototypes_clips_and_the_patches_inside_their_cells(sounds_page):
    from interp_core.data import load_split
    from interp_core.data.time_frequency import HOP_LENGTH, N_FFT, NUM_SAMPLES, stft_complex
    from interp_core.methods.kmex import listening
    from tests.methods.kmex.test_kmex_sounds import _decode

    at = sounds_page
    model, test = _library("sounds")
    train = load_split("sounds", "train")
    label = at.selectbox(key="kmex-listen-sounds").value
    index = at.number_input(key="kmex-sounds-index").value
    clips = listening.prototype_clips(model, train, label)
    patches = listening.patch_sounds(model, train, "b4", label)
    expected = [listening.clip_wav(test, index)] + [w for p in clips for w in p.wavs] + [p.wav for p in patches]
    assert _player_files(at) == [_file_id(w) for w in expected]  # the input, each prototype's clips, each patch
    nearest, _ = listening.nearest_clips(model, train, label)
    assert [p.clips for p in clips] == nearest.tolist() and all(len(p.wavs) == 3 for p in clips)
    for clip, wav in zip(nearest.reshape(-1), [w for p in clips for w in p.wavs]):
        np.testing.assert_allclose(_decode(wav), train.data[clip], atol=1.5 / 32768)
    for patch in patches:
        f0, t0, f1, t1 = patch.box
        wave = _decode(patch.wav)
        assert wave.shape == (NUM_SAMPLES,) and np.abs(wave).max() > 0
        start, stop = t0 * HOP_LENGTH - N_FFT // 2, (t1 - 1) * HOP_LENGTH + N_FFT // 2
        assert not wave[: max(0, start)].any() and not wave[stop + 1 :].any()  # silent outside the patch's frames
        power = stft_complex(torch.from_numpy(wave)).abs().pow(2).numpy()
        assert power[max(0, f0 - 3) : f1 + 3].sum() > 0.999 * power.sum()  # and outside its bins, but window leakage
