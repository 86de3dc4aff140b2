"""Q-SENN: each class by ~5 ternary features, each feature named (CLIP and attributes), local explanations, Tables 1/4/6."""
import streamlit as st

from app.clip_widgets import clip_picker
from app.figures import probability_text as percent
from app.inputs import input_picker, sample_caption
from app.models import model_picker, view_result
from app.report import Report, built_figure, interactive_charts, map_png, picture_key, show_chart, show_map, show_table
from app.shell import guarded
from app.url import UrlState

st.title("Q-SENN")
st.caption("Q-SENN explains every class by about five features with one shared weight magnitude, +α or −α. Each "
           "feature is named twice: by a CLIP model (the prompt whose similarity goes with the feature's activation, "
           "Eqs. 11-13) and by the dataset's attribute annotations (Eq. 9); Table 6 checks one against the other.")

from interp_core.methods.qsenn import views  # noqa: E402
from interp_core.methods.qsenn.references import nonzero_per_class  # noqa: E402
from interp_core.store.catalog import checkpoint_fingerprint  # noqa: E402


@st.cache_data(show_spinner="Computing Tables 1/4 (every model of the family on train and test; minutes the first time)…")
def cached_tables(dataset: str, key: str):
    return views.qsenn_tables(dataset)


report = Report("Q-SENN")
url = UrlState()
name, loaded = model_picker(views.qsenn_recipes(), "qsenn-model",
                            "No Q-SENN model is trained yet: train one on the Home page (or `python -m interp_core train qsenn-shapes`).",
                            url=url)
model, info = loaded.model, loaded.info
dataset, fp, names = loaded.recipe.dataset, loaded.card.fingerprint, loaded.info.class_names
per_class = nonzero_per_class(model.decision_weight)
low, high = per_class["nonzero_per_class_range"]
st.caption(f"`{name}`: {model.n_features} features, {int((model.decision_weight != 0).sum())} non-zero weights "
           f"for {model.num_classes} classes" + (f", all ±α with α = {model.alpha:.3f}" if model.alpha else " (real-valued)")
           + f" ({loaded.source} checkpoint). Per class: {low} to {high} non-zero weights ({per_class['classes_below_5_nonzero']} "
           "classes below 5): \"5 per class\" is 5·C in the whole layer (Eq. 3), not 5 in every row.")

clip = clip_picker("qsenn-clip")
named = (name, loaded.card.fingerprint, clip, checkpoint_fingerprint(clip[0]))  # what the naming and its figures depend on
naming = None
with guarded("Naming the features"):
    naming = view_result(views.naming_for, name, clip, spinner="Naming the features through CLIP (embeds the training set once, then cached)…")
if naming is None:
    st.stop()


@st.fragment
def class_and_decision_layer() -> None:
    """The class view and the decision layer, which follows the chosen class: a fragment, so that choosing a
    class or clicking a cell redraws these two sections only, not the local explanation and the metrics."""
    section = report.section("class and decision layer")
    st.header("Global explanation: one class through its features")
    with guarded("Explaining the class"):
        all_classes = list(range(info.num_classes))
        c = st.selectbox("Class", all_classes, index=url.index("class", all_classes), key=f"qsenn-class-{dataset}", format_func=lambda i: names[i])
        url.share("class", int(c))
        features = view_result(views.named_class_features, name, clip, int(c), spinner="Finding the most activating training images…")
        st.caption(f"**{names[int(c)]}**: each feature with its sign, its best CLIP label (A_clip value, and its share of the strongest feature's; "
                   "*weak* when it is in Fig. 6's lowest bin) and its best attribute (A_gt, and Eq. 10's r), shown through its "
                   "five most activating training images: the feature's colour marks where its map fires.")
        show_table(st, views.class_features_table(features), f"features of class {names[int(c)]}", report=section,
                   key=f"qsenn-class-{dataset}-features", formats=views.CLASS_FEATURE_FORMATS)
        for f in features:
            text, pictures = st.columns([1, 3])
            text.markdown(views.feature_caption(f), unsafe_allow_html=True)
            pictures.image(views.gallery_strip(f.images), caption=views.gallery_caption(f.indices), width=100 * len(f.images))

    st.header("The whole decision layer")
    with guarded("Drawing the matrix"):
        st.caption("Classes × features (red +α, blue −α, grey 0), features sorted by how many classes use them. "
                   + ("Click a cell to see that feature on that class." if interactive_charts() else
                      "Choose a cell below to see that feature on that class (or turn on *Interactive charts* in the sidebar and click it)."))
        matrix = built_figure(views.matrix_figure, loaded, naming, key=("qsenn-matrix", *named))
        event = show_chart(st, matrix, f"decision layer of {name}: classes × features",
                           key=f"qsenn-matrix-{name}", report=section, name=f"{name}-decision-layer", on_select=True)
        clicked = views.clicked_cell(event.selection.points if event else [])
        order = views.feature_order(model.decision_weight.detach())
        default_j = clicked[1] if clicked else (model.class_features(int(c)) or order)[0]
        left, right = st.columns(2)
        cell_c = left.selectbox("Cell class", all_classes, index=clicked[0] if clicked else int(c),
                                format_func=lambda i: names[i], key=f"qsenn-cell-class-{dataset}-{clicked}")
        cell_j = right.selectbox("Cell feature", order, index=order.index(default_j), key=f"qsenn-cell-feature-{dataset}-{clicked}",
                                 format_func=lambda j: views.feature_title(naming, j))
        cell = view_result(views.named_feature_on_class, name, clip, int(cell_c), int(cell_j), spinner="Finding the most activating training images…")
        v = cell["view"]
        st.markdown(f"**{views.feature_title(naming, v.feature)}** on **{names[int(cell_c)]}**: weight {v.weight:+.3f}; mean "
                    f"activation {cell['class_mean']:.3f} on the class's training images vs {cell['other_mean']:.3f} on the others. "
                    "Its most activating training images of this class:")
        st.image(views.gallery_strip(v.images), caption=views.gallery_caption(v.indices), width=100 * len(v.images))


