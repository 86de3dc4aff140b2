"""B-cos view: top classes, coloured weight maps W(x), contribution maps, Δ-explanations, neurons,
the B ablation, B-cosified models beside their origin, and the standard classifier with post-hoc maps."""
import streamlit as st

from app.figures import COLOUR_LEGENDS
from app.figures import probability_text as percent
from app.inputs import input_picker
from app.models import model_picker, view_result
from app.report import Report, map_of, map_png, show_chart, show_map, show_table
from app.shell import guarded, keep_widget_state
from app.url import UrlState

st.title("B-cos networks")
st.caption("In explanation mode a B-cos network is exactly the dynamic linear map W(x)·x (B-cos Eq. 13): the "
           "coloured map shows the weights W(x) that align with the input, the contribution map x·W(x) (Eq. 15) "
           "sums to the logit minus its bias.")

from interp_core.methods.bcos import figures, views  # noqa: E402


def ablation_localisation_panel(recipes: list[str], report) -> None:
    """Accuracy and localisation per B (B-cos Fig. 5), computed on request (the pointing game caches per grid)."""
    from interp_core.evaluation.ablation import localisation_per_setting

    c1, c2 = st.columns([1, 2])
    n_grids = int(c1.number_input("Grids per B (3×3)", 2, 500, 50, step=10, key="bcos-ablation-grids",
                                  help="The pointing game of the bcos explanations of each B on this many 3×3 grids; "
                                       "scores are cached per grid, so a repeated run comes back at once."))
    if not (c2.button("Compute localisation per B", key="bcos-ablation-run") or st.session_state.get("bcos-ablation-done") == (tuple(recipes), n_grids)):
        st.caption(f"Localisation per B: the pointing game of each model's B-cos explanations on {n_grids} grids "
                   "(about 0.1–0.3 s per grid and model on 2 CPU cores).")
        return
    bar = st.progress(0.0, text="Pointing game per B…")
    rows = localisation_per_setting(list(recipes), "bcos", views.b_value, n_grids,
                                    progress=lambda p: bar.progress(min(1.0, p.fraction), text=p.message))
    bar.empty()
    st.session_state["bcos-ablation-done"] = (tuple(recipes), n_grids)
    show_chart(st, figures.ablation_figure(rows), "B ablation: accuracy and localisation (Fig. 5)", key="bcos-ablation-chart", report=report)
    show_table(st, figures.ablation_table(rows), "B ablation: accuracy and localisation per B", report=report, key="bcos-ablation")


report, url = Report("B-cos networks"), UrlState()
# The neuron explorer's choice survives runs that skip it (e.g. Gallery -> Upload while no file is chosen).
keep_widget_state("bcos-layer-", "bcos-channel-")

