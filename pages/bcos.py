"""B-cos view: top classes, coloured weight maps W(x), contribution maps, Δ-explanations, neurons,
the B ablation, and the standard classifier with post-hoc maps beside it."""
import streamlit as st

from app.components import (
    Report,
    UrlState,
    cached_model,
    cached_split,
    guarded,
    input_picker,
    keep_widget_state,
    map_png,
    percent,
    show_map,
    show_table,
    tensor_from_key,
    tensor_key,
)
from app.figures import COLOUR_LEGENDS

st.title("B-cos networks")
st.caption("In explanation mode a B-cos network is exactly the dynamic linear map W(x)·x (B-cos Eq. 13): the "
           "coloured map shows the weights W(x) that align with the input, the contribution map x·W(x) (Eq. 15) "
           "sums to the logit minus its bias.")

from interp_core.methods.bcos import views  # noqa: E402

# Every cached function takes the model's weights fingerprint, so retrained weights never reuse old results.


@st.cache_data(show_spinner="Explaining…", max_entries=64)
def explain(name: str, fingerprint: str, x_key: tuple, targets: tuple) -> list:
    return views.explain(cached_model(name), tensor_from_key(*x_key), targets)


@st.cache_data(show_spinner="Explaining the difference…", max_entries=64)
def delta(name: str, fingerprint: str, x_key: tuple, a: int, b: int):
    return views.delta(cached_model(name), tensor_from_key(*x_key), a, b)


@st.cache_data(show_spinner="Explaining the neuron…", max_entries=64)
def neuron(name: str, fingerprint: str, x_key: tuple, layer: str, channel: int):
    return views.neuron(cached_model(name), tensor_from_key(*x_key), layer, channel)


@st.cache_data(show_spinner="Finding the most activating test images…", max_entries=32)
def top_images(name: str, fingerprint: str, layer: str, channel: int):
    loaded = cached_model(name)
    return views.top_activating(loaded, cached_split(loaded.recipe.dataset, "test"), layer, channel)


def localisation(recipes: tuple, n_grids: int) -> list[dict]:
    """Per-B pointing game. Not an st.cache_data function (it draws a progress bar): the pointing game's own
    per-grid disk cache, keyed on each model's weights fingerprint, makes a repeated run come back at once
    in any session."""
    bar = st.progress(0.0, text="Pointing game per B…")
    rows = views.ablation_localisation(list(recipes), n_grids, progress=lambda p: bar.progress(min(1.0, p.fraction), text=p.message))
    bar.empty()
    return rows


def ablation_localisation_panel(recipes: list[str], report) -> None:
    """Accuracy and localisation per B (B-cos Fig. 5) as a chart and a table, computed on request."""
    import pandas as pd
    import plotly.graph_objects as go

    c1, c2 = st.columns([1, 2])
    n_grids = int(c1.number_input("Grids per B (3×3)", 2, 500, 50, step=10, key="bcos-ablation-grids",
                                  help="The pointing game of the bcos explanations of each B on this many 3×3 grids; "
                                       "scores are cached per grid, so a repeated run comes back at once."))
    if not (c2.button("Compute localisation per B", key="bcos-ablation-run") or st.session_state.get("bcos-ablation-done") == (tuple(recipes), n_grids)):
        st.caption(f"Localisation per B: the pointing game of each model's B-cos explanations on {n_grids} grids "
                   "(about 0.1–0.3 s per grid and model on 2 CPU cores).")
        return
    rows = localisation(tuple(recipes), n_grids)
    st.session_state["bcos-ablation-done"] = (tuple(recipes), n_grids)
    table = pd.DataFrame([{"B": r["b"], "test accuracy (recorded at training)": r["accuracy"],
                           "localisation (pointing game mean)": r["localisation"], "median": r["median"],
                           "grids": r["grids"], "model": r["recipe"]} for r in rows])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=table["B"], y=table["test accuracy (recorded at training)"], mode="lines+markers", name="test accuracy"))
    fig.add_trace(go.Scatter(x=table["B"], y=table["localisation (pointing game mean)"], mode="lines+markers", name="localisation"))
    fig.update_layout(title="B ablation (B-cos Fig. 5): accuracy and localisation per B", xaxis_title="B",
                      yaxis_title="fraction", yaxis_range=[0, 1.02], height=360, margin=dict(t=50, b=40, l=50, r=20))
    st.plotly_chart(fig, key="bcos-ablation-chart")
    show_table(st, table, "B ablation: accuracy and localisation per B", report=report, key="bcos-ablation")


