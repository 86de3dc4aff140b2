"""B-cos view: top classes, coloured weight maps W(x), contribution maps, Δ-explanations, neurons,
the B ablation, and the standard CNN with post-hoc maps beside it."""
import numpy as np
import streamlit as st
import torch

from app.components import cached_model, cached_split, guarded, input_picker

st.title("B-cos networks")
st.caption("In explanation mode a B-cos network is exactly the dynamic linear map W(x)·x (B-cos Eq. 13): the "
           "coloured map shows the weights W(x) that align with the input, the contribution map x·W(x) (Eq. 15) "
           "sums to the logit.")
MODEL = "bcos-shapes"


def _tensor(x_bytes: bytes, shape: tuple) -> torch.Tensor:
    return torch.from_numpy(np.frombuffer(x_bytes, dtype=np.float32).reshape(shape).copy())


@st.cache_data(show_spinner="Explaining…", max_entries=64)
def explain(model_name: str, x_bytes: bytes, shape: tuple, targets: tuple) -> list:
    from interp_core.methods import get_explainer

    return get_explainer("bcos", cached_model(model_name).model).explain(_tensor(x_bytes, shape), list(targets))


@st.cache_data(show_spinner="Explaining the difference…", max_entries=64)
def delta(model_name: str, x_bytes: bytes, shape: tuple, a: int, b: int):
    from interp_core.methods import get_explainer

    return get_explainer("bcos", cached_model(model_name).model).delta_explanation(_tensor(x_bytes, shape), a, b)


@st.cache_data(show_spinner="Explaining the neuron…", max_entries=64)
def neuron(model_name: str, x_bytes: bytes, shape: tuple, layer: str, channel: int):
    from interp_core.methods import get_explainer

    return get_explainer("bcos", cached_model(model_name).model).explain_neuron(_tensor(x_bytes, shape), layer, channel)


@st.cache_data(show_spinner="Finding the most activating test images…", max_entries=32)
def top_images(model_name: str, layer: str, channel: int, k: int = 6):
    from interp_core.methods import get_explainer

    split = cached_split("shapes", "test").subset(np.arange(600))
    return get_explainer("bcos", cached_model(model_name).model).top_activating(split, layer, channel, k)


@st.cache_data(show_spinner="Post-hoc explanations of the standard CNN…", max_entries=64)
def posthoc(x_bytes: bytes, shape: tuple, target: int) -> dict:
    from interp_core.methods import get_explainer

    model = cached_model("cnn-shapes").model
    x = _tensor(x_bytes, shape)
    return {m: get_explainer(m, model).explain(x, [target])[0] for m in ("input_x_gradient", "gradcam")}


with guarded("The B-cos view"):
    from interp_core.store import ModelNotTrainedError
    from interp_core.training.engine import probabilities
    from interp_core.visualize import image_to_uint8, rgba_on_black

    try:
        loaded = cached_model(MODEL)
    except ModelNotTrainedError as err:
        st.warning(str(err))
        st.stop()
    names = loaded.info.class_names
    sample = input_picker("shapes", key="bcos")
    if sample is None:
        st.stop()
    x = sample.x.float().contiguous()
    xb, shape = x.numpy().tobytes(), tuple(x.shape)
    with torch.no_grad():
        probs = probabilities(loaded.model(x.unsqueeze(0).to(loaded.device)), loaded.recipe.loss)[0].cpu()
    top = torch.topk(probs, 5)
    top5 = [(names[int(i)], float(p)) for p, i in zip(top.values, top.indices)]
    st.subheader("Top-5 classes")
    st.dataframe({"class": [c for c, _ in top5], "probability (sigmoid)": [p for _, p in top5]}, hide_index=True)
    target = st.selectbox("Explain class", range(len(names)), index=int(top.indices[0]), format_func=lambda c: names[c])
    exp = explain(MODEL, xb, shape, (int(target),))[0]
    c1, c2, c3 = st.columns(3)
    c1.image(image_to_uint8(x), caption=sample.source, width=210)
    c2.image(rgba_on_black(exp.extras["rgba"]), caption=f"W(x) for {names[target]}", width=210)
    c3.image(exp.extras["contribution_image"], caption=f"contributions (sum {exp.attribution.sum():.2f} = logit − bias)", width=210)
    st.caption(f"logit {exp.score:.3f}; contribution map total {float(exp.attribution.sum()):.3f}")

    st.subheader("Δ-explanation of the two most likely classes")
    a, b = int(top.indices[0]), int(top.indices[1])
    d = delta(MODEL, xb, shape, a, b)
    d1, d2 = st.columns(2)
    d1.image(rgba_on_black(d.extras["rgba"]), caption=f"evidence for {names[a]} over {names[b]}", width=210)
    d2.image(d.extras["contribution_image"], caption=f"red: {names[a]} · blue: {names[b]} (logit difference {d.score:.2f})", width=210)

    st.subheader("Neuron explorer")
    layers = loaded.model.neuron_layers()
    n1, n2 = st.columns(2)
    layer = n1.selectbox("Layer", layers, index=max(0, len(layers) - 3))
    channels = getattr(dict(loaded.model.named_modules())[layer], "out_channels", 1)
    channel = int(n2.number_input(f"Channel (0–{channels - 1})", 0, max(0, channels - 1), 0))
    ne = neuron(MODEL, xb, shape, layer, channel)
    st.image(rgba_on_black(ne.extras["rgba"]), caption=f"{layer}[{channel}] at {ne.extras.get('position')}: activation {ne.score:.3f}",
             width=210)
    if st.toggle("Show its most activating test images"):
        shown = top_images(MODEL, layer, channel)
        cols = st.columns(len(shown) or 1)
        split = cached_split("shapes", "test")
        for col, e in zip(cols, shown):
            col.image(image_to_uint8(split.inputs([e.extras["index"]])[0]), width=100)
            col.image(rgba_on_black(e.extras["rgba"]), caption=f"#{e.extras['index']}: {e.score:.2f}", width=100)

    st.subheader("B ablation")
    from interp_core.methods.compare import ready_models

    ablation = [m for m in ready_models("shapes") if m.startswith("bcos-shapes-b")]
    if not ablation:
        st.info("Train bcos-shapes-b1, -b1.5, -b2 and -b2.5 (Home page or `python -m interp_core train`) to compare B values.")
    else:
        from interp_core.store.catalog import recorded_metrics

        cols = st.columns(len(ablation))
        for col, name in zip(cols, ablation):
            e = explain(name, xb, shape, (int(target),))[0]
            b_value = name.split("-b")[-1]
            col.image(rgba_on_black(e.extras["rgba"]), width=160,
                      caption=f"B={b_value} · accuracy {recorded_metrics(name).get('accuracy', float('nan')):.3f}")
        st.caption("Localisation per B: run the Pointing game view with these models and the bcos method.")

    st.subheader("The standard CNN with post-hoc explanations")
    try:
        maps = posthoc(xb, shape, int(target))
    except ModelNotTrainedError as err:
        st.info(str(err))
    else:
        from interp_core.visualize import explanation_image

        cols = st.columns(len(maps))
        for col, (method, e) in zip(cols, maps.items()):
            col.image(explanation_image(x, e), caption=f"cnn-shapes · {method} for {names[target]}", width=210)