with guarded("The B-cos view"):
    from interp_core.store.catalog import ready_models
    from interp_core.visualize import input_map, map_base, signed_map, weights_map

    ready = set(ready_models())
    name, loaded = model_picker([n for n in views.bcos_recipes() if n in ready], "bcos-model",
                                "No B-cos model is trained yet: train one on the Home page.", url=url)
    names = loaded.card.class_names
    sample = input_picker(loaded.recipe.dataset, key="bcos", model=name, url=url)
    if sample is None:
        report.offer()
        st.stop()
    x, audio = sample.x, loaded.card.modality == "audio"
    picture = map_base(x, audio)  # audio maps are drawn over the spectrogram
    top = view_result(views.top_classes, name, x)
    st.subheader("Top-5 classes")
    show_table(st, {"class": [names[c] for c, _ in top], f"probability ({loaded.card.output})": [percent(p) for _, p in top],
                    "value": [p for _, p in top]}, f"top-5 classes of {name}", report=report, key="bcos-top5",
               formats={"value": "hidden"})
    st.caption(f"{name} predicts **{names[top[0][0]]}** ({percent(top[0][1])}). With a sigmoid output every class has "
               "its own probability, so they need not sum to 100%.")
    classes = list(range(len(names)))
    url.follow("bcos-input", (name, sample.source), "class")
    target = st.selectbox("Explain class", classes, index=url.index("class", classes, top[0][0]), format_func=lambda c: names[c],
                          key=f"bcos-class-{name}-{sample.source}")
    url.share("class", int(target))
    exp = view_result(views.explain, name, x, (int(target),), spinner="Explaining…")[0]
    p_target = dict(top).get(int(target))
    who = f"{name} · class {names[target]}" + (f" ({percent(p_target)})" if p_target is not None else "")
    c1, c2, c3 = st.columns(3)
    show_map(c1, map_of(input_map(picture, audio)), f"{sample.source} · predicted {names[top[0][0]]}", report=report, key="bcos-png-input")
    show_map(c2, map_of(weights_map(exp, audio)), f"W(x) for {who}", report=report, key="bcos-png-w")
    c2.caption(COLOUR_LEGENDS["rgba"])
    show_map(c3, map_of(signed_map(exp.attribution, picture, audio, "contribution")),
             f"contributions x·W(x) for {who}: sum {float(exp.attribution.sum()):.2f} = logit − bias", report=report, key="bcos-png-c")
    st.caption(f"logit {exp.score:.3f}; contribution map total {float(exp.attribution.sum()):.3f}")

    st.subheader("Δ-explanation of the two most likely classes")
    a, b = top[0][0], top[1][0]
    d = view_result(views.delta, name, x, a, b, spinner="Explaining the difference…")
    d1, d2 = st.columns(2)
    show_map(d1, map_of(weights_map(d, audio)), f"W(x) of the evidence for {names[a]} over {names[b]}", report=report, key="bcos-png-dw")
    show_map(d2, map_of(signed_map(d.attribution, picture, audio, "contribution")),
             f"red: for {names[a]} · blue: for {names[b]} (logit difference {d.score:.2f})", report=report, key="bcos-png-dc")

    st.subheader("Neuron explorer")
    layers, (n1, n2) = dict(views.neuron_layers(loaded)), st.columns(2)
    layer_names = list(layers)
    layer = n1.selectbox("Layer", layer_names, index=url.index("layer", layer_names, max(0, len(layer_names) - 3)),
                         key=f"bcos-layer-{name}")
    url.share("layer", layer)
    channels = layers[layer]
    channel = int(n2.number_input(f"Channel (0–{channels - 1})", 0, max(0, channels - 1), url.number("channel", 0, max(0, channels - 1), 0),
                                  key=f"bcos-channel-{name}-{layer}"))
    url.share("channel", channel)
    ne = view_result(views.neuron, name, x, layer, channel, spinner="Explaining the neuron…")
    n1, n2 = st.columns(2)
    show_map(n1, map_of(weights_map(ne, audio)), f"W(x) of {layer}[{channel}]: activation {ne.score:.3f}", report=report, key="bcos-png-nw")
    show_map(n2, map_of(signed_map(ne.attribution, picture, audio, "activation")),
             f"contributions to {layer}[{channel}]", report=report, key="bcos-png-nc")
    st.caption(f"Neuron {layer}[{channel}] at {view_result(views.neuron_position_text, name, layer, ne.extras.get('position'))}.")
    if st.toggle("Show its most activating test images", key="bcos-top-images"):
        shown = view_result(views.top_activating_pictures, name, layer, channel, spinner="Finding the most activating test images…")
        for col, (picture_i, e) in zip(st.columns(len(shown) or 1), shown):
            col.image(picture_i, width=100)
            col.image(map_png("rgba", rgba=e.rgba, width=1.2), caption=f"#{e.extras['index']}: activation {e.score:.2f}", width=100)

    if loaded.recipe.dataset == views.ablation_dataset():
        st.subheader("B ablation")
        ablation, untrained = views.ablation_entries(), views.untrained_ablation()
        if untrained:
            st.info(views.untrained_ablation_text(untrained, len(ablation)))
        for col, entry in zip(st.columns(len(ablation) or 1), ablation):
            e = view_result(views.explain, entry.recipe, x, (int(target),), spinner="Explaining…")[0]
            accuracy = "n/a" if entry.accuracy is None else percent(entry.accuracy)
            show_map(col, map_of(weights_map(e, width=1.8)),
                     f"B={entry.b:g} · W(x) for {names[target]} · test accuracy {accuracy} (recorded at training, "
                     f"{entry.trained or 'date unknown'})", report=report, key=f"bcos-png-b{entry.b:g}")
        if ablation:
            ablation_localisation_panel([e.recipe for e in ablation], report)

    st.subheader("B-cosification: trained classifiers converted into B-cos networks")
    show_table(st, views.bcosified_table(), "B-cosified models and where they come from", report=report, key="bcos-bcosified")
    if (origin := views.bcosified_origin(name)) is not None:
        before, after = view_result(views.before_after, name, x, int(target), spinner="Reading the original as a B = 1 B-cos network…")
        panels = [(e, who, kind) for e, who in ((before, f"{origin['base']} read as B = 1"), (after, name)) for kind in ("rgba", "signed")]
        for i, (col, (e, who, kind)) in enumerate(zip(st.columns(4), panels)):
            show_map(col, map_png(kind, e.attribution.numpy(), rgba=e.rgba, base=picture, audio=audio, scale="contribution"),
                     f"{who} · " + ("W(x)" if kind == "rgba" else "contributions x·W(x)"), report=report, key=f"bcos-png-bcosified-{i}")
        bias, (s0, s1) = loaded.model.logit_layer.bias, (float(e.attribution.sum()) for e in (before, after))
        st.caption(f"Left: {origin['base']} read as a B = 1 B-cos network (B-cosification Sec. 3.2.1), the same function: contributions "
                   f"sum {s0:.3f} of logit − bias {before.score - bias:.3f}, the rest is its biases'. Right: converted and fine-tuned: "
                   f"sum {s1:.3f} = logit − bias {after.score - bias:.3f}.")
        show_chart(st, figures.fine_tuning_figure(views.fine_tuning_curves(name)), f"fine-tuning of {name}", key="bcos-fine-tuning", report=report)

    st.subheader("The standard classifier with post-hoc explanations")
    baseline = views.baseline_recipe(name)
    if baseline not in ready:
        st.info(f"{baseline} is not trained yet: train it on the Home page.")
    else:
        maps = view_result(views.posthoc_beside, baseline, x, int(target), spinner="Post-hoc explanations of the standard classifier…")
        for col, (method, e) in zip(st.columns(len(maps)), maps.items()):
            show_map(col, map_of(signed_map(e.attribution, picture, audio)), f"{baseline} · {method} for {names[target]}",
                     report=report, key=f"bcos-png-{method}")
report.offer()
