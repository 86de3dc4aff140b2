"""Prototypes (KMEx): k-means prototypes of a frozen CNN, the Fig. 2 UMAP, B4/B234 explanations, Tables 1 and 2."""
import streamlit as st

from app.inputs import input_picker, sample_caption
from app.models import model_picker, view_result
from app.report import Report, built_figure, interactive_charts, map_of, show_chart, show_map, show_table
from app.shell import guarded
from app.url import UrlState

st.title("Prototypes (KMEx)")
st.caption("KMEx turns a trained CNN into a prototype model without retraining: k-means on the embeddings of each "
           "class gives prototypes, and the nearest prototype decides the class. Explaining the encoder the same way "
           "assigns every location to its nearest prototype (B4: last block; B234: blocks 2 to 4).")

from interp_core.methods.kmex import KINDS, listening, views  # noqa: E402

TRAIN_SAMPLE = views.TABLES_TRAIN_SAMPLE  # training images behind Table 2's train column unless the user asks for all

report = Report("Prototypes (KMEx)")
url = UrlState()
name, loaded = model_picker(views.kmex_recipes(), "kmex-model",
                            "No KMEx model is fitted yet: fit one on the Home page.", url=url)
model, info = loaded.model, loaded.info
dataset, audio = loaded.recipe.dataset, loaded.card.modality == "audio"
names = info.class_names
all_classes = list(range(info.num_classes))
st.caption(f"`{name}`: {model.prototypes_per_class} prototypes per class on the frozen `{loaded.recipe.backbone}` "
           f"({loaded.source} checkpoint).")

@st.fragment
def embeddings_and_prototypes() -> None:
    """Fig. 2 with its controls and the clicked point's image: a fragment, so that choosing classes or kinds of
    points, or clicking a point, redraws this section only, not the explanations and the tables."""
    section = report.section("Fig. 2")
    st.header("Embeddings and prototypes (Fig. 2)")
    with guarded("Drawing the UMAP projection"):
        default = views.projection_classes(model)
        classes = st.multiselect("Classes", all_classes, default=url.defaults("classes", all_classes, default),
                                 format_func=lambda c: names[c], key=f"kmex-classes-{dataset}")
        url.share("classes", classes)
        kinds = st.pills("Show", list(KINDS), selection_mode="multi", default=url.defaults("show", list(KINDS), list(KINDS)),
                         format_func=lambda k: views.KIND_STYLES[k][0], key=f"kmex-kinds-{dataset}")
        url.share("show", kinds or [])
        if sorted(classes) != sorted(default):
            st.info("The projection of the default classes ships with the model; another choice is embedded and "
                    "projected once (about 30 s the first time), then cached.")
        if not classes or not kinds:
            st.warning("Choose at least one class and one kind of point to draw.")
        else:
            projection, sources = view_result(views.loaded_projection, name, tuple(sorted(classes)),
                                              spinner="Projecting with UMAP… (a new class choice takes about 30 s the first time)")
            shown = [k for k in KINDS if k in kinds]
            figure = built_figure(views.projection_figure, projection, sources, names, shown,
                                  key=("kmex-projection", name, loaded.card.fingerprint, tuple(sorted(classes)), tuple(shown)))
            left, right = st.columns([3, 1])
            event = show_chart(left, figure, f"UMAP of the embeddings and prototypes of {name} (Fig. 2)", key=f"kmex-umap-{dataset}",
                               report=section, name=f"{name}-umap", on_select=True)
            left.caption("Each class in the colour its name says (shades tell apart the classes that share a colour word); "
                         "marker shape = kind of point (key in the legend).")
            clicked = views.clicked_point(event.selection.points if event else [])
            if clicked:
                image, caption = view_result(views.loaded_point_preview, name, *clicked)
                if image is None:
                    right.info(caption)
                else:
                    right.image(image, caption=caption, width=192)
                    if audio:
                        right.audio(view_result(listening.loaded_point_sound, name, *clicked), format="audio/wav")
            else:
                click = "Click a point" if interactive_charts() else "Turn on *Interactive charts* in the sidebar and click a point"
                right.caption(f"{click} to see {'and hear its clip' if audio else 'its image'}. Train embeddings are dots, "
                              "test embeddings open dots; c_j raw are crosses, c_j rescaled to the class norm triangles, KMEx prototypes squares.")


embeddings_and_prototypes()

