"""B-cos view: top classes, coloured weight maps W(x), contribution maps, Δ-explanations, neurons,
the B ablation, and the standard classifier with post-hoc maps beside it."""
import streamlit as st

from app.components import cached_model, cached_split, guarded, input_picker, tensor_from_key, tensor_key

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


@st.cache_data(show_spinner="Post-hoc explanations of the standard classifier…", max_entries=64)
def posthoc(name: str, fingerprint: str, x_key: tuple, target: int) -> dict:
    return views.posthoc_beside(cached_model(name), tensor_from_key(*x_key), target)


with guarded("The B-cos view"):
    from interp_core.evaluation.models import ready_models
    from interp_core.visualize import PANEL_TITLES, explanation_panels, image_to_uint8, rgba_on_black, signed_image

    ready = set(ready_models())
    choices = [n for n in views.bcos_recipes() if n in ready]
    if not choices:
        st.warning("No B-cos model is trained yet: train one on the Home page.")
        st.stop()
    name = st.selectbox("Model", choices)
    loaded = cached_model(name)
    fp = loaded.card.fingerprint
    names = loaded.card.class_names
    sample = input_picker(loaded.recipe.dataset, key="bcos")
    if sample is None:
        st.stop()
    x = sample.x.float().contiguous()
    xk = tensor_key(x)
    top = views.top_classes(loaded, x)
    st.subheader("Top-5 classes")
    prob_column = f"probability ({loaded.card.output})"
    st.dataframe({"class": [names[c] for c, _ in top], prob_column: [p for _, p in top]}, hide_index=True,
                 column_config={prob_column: st.column_config.NumberColumn(format="%.3f")})
    target = st.selectbox("Explain class", range(len(names)), index=top[0][0], format_func=lambda c: names[c])
    exp = explain(name, fp, xk, (int(target),))[0]
    c1, c2, c3 = st.columns(3)
    c1.image(image_to_uint8(x), caption=sample.source, width=210)
    c2.image(rgba_on_black(exp.rgba), caption=f"W(x) for {names[target]}", width=210)
    c3.image(signed_image(exp.attribution), caption=f"{PANEL_TITLES['signed']}, sum {float(exp.attribution.sum()):.2f} = logit − bias",
             width=210)
    st.caption(f"logit {exp.score:.3f}; contribution map total {float(exp.attribution.sum()):.3f}")

    st.subheader("Δ-explanation of the two most likely classes")
    a, b = top[0][0], top[1][0]
    d = delta(name, fp, xk, a, b)
    d1, d2 = st.columns(2)
    d1.image(rgba_on_black(d.rgba), caption=f"evidence for {names[a]} over {names[b]}", width=210)
    d2.image(signed_image(d.attribution), caption=f"red: {names[a]} · blue: {names[b]} (logit difference {d.score:.2f})", width=210)

    st.subheader("Neuron explorer")
    layers = dict(views.neuron_layers(loaded))
    n1, n2 = st.columns(2)
    layer_names = list(layers)
    layer = n1.selectbox("Layer", layer_names, index=max(0, len(layer_names) - 3), key=f"bcos-layer-{name}")
    channels = layers[layer]
    channel = int(n2.number_input(f"Channel (0–{channels - 1})", 0, max(0, channels - 1), 0, key=f"bcos-channel-{name}-{layer}"))
    ne = neuron(name, fp, xk, layer, channel)
    st.image(rgba_on_black(ne.rgba), width=210,
             caption=f"{layer}[{channel}] at its most active position (row, column) {ne.extras.get('position')} of the "
                     f"layer's feature map: activation {ne.score:.3f}")
    if st.toggle("Show its most activating test images"):
        shown = top_images(name, fp, layer, channel)
        cols = st.columns(len(shown) or 1)
        split = cached_split(loaded.recipe.dataset, "test")
        for col, e in zip(cols, shown):
            col.image(image_to_uint8(split.inputs([e.extras["index"]])[0]), width=100)
            col.image(rgba_on_black(e.rgba), caption=f"#{e.extras['index']}: {e.score:.2f}", width=100)

    st.subheader("B ablation")
    ablation = views.ablation_entries()
    if not ablation:
        st.info("Train the B ablation recipes (Home page or `python -m interp_core train`) to compare B values.")
    else:
        cols = st.columns(len(ablation))
        for col, entry in zip(cols, ablation):
            e = explain(entry.recipe, cached_model(entry.recipe).card.fingerprint, xk, (int(target),))[0]
            accuracy = "n/a" if entry.accuracy is None else f"{entry.accuracy:.3f}"
            col.image(rgba_on_black(e.rgba), width=160,
                      caption=f"B={entry.b:g} · test accuracy {accuracy} (recorded at training, {entry.trained or 'date unknown'})")
        st.caption("Localisation per B: run the Pointing game view with these models and the bcos method.")

    st.subheader("The standard classifier with post-hoc explanations")
    baseline = views.baseline_recipe()
    if baseline not in ready:
        st.info(f"{baseline} is not trained yet: train it on the Home page.")
    else:
        base = cached_model(baseline)
        maps = posthoc(baseline, base.card.fingerprint, xk, int(target))
        cols = st.columns(len(maps))
        for col, (method, e) in zip(cols, maps.items()):
            title, picture = explanation_panels(x, e, base.card.modality)[0]
            col.image(picture, caption=f"{baseline} · {method} for {names[target]} · {title}", width=210)
