"""Q-SENN: each class by ~5 ternary features, each feature named (CLIP and attributes), local explanations, Tables 1/4/6."""
import streamlit as st

from app.components import (
    Report,
    UrlState,
    cached_model,
    guarded,
    input_picker,
    map_png,
    model_picker,
    percent,
    plotly_config,
    show_map,
    show_table,
    tensor_from_key,
    tensor_key,
)

st.title("Q-SENN")
st.caption("Q-SENN explains every class by about five features with one shared weight magnitude, +α or −α. Each "
           "feature is named twice: by a CLIP model (the prompt whose similarity goes with the feature's activation, "
           "Eqs. 11-13) and by the dataset's attribute annotations (Eq. 9); Table 6 checks one against the other.")

from interp_core.methods.qsenn import views  # noqa: E402

# Every cached function takes the model's weights fingerprint (and the CLIP choice), so retrained weights
# never reuse old results.


@st.cache_data(show_spinner="Naming the features through CLIP (embeds the training set once, then cached)…")
def cached_naming(name: str, fingerprint: str, clip: tuple):
    return views.feature_naming(cached_model(name), views.ClipChoice(*clip))


@st.cache_data(show_spinner="Finding the most activating training images…", max_entries=64)
def cached_class_features(name: str, fingerprint: str, clip: tuple, c: int):
    return views.class_features(cached_model(name), cached_naming(name, fingerprint, clip), c)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_cell(name: str, fingerprint: str, clip: tuple, c: int, j: int):
    return views.feature_on_class(cached_model(name), cached_naming(name, fingerprint, clip), c, j)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_predictions(name: str, fingerprint: str, x_key: tuple):
    return views.predictions(cached_model(name), tensor_from_key(*x_key))


@st.cache_data(show_spinner="Explaining…", max_entries=64)
def cached_local(name: str, fingerprint: str, x_key: tuple, classes: tuple):
    return views.explain_local(cached_model(name), tensor_from_key(*x_key), classes)


@st.cache_data(show_spinner="Computing Tables 1/4 (every model of the family on train and test; minutes the first time)…")
def cached_tables(dataset: str, fingerprints: tuple):
    return views.qsenn_tables(dataset)


from interp_core.store.recipes import get_recipe  # noqa: E402

report = Report("Q-SENN")
url = UrlState()
name, loaded = model_picker(views.qsenn_recipes(), "qsenn-model",
                            "No Q-SENN model is trained yet: train one on the Home page (or `python -m interp_core train qsenn-shapes`).",
                            url=url)
model, info = loaded.model, loaded.info
dataset, fp, names = loaded.recipe.dataset, loaded.card.fingerprint, loaded.info.class_names
alpha = model.alpha
st.caption(f"`{name}`: {model.n_features} features, {int((model.decision_weight != 0).sum())} non-zero weights "
           f"for {model.num_classes} classes" + (f", all ±α with α = {alpha:.3f}" if alpha else " (real-valued)")
           + f" ({loaded.source} checkpoint).")

with st.expander("Which CLIP model names the features"):
    st.caption("Default: `clip-shapes`, trained by our recipe on the shapes captions. A pretrained open_clip model is "
               "used instead when its weights are a local file, or are in the local Hugging Face cache (nothing downloads).")
    arch = st.text_input("open_clip architecture (e.g. ViT-B-32)", key="qsenn-clip-model").strip()
    weights = st.text_input("Local weights file", key="qsenn-clip-weights").strip()
    tag = st.text_input("…or a pretrained tag in the local cache (e.g. openai)", key="qsenn-clip-tag").strip()