st.header("Explain an input (B4 and B234)")
with guarded("Explaining the input"):
    sample = input_picker(dataset, key=f"kmex-{dataset}", model=name, url=url)
    if sample is not None:
        predictions = view_result(views.loaded_predictions, name, sample.x, spinner="Predicting…")
        picture, table = st.columns([1, 3])
        picture.image(sample.display, caption=sample_caption(sample, names), width=128)
        if sample.waveform is not None:
            picture.audio(listening.wav_bytes(sample.waveform, info.sample_rate), format="audio/wav")
        show_table(table, [{"model": p.model, "predicts": names[p.label], "evidence": p.detail} for p in predictions],
                   f"predictions of {name} for {sample.source}", report=report, key="kmex-predictions")
        url.follow("kmex-input", (name, sample.source), "class")
        target = st.selectbox("Attribution for class", all_classes, index=url.index("class", all_classes, predictions[0].label),
                              format_func=lambda c: names[c], key=f"kmex-target-{dataset}-{sample.source}",
                              help="Eq. 11 scores every location against the CNN's classifier column c_j of this class "
                                   "(default: the CNN's prediction), then averages it over the explanation map's segments.")
        url.share("class", int(target))
        from interp_core.visualize import map_base, tile
        base = map_base(sample.x, audio)
        for v, view in enumerate(view_result(views.loaded_explanations, name, sample.x, int(target), spinner="Explaining…")):
            st.subheader(f"{view.title} · predicts {names[view.prediction]}")
            segments, attribution, legend = st.columns([1, 1, 2])
            segment_map, attribution_map = views.explanation_maps(view, base, audio)
            show_map(segments, map_of(segment_map),
                     f"{view.title} explanation map of {sample.source}: each location in its nearest prototype's colour "
                     f"(legend on the right) · {name} predicts {names[view.prediction]}", report=report, key=f"kmex-png-seg-{v}")
            show_map(attribution, map_of(attribution_map),
                     f"{view.title} gradient-free attribution (Eq. 11) for {names[view.target]}", report=report, key=f"kmex-png-attr-{v}")
            legend.markdown("**Prototypes in the map** (largest first), each shown by its representative training patch "
                            "framed in the same colour")
            if view.legend:  # one picture, three to a row: one image to send instead of six
                legend.image(tile([e.image for e in view.legend], 3, pad=4), width=124 * min(3, len(view.legend)), caption=" · ".join(
                    f"#{e.prototype} {names[e.label]} ({e.area:.0%} of the map)" for e in view.legend) + " (left to right, top to bottom)")


def grid(n: int, per_row: int = 5) -> list:  # n columns, per_row to a row
    return [column for _ in range(-(-n // per_row)) for column in st.columns(per_row)][:n]


if audio:
    st.header("Listen to the prototypes")
    with guarded("Preparing the sounds"):
        label = int(st.selectbox("Class", all_classes, format_func=lambda c: names[c], key=f"kmex-listen-{dataset}"))
        st.markdown(f"**KMEx prototypes of {names[label]}**: each one's nearest training clips of the class, nearest first")
        clips = view_result(listening.loaded_prototype_clips, name, label, spinner="Finding the nearest clips…")
        for column, p in zip(grid(len(clips)), clips):
            column.image(p.picture, caption=f"#{p.prototype} · {p.cluster_size} clips in its cluster")
            for wav in p.wavs:
                column.audio(wav, format="audio/wav")
        variant = st.radio("Encoder prototypes", ["b4", "b234"], format_func=str.upper, horizontal=True, key=f"kmex-listen-variant-{dataset}")
        st.markdown(f"**{variant.upper()} prototypes of {names[label]}**: each one's representative patch, a time-frequency crop "
                    "(low frequencies at the bottom), played as its clip's sound kept only inside the patch's cells (the clip's "
                    "phase, as PIQ renders its interpretations)")
        patches = view_result(listening.loaded_patch_sounds, name, variant, label, spinner="Rendering the patches…")
        for column, patch in zip(grid(len(patches)), patches):
            column.image(patch.crop, caption=patch.caption)
            column.audio(patch.wav, format="audio/wav")

st.header("Tables 1 and 2")
with guarded("Computing Tables 1 and 2"):
    full = st.toggle("Measure train accuracy on the whole training set (slower)", value=False, key=f"kmex-full-{dataset}",
                     help="About 40 s the first time on 2 CPU cores (every training image through the CNN), then cached.")
    tables = view_result(views.loaded_tables, name, None if full else TRAIN_SAMPLE,
                         spinner="Computing Tables 1 and 2 (about half a minute the first time)…")
    inputs = "clips" if audio else "images"
    st.caption(f"{tables.origin.capitalize()}: train columns (and the K/C=1 prototypes) from {tables.n_train} training {inputs}, "
               f"cosines and test accuracy on {tables.n_test} test {inputs}.")
    left, right = st.columns(2)
    left.markdown("**Table 1** · average cosine of the prototypes to the embeddings of their *class* and to all other "
                  "(*out*) test embeddings")
    show_table(left, tables.cosines, "Table 1: prototype cosines", report=report, key="kmex-table1", formats=views.TABLE1_FORMATS)
    right.markdown("**Table 2** · train and test accuracy of the CNN, KMEx and the concept-based B4 and B234")
    show_table(right, tables.accuracies, "Table 2: accuracies", report=report, key="kmex-table2", formats=views.TABLE2_FORMATS)
report.offer()
