"""AppTest of the Q-SENN view on the shipped models: the page's numbers against the library's."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from page_runner import open_page
from streamlit.testing.v1 import AppTest


@pytest.fixture(scope="module")
def qsenn_page() -> AppTest:
    """One rendered page for the read-only checks (each rerun costs seconds)."""
    return open_page("qsenn", timeout=600, interactive=True)


@pytest.fixture(scope="module")
def library():
    from interp_core.data import load_split
    from interp_core.methods.qsenn import views
    from interp_core.store import load_model

    loaded = load_model("qsenn-shapes", train_if_missing=False, show_bar=False)
    return loaded, views.feature_naming(loaded), load_split("shapes", "test")


def _figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _no_errors(at: AppTest) -> None:
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]


def test_the_class_view_lists_the_classes_features_with_their_signs_and_names(qsenn_page, library):
    at = qsenn_page
    _no_errors(at)
    loaded, naming, _ = library
    weight = loaded.model.decision_weight.detach()
    table = at.dataframe[0].value
    used = loaded.model.class_features(0)
    assert list(table["feature"]) == [f"f{j}" for j in used] and len(used) == int((weight[0] != 0).sum())
    assert list(table["sign"]) == ["+" if weight[0, j] > 0 else "−" for j in used]
    assert list(table["CLIP label"]) == [naming.clip_label[j] for j in used]
    assert list(table["attribute label"]) == [naming.attribute_label[j] for j in used]
    assert np.allclose(table["a_clip"], naming.a_clip[used].max(1))
    assert np.allclose(table["A_gt"], naming.a_gt[used].max(1))
    assert list(table["classes using it"]) == [int((weight[:, j] != 0).sum()) for j in used]
    assert ((table["name strength"] >= 0) & (table["name strength"] <= 1)).all()


def test_the_matrix_draws_every_weight_with_features_sorted_by_use(qsenn_page, library):
    loaded, _, _ = library
    weight = loaded.model.decision_weight.detach().numpy()
    matrix = next(f for f in _figures(qsenn_page) if any(t.get("name") == "weight +" for t in f["data"]))
    cells = {(int(c), int(j)): w for t in matrix["data"] if t.get("customdata") for c, j, w in t["customdata"]}
    assert len(cells) == weight.size
    assert all(np.isclose(w, weight[c, j]) for (c, j), w in cells.items())
    uses = (weight != 0).sum(0)
    column = {int(j): x for t in matrix["data"] if t.get("customdata") for (_, j, _), x in zip(t["customdata"], t["x"])}
    by_column = [j for j, _ in sorted(column.items(), key=lambda kv: kv[1])]
    assert list(uses[by_column]) == sorted(uses, reverse=True)


def test_the_local_explanation_is_the_explainers(qsenn_page, library):
    from interp_core.methods.base import get_explainer

    loaded, _, test = library
    names = test.info.class_names
    x = test.inputs([0])[0]
    with torch.no_grad():
        logits = loaded.model(x.unsqueeze(0))[0]
    predicted = int(logits.argmax())
    assert any(f"Predicted: {names[predicted]}" in m.value for m in qsenn_page.markdown)
    runner_up = int(logits.argsort(descending=True)[1])
    bars = {f["layout"]["title"]["text"].split(":")[0]: f["data"][0] for f in _figures(qsenn_page)
            if f["data"] and f["data"][0].get("type") == "bar" and "logit(" not in f["layout"]["title"]["text"]}
    assert set(bars) == {names[predicted], names[runner_up]}  # the second class defaults to the runner-up
    for c in (predicted, runner_up):
        e = get_explainer("qsenn", loaded).explain(x, [c])[0]
        shown = dict(zip((row[0] for row in bars[names[c]]["customdata"]), bars[names[c]]["x"]))
        assert sorted(shown) == sorted(e.extras["class_features"])
        assert all(np.isclose(v, e.contributions[j], atol=1e-5) for j, v in shown.items())
        assert np.isclose(sum(e.contributions) + e.extras["bias"], float(logits[c]), atol=1e-4)


def test_table6_holds_the_library_validation(qsenn_page, library):
    from interp_core.methods.clip.alignment import optimal_static_baseline, random_baseline, validate_alignment

    _, naming, _ = library
    table = qsenn_page.dataframe[1].value.set_index("method")
    ours = validate_alignment(naming.a_clip, naming.a_gt, naming.groups).summary()
    static = optimal_static_baseline(naming.a_gt, naming.groups).summary()
    for method, expected in (("CLIP alignment (Eqs. 11-13)", ours), ("Static w/ min. pos_full", static),
                             ("Random", random_baseline(naming.groups))):
        assert tuple(table.loc[method, ["pos_full", "pos_pred", "pos_pred_rel"]]) == pytest.approx(
            (expected["pos_full"], expected["pos_pred"], expected["pos_pred_rel"]))
    fig6 = next(f for f in _figures(qsenn_page) if f["data"] and f["data"][0].get("type") == "box")
    assert sum(len(t["y"]) for t in fig6["data"]) == len(naming.a_clip)


def test_another_class_and_a_clicked_cell_show_their_features(library):
    loaded, _, _ = library
    at = open_page("qsenn", timeout=600)
    at.selectbox(key="qsenn-class-shapes").set_value(7).run()
    _no_errors(at)
    assert list(at.dataframe[0].value["feature"]) == [f"f{j}" for j in loaded.model.class_features(7)]
    j = loaded.model.class_features(7)[-1]
    at.selectbox(key="qsenn-cell-class-shapes-None").set_value(7).run()
    at.selectbox(key="qsenn-cell-feature-shapes-None").set_value(j).run()
    _no_errors(at)
    w = float(loaded.model.decision_weight.detach()[7, j])
    assert any(f"weight {w:+.3f}" in m.value and loaded.info.class_names[7] in m.value for m in at.markdown)


def test_a_bad_upload_shows_a_message_and_the_rest_of_the_page_stays():
    at = open_page("qsenn", timeout=600)
    at.radio(key="qsenn-shapes-source").set_value("Upload").run()
    at.file_uploader(key="qsenn-shapes-upload").set_value(("notes.png", b"this is text, not an image", "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1 and "not an image" in at.error[0].value.lower(), [e.value for e in at.error]
    assert not any("Predicted:" in m.value for m in at.markdown)
    assert len(at.dataframe) >= 2  # the class table and Table 6 remain


@pytest.mark.slow
def test_table6_from_scratch_matches_the_page(qsenn_page, library):
    """A_clip and A_gt recomputed here from the library's pieces (no view cache), then Table 6."""
    from interp_core.data import load_split
    from interp_core.data.captions import concept_prompts
    from interp_core.methods.clip.alignment import ClipFeatureAlignment, validate_alignment
    from interp_core.methods.qsenn.metrics import alignment_matrix, extract_features
    from interp_core.store import load_model

    loaded, _, _ = library
    train = load_split("shapes", "train")
    clip = load_model("clip-shapes", train_if_missing=False).model
    features = extract_features(loaded.model, train).numpy()
    a_clip = ClipFeatureAlignment().fit(features, clip.embed_split(train), clip.prompt_embeddings(concept_prompts())).alignment_
    a_gt = alignment_matrix(features, train.extras["attributes"])
    groups = [n.split("::")[0] for n in concept_prompts()]
    expected = validate_alignment(a_clip, a_gt, groups).summary()
    row = qsenn_page.dataframe[1].value.set_index("method").loc["CLIP alignment (Eqs. 11-13)"]
    assert (row["pos_full"], row["pos_pred"], row["pos_pred_rel"]) == pytest.approx(
        (expected["pos_full"], expected["pos_pred"], expected["pos_pred_rel"]), abs=1e-6)