clip = ("clip-shapes", arch or None, weights or None, tag or None) if (arch or weights or tag) else ("clip-shapes", None, None, None)
naming = None
with guarded("Naming the features"):
    try:
        views.ClipChoice(*clip)
    except ValueError as err:
        st.error(str(err))
        clip = ("clip-shapes", None, None, None)
    naming = cached_naming(name, fp, clip)
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
        features = cached_class_features(name, fp, clip, int(c))
        st.caption("Each feature with its sign, its best CLIP label (A_clip value, and its share of the strongest feature's; "
                   "*weak* when it is in Fig. 6's lowest bin) and its best attribute (A_gt, and Eq. 10's r), shown through its "
                   "five most activating training images: the feature's colour marks where its map fires.")
        show_table(st, [{"feature": f"f{f.feature}", "sign": f.sign, "CLIP label": f.clip_label, "a_clip": f.clip_value,
                       "name strength": f.clip_strength, "weak name": f.weak, "attribute label": f.attribute_label,
                       "A_gt": f.attribute_value, "r": f.attribute_r, "classes using it": f.n_classes} for f in features],
                   f"features of class {names[int(c)]}", report=section, key=f"qsenn-class-{dataset}-features", column_config={
                         "a_clip": st.column_config.NumberColumn(format="%.4f"),
                         "name strength": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f"),
                         "A_gt": st.column_config.NumberColumn(format="%.3f"), "r": st.column_config.NumberColumn(format="%.2f")})
        for f in features:
            text, pictures = st.columns([1, 3])
            label = f"<span style='color:#999'><i>{f.clip_label}</i></span> · weak name" if f.weak else f"**{f.clip_label}**"
            text.markdown(f"<span style='color:{f.color}'>■</span> **f{f.feature} ({f.sign}α)**  \n"
                          f"CLIP: {label} ({f.clip_value:.4f}, {f.clip_strength:.0%} of the strongest)  \n"
                          f"attribute: **{f.attribute_label}** (A_gt {f.attribute_value:.3f}, r {f.attribute_r:.2f})  \n"
                          f"used by {f.n_classes} classes", unsafe_allow_html=True)
            pictures.image(f.images, caption=[f"train #{i}" for i in f.indices], width=96)

    st.header("The whole decision layer")
    with guarded("Drawing the matrix"):
        st.caption("Classes × features (red +α, blue −α, grey 0), features sorted by how many classes use them. Click a "
                   "cell to see that feature on that class.")
        key = f"qsenn-matrix-{name}"
        matrix = views.matrix_figure(loaded, naming)
        event = st.plotly_chart(matrix, on_select="rerun", selection_mode="points", key=key, config=plotly_config(f"{name}-decision-layer"))
        section.plotly(matrix, f"decision layer of {name}: classes × features")
        clicked = views.clicked_cell(event.selection.points if event else [])
        order = views.feature_order(model.decision_weight.detach())
        default_j = clicked[1] if clicked else (model.class_features(int(c)) or order)[0]
        left, right = st.columns(2)
        cell_c = left.selectbox("Cell class", list(range(info.num_classes)), index=clicked[0] if clicked else int(c),
                                format_func=lambda i: names[i], key=f"qsenn-cell-class-{dataset}-{clicked}")
        cell_j = right.selectbox("Cell feature", order, index=order.index(default_j), key=f"qsenn-cell-feature-{dataset}-{clicked}",
                                 format_func=lambda j: views.feature_title(naming, j))
        cell = cached_cell(name, fp, clip, int(cell_c), int(cell_j))
        v = cell["view"]
        st.markdown(f"**{views.feature_title(naming, v.feature)}** on **{names[int(cell_c)]}**: weight {v.weight:+.3f}; mean "
                    f"activation {cell['class_mean']:.3f} on the class's training images vs {cell['other_mean']:.3f} on the others. "
                    "Its most activating training images of this class:")
        st.image(v.images, caption=[f"train #{i}" for i in v.indices], width=96)


class_and_decision_layer()