class_and_decision_layer()

st.header("Local explanation: why A and not B")
with guarded("Explaining the input"):
    sample = input_picker(dataset, key=f"qsenn-{dataset}", model=name, url=url)
    if sample is not None:
        x = sample.x
        probs = view_result(views.predictions, name, x)
        ranked = [int(i) for i in probs.argsort()[::-1]]
        predicted = ranked[0]
        picture, text = st.columns([1, 3])
        picture.image(sample.display, caption=sample_caption(sample, names), width=128)
        text.markdown(f"**Predicted: {names[predicted]}** ({percent(probs[predicted])})")
        url.follow("qsenn-input", (name, sample.source), "other")
        other = text.selectbox("Compare with class (most likely first)", ranked[1:], index=url.index("other", ranked[1:]),
                               format_func=lambda i: f"{names[i]} ({percent(probs[i])})", key=f"qsenn-other-{dataset}-{sample.source}")
        url.share("other", int(other))
        a, b = view_result(views.explain_local, name, x, (predicted, int(other)), spinner="Explaining…")
        audio = info.kind == "audio"
        base = x.reshape(x.shape[-2], x.shape[-1]).numpy() if audio else sample.display
        shown = (*named, picture_key(x.numpy()))  # the figures below are kept per model, naming and input
        for k, (column, view) in enumerate(zip(st.columns(2), (a, b))):
            bars = built_figure(views.contribution_figure, view, naming, names[view.target], key=("qsenn-bars", *shown, view.target))
            show_chart(column, bars, f"contributions to {names[view.target]}", key=f"qsenn-bars-{view.target}", report=report,
                       name=f"qsenn-{names[view.target]}", width=560)
            show_map(column, map_png("signed", view.attribution_map, base=base, audio=audio, scale="contribution"),
                     f"Σ w·M for {names[view.target]} ({percent(view.probability)}) · {name}", report=report, key=f"qsenn-png-{k}")
            if view.class_features:  # their maps in one picture: one image to send instead of five
                column.image(views.gallery_strip([view.overlays[j] for j in view.class_features]), width=110 * len(view.class_features),
                             caption=" · ".join(views.feature_title(naming, j) for j in view.class_features) + " (left to right)")
        difference = built_figure(views.difference_figure, a, b, naming, names, key=("qsenn-difference", *shown, a.target, b.target))
        show_chart(st, difference, f"why {names[a.target]} and not {names[b.target]}", key="qsenn-difference", report=report, name="qsenn-difference")

st.header("Metrics")
with guarded("Computing Table 6"):
    st.markdown(f"**Table 6** · the CLIP names ({views.ClipChoice(*clip).label}) against the attribute ranking A_gt, "
                f"over {len(naming.a_clip)} features and {len(naming.concepts)} attributes")
    show_table(st, naming.table6(), "Table 6", report=report, key="qsenn-table6", formats=views.TABLE6_FORMATS)
    st.markdown("**Fig. 6** · pos_pred_rel of the features in four evenly sized bins of their alignment value max(a_clip)")
    show_chart(st, built_figure(views.certainty_figure, naming, key=("qsenn-fig6", *named)), "Fig. 6: pos_pred_rel per alignment bin",
               key="qsenn-fig6", report=report, name="qsenn-fig6")
with guarded("Computing Tables 1/4"):
    from interp_core.store.catalog import checkpoint_status  # noqa: E402

    st.markdown("**Tables 1/4** · dense, glm-saga5, SLDD and Q-SENN from the same dense model, computed now")
    for data in ("shapes", "shapes-spurious"):
        if checkpoint_status(f"qsenn-{data}") == "missing":
            st.caption(f"`qsenn-{data}` is not trained.")
            continue
        if not views.tables_cached(data) and not st.toggle(f"Compute Tables 1/4 on {data}", key=f"qsenn-tables-{data}"):
            continue
        tables = cached_tables(data, views.tables_key(data))
        st.markdown(f"*{data}*" + (f" (not trained: {', '.join(tables['missing'])})" if tables["missing"] else ""))
        show_table(st, tables["rows"], f"Tables 1/4 on {data}", report=report, key=f"qsenn-tables-df-{data}",
                   formats=views.TABLES14_FORMATS)
report.offer()