@pytest.mark.slow
def test_tables_1_and_4_hold_the_eval_metrics():
    from interp_core.store import evaluate_recipe

    from interp_core.methods.qsenn.views import tables_cached

    at = open_page("qsenn", timeout=900)
    if not tables_cached("shapes"):  # computed on request the first time, shown at once afterwards
        at.toggle(key="qsenn-tables-shapes").set_value(True).run()
    _no_errors(at)
    frame = next(d.value for d in at.dataframe if "model" in d.value.columns).set_index("model")
    metrics = evaluate_recipe("qsenn-shapes")
    for row, prefix in (("Dense", "dense_"), ("glm-saga5", "glm_saga5_"), ("SLDD", "sldd_"), ("Q-SENN", "")):
        assert frame.loc[row, "accuracy"] == pytest.approx(metrics[prefix + "accuracy"])
        assert frame.loc[row, "dependence"] == pytest.approx(metrics[prefix + "dependence"])
    assert frame.loc["Q-SENN", "nonzero_per_class"] == pytest.approx(5.0)


def test_the_caption_gives_the_per_class_range_of_non_zero_weights(qsenn_page, library):
    from interp_core.methods.qsenn.references import nonzero_per_class

    loaded, _, _ = library
    low, high = nonzero_per_class(loaded.model.decision_weight)["nonzero_per_class_range"]
    counts = (loaded.model.decision_weight.detach() != 0).sum(1)
    assert (low, high) == (int(counts.min()), int(counts.max()))
    assert any(f"Per class: {low} to {high} non-zero weights" in c.value for c in qsenn_page.caption)


def test_a_second_visit_builds_no_figure_again(monkeypatch):
    """The decision layer, the contribution bars, why A and not B and Fig. 6 are kept per model, naming and input
    (``app.report.built_figure``): a second visit builds none of them again and shows the same figures."""
    from collections import OrderedDict

    from app import report
    from interp_core.methods.qsenn import views

    monkeypatch.setattr(report, "_FIGURES", OrderedDict())  # nothing kept from the other tests
    built: list[str] = []
    for name in ("matrix_figure", "contribution_figure", "difference_figure", "certainty_figure"):
        monkeypatch.setattr(views, name, lambda *a, _build=getattr(views, name), _name=name, **k: built.append(_name) or _build(*a, **k))
    first = _figures(open_page("qsenn", timeout=600))
    assert sorted(built) == ["certainty_figure", "contribution_figure", "contribution_figure", "difference_figure", "matrix_figure"]
    built.clear()
    again = _figures(open_page("qsenn", timeout=600))
    assert built == [] and again == first