st.header("Local explanation: why A and not B")
with guarded("Explaining the input"):
    sample = input_picker(dataset, key=f"qsenn-{dataset}", model=name, url=url)
    if sample is not None:
        x = sample.x.float().contiguous()
        x_key = tensor_key(x)
        probs = cached_predictions(name, fp, x_key)
        ranked = [int(i) for i in probs.argsort()[::-1]]
        predicted = ranked[0]
        picture, text = st.columns([1, 3])
        truth = f" · true class {names[sample.label]}" if sample.label is not None else ""
        picture.image(sample.display, caption=sample.source + truth, width=128)
        text.markdown(f"**Predicted: {names[predicted]}** ({percent(probs[predicted])})")
        url.follow("qsenn-input", (name, sample.source), "other")
        other = text.selectbox("Compare with class (most likely first)", ranked[1:], index=url.index("other", ranked[1:]),
                               format_func=lambda i: f"{names[i]} ({percent(probs[i])})",
                               key=f"qsenn-other-{dataset}-{sample.source}")
        url.share("other", int(other))
        a, b = cached_local(name, fp, x_key, (predicted, int(other)))
        columns = st.columns(2)
        audio = info.kind == "audio"
        import numpy as np

        base = np.asarray(x, dtype=np.float32).reshape(x.shape[-2], x.shape[-1]) if audio else sample.display
        for k, (column, view) in enumerate(zip(columns, (a, b))):
            bars = views.contribution_figure(view, naming, names[view.target])
            column.plotly_chart(bars, key=f"qsenn-bars-{view.target}", config=plotly_config(f"qsenn-{names[view.target]}"))
            report.plotly(bars, f"contributions to {names[view.target]}")
            show_map(column, map_png("signed", view.attribution_map, base=base, audio=audio, scale="contribution"),
                     f"Σ w·M for {names[view.target]} ({percent(view.probability)}) · {name}", report=report, key=f"qsenn-png-{k}")
            column.image([view.overlays[j] for j in view.class_features], width=110,
                         caption=[views.feature_title(naming, j) for j in view.class_features])
        difference = views.difference_figure(a, b, naming, names)
        st.plotly_chart(difference, key="qsenn-difference", config=plotly_config("qsenn-difference"))
        report.plotly(difference, f"why {names[a.target]} and not {names[b.target]}")

st.header("Metrics")
with guarded("Computing Table 6"):
    st.markdown(f"**Table 6** · the CLIP names ({views.ClipChoice(*clip).label}) against the attribute ranking A_gt, "
                f"over {len(naming.a_clip)} features and {len(naming.concepts)} attributes")
    show_table(st, naming.table6(), "Table 6", report=report, key="qsenn-table6", column_config={
        "pos_full": st.column_config.NumberColumn("pos_full ↓", format="%.2f"),
        "pos_pred": st.column_config.NumberColumn("pos_pred ↓", format="%.2f"),
        "pos_pred_rel": st.column_config.NumberColumn("pos_pred_rel ↑", format="percent")})
    st.markdown("**Fig. 6** · pos_pred_rel of the features in four evenly sized bins of their alignment value max(a_clip)")
    fig6 = views.certainty_figure(naming)
    st.plotly_chart(fig6, key="qsenn-fig6", config=plotly_config("qsenn-fig6"))
    report.plotly(fig6, "Fig. 6: pos_pred_rel per alignment bin")
with guarded("Computing Tables 1/4"):
    from interp_core.store.catalog import checkpoint_fingerprint, checkpoint_status  # noqa: E402

    st.markdown("**Tables 1/4** · dense, glm-saga5, SLDD and Q-SENN from the same dense model, computed now")
    for data in ("shapes", "shapes-spurious"):
        recipe_name = f"qsenn-{data}"
        if checkpoint_status(recipe_name) == "missing":
            st.caption(f"`{recipe_name}` is not trained.")
            continue
        recipe = get_recipe(recipe_name)
        prints = tuple(checkpoint_fingerprint(n) for n in (recipe_name, recipe.dense, *recipe.compare))
        if not views.tables_cached(data) and not st.toggle(f"Compute Tables 1/4 on {data}", key=f"qsenn-tables-{data}"):
            continue
        tables = cached_tables(data, prints)
        st.markdown(f"*{data}*" + (f" (not trained: {', '.join(tables['missing'])})" if tables["missing"] else ""))
        show_table(st, tables["rows"], f"Tables 1/4 on {data}", report=report, key=f"qsenn-tables-df-{data}", column_config={
            "accuracy": st.column_config.NumberColumn(format="percent"),
            "diversity_at_5": st.column_config.NumberColumn("diversity@5", format="percent"),
            "dependence": st.column_config.NumberColumn("dependence γ", format="percent"),
            "alignment_r": st.column_config.NumberColumn("alignment r", format="%.2f"),
            "binary_features": st.column_config.NumberColumn("binary features", format="percent"),
            "nonzero_per_class": st.column_config.NumberColumn("features / class", format="%.1f"),
            "n_features": st.column_config.NumberColumn("total features")})
report.offer()
