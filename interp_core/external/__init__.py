"""What comes from outside our own recipes on embedded data: your own trained models (``import-model``),
real datasets named in recipes (``cub:ROOT``, ``imagefolder:ROOT``, ``esc50:ROOT``, ...), the plain
torchvision architectures those models use, and the papers' GPU-sized recipes on real data.

Torch-free at import, like the families' ``recipes`` modules: :mod:`interp_core.external.recipes` and
:mod:`interp_core.external.imported` are recipe providers of :data:`interp_core.store.recipes.RECIPES`;
:mod:`interp_core.external.architectures` (torch) is imported only when a model is built.
"""

#: Plain torchvision classifiers registered by :mod:`interp_core.external.architectures` (kept here, torch-free).
TORCHVISION_ARCHITECTURES = ("resnet18", "resnet34", "resnet50", "vgg11", "densenet121")
#: Architectures ``import-model`` takes: ours, the plain torchvision ones and their B-cos conversions.
IMPORTABLE_ARCHITECTURES = ("cnn", "audio-cnn", "bcos-cnn", *TORCHVISION_ARCHITECTURES,
                            *(f"bcos-{name}" for name in TORCHVISION_ARCHITECTURES))