@st.cache_data(show_spinner="Post-hoc explanations of the standard classifier…", max_entries=64)
def posthoc(name: str, fingerprint: str, x_key: tuple, target: int) -> dict:
    return views.posthoc_beside(cached_model(name), tensor_from_key(*x_key), target)


report = Report("B-cos networks")
url = UrlState()
# The neuron explorer's choice survives runs that skip it (e.g. Gallery -> Upload while no file is chosen).
keep_widget_state("bcos-layer-", "bcos-channel-")

with guarded("The B-cos view"):
    from interp_core.evaluation.models import ready_models
    from interp_core.visualize import image_to_uint8

    ready = set(ready_models())
    choices = [n for n in views.bcos_recipes() if n in ready]
    if not choices:
        st.warning("No B-cos model is trained yet: train one on the Home page.")
        st.stop()
    name = st.selectbox("Model", choices, index=url.index("model", choices), key="bcos-model")
    url.share("model", name)
    loaded = cached_model(name)
    fp = loaded.card.fingerprint
    names = loaded.card.class_names
    sample = input_picker(loaded.recipe.dataset, key="bcos", model=name, url=url)
    if sample is None:
        report.offer()
        st.stop()
    x = sample.x.float().contiguous()
    xk = tensor_key(x)
    picture = image_to_uint8(x)
    top = views.top_classes(loaded, x)
    st.subheader("Top-5 classes")
    prob_column = f"probability ({loaded.card.output})"
    show_table(st, {"class": [names[c] for c, _ in top], prob_column: [percent(p) for _, p in top],
                    "value": [p for _, p in top]}, f"top-5 classes of {name}", report=report, key="bcos-top5",
               column_config={"value": None})
    st.caption(f"{name} predicts **{names[top[0][0]]}** ({percent(top[0][1])}). With a sigmoid output every class has "
               "its own probability, so they need not sum to 100%.")
    classes = list(range(len(names)))
    url.follow("bcos-input", (name, sample.source), "class")
    target = st.selectbox("Explain class", classes, index=url.index("class", classes, top[0][0]), format_func=lambda c: names[c],
                          key=f"bcos-class-{name}-{sample.source}")
    url.share("class", int(target))
    exp = explain(name, fp, xk, (int(target),))[0]
    p_target = dict(top).get(int(target))
    who = f"{name} · class {names[target]}" + (f" ({percent(p_target)})" if p_target is not None else "")
    c1, c2, c3 = st.columns(3)
    show_map(c1, map_png("input", base=picture), f"{sample.source} · predicted {names[top[0][0]]}", report=report, key="bcos-png-input")
    show_map(c2, map_png("rgba", rgba=exp.rgba), f"W(x) for {who}", report=report, key="bcos-png-w")
    c2.caption(COLOUR_LEGENDS["rgba"])
    show_map(c3, map_png("signed", exp.attribution.numpy(), base=picture, scale="contribution"),
             f"contributions x·W(x) for {who}: sum {float(exp.attribution.sum()):.2f} = logit − bias", report=report, key="bcos-png-c")
    st.caption(f"logit {exp.score:.3f}; contribution map total {float(exp.attribution.sum()):.3f}")

    st.subheader("Δ-explanation of the two most likely classes")
    a, b = top[0][0], top[1][0]
    d = delta(name, fp, xk, a, b)
    d1, d2 = st.columns(2)
    show_map(d1, map_png("rgba", rgba=d.rgba), f"W(x) of the evidence for {names[a]} over {names[b]}", report=report, key="bcos-png-dw")
    show_map(d2, map_png("signed", d.attribution.numpy(), base=picture, scale="contribution"),
             f"red: for {names[a]} · blue: for {names[b]} (logit difference {d.score:.2f})", report=report, key="bcos-png-dc")

    st.subheader("Neuron explorer")
    layers = dict(views.neuron_layers(loaded))
    n1, n2 = st.columns(2)
    layer_names = list(layers)
    layer = n1.selectbox("Layer", layer_names, index=url.index("layer", layer_names, max(0, len(layer_names) - 3)),
                         key=f"bcos-layer-{name}")
    url.share("layer", layer)
    channels = layers[layer]
    channel = int(n2.number_input(f"Channel (0–{channels - 1})", 0, max(0, channels - 1), url.number("channel", 0, max(0, channels - 1), 0),
                                  key=f"bcos-channel-{name}-{layer}"))
    url.share("channel", channel)
    ne = neuron(name, fp, xk, layer, channel)
    position = ne.extras.get("position")
    n1, n2 = st.columns(2)
    show_map(n1, map_png("rgba", rgba=ne.rgba), f"W(x) of {layer}[{channel}]: activation {ne.score:.3f}", report=report, key="bcos-png-nw")
    show_map(n2, map_png("signed", ne.attribution.numpy(), base=picture, scale="activation"),
             f"contributions to {layer}[{channel}]", report=report, key="bcos-png-nc")
    st.caption(f"Neuron {layer}[{channel}] at {views.neuron_position_text(loaded, layer, position)}.")
    if st.toggle("Show its most activating test images", key="bcos-top-images"):
        shown = top_images(name, fp, layer, channel)
        cols = st.columns(len(shown) or 1)
        split = cached_split(loaded.recipe.dataset, "test")
        for col, e in zip(cols, shown):
            col.image(image_to_uint8(split.inputs([e.extras["index"]])[0]), width=100)
            col.image(map_png("rgba", rgba=e.rgba, width=1.2), caption=f"#{e.extras['index']}: activation {e.score:.2f}", width=100)

    st.subheader("B ablation")
    ablation = views.ablation_entries()
    from interp_core.methods.bcos.recipes import ABLATION_RECIPES

    untrained = [r for r in ABLATION_RECIPES if r not in {e.recipe for e in ablation}]
    if untrained:
        from app.components import duration_text, training_estimate

        seconds, basis = training_estimate(untrained[0])
        st.info(f"{len(ablation)} of {len(ABLATION_RECIPES)} models of the B ablation (B-cos Fig. 5) are trained. "
                f"Train the others with `python -m interp_core train {' '.join(untrained)}` (or on Home): "
                f"{duration_text(seconds)} each on the CPU ({basis}).")
    if ablation:
        cols = st.columns(len(ablation))
        for col, entry in zip(cols, ablation):
            e = explain(entry.recipe, cached_model(entry.recipe).card.fingerprint, xk, (int(target),))[0]
            accuracy = "n/a" if entry.accuracy is None else percent(entry.accuracy)
            show_map(col, map_png("rgba", rgba=e.rgba, width=1.8),
                     f"B={entry.b:g} · W(x) for {names[target]} · test accuracy {accuracy} (recorded at training, "
                     f"{entry.trained or 'date unknown'})", report=report, key=f"bcos-png-b{entry.b:g}")
        ablation_localisation_panel([e.recipe for e in ablation], report)

    st.subheader("The standard classifier with post-hoc explanations")
    baseline = views.baseline_recipe()
    if baseline not in ready:
        st.info(f"{baseline} is not trained yet: train it on the Home page.")
    else:
        base = cached_model(baseline)
        maps = posthoc(baseline, base.card.fingerprint, xk, int(target))
        cols = st.columns(len(maps))
        for col, (method, e) in zip(cols, maps.items()):
            show_map(col, map_png("signed", e.attribution.numpy(), base=picture), f"{baseline} · {method} for {names[target]}",
                     report=report, key=f"bcos-png-{method}")
report.offer()
