"""The papers' settings on the real datasets, as GPU-sized recipes (torch-free; none ships a checkpoint).

They name their data relative to ``$INTERP_CORE_DATA`` (see :mod:`interp_core.external.datasets`): put
CUB-200-2011 in ``$INTERP_CORE_DATA/CUB_200_2011`` and ESC-50 in ``$INTERP_CORE_DATA/ESC-50-master`` and
run them as they are, e.g. ``python -m interp_core train bcos-resnet50-cub --nproc 4``. On a machine
without CUDA, ``train`` refuses them with an estimate of the time they would take
(:mod:`interp_core.external.estimate`).

Where they differ from the papers, on purpose (the engine trains every classifier with AdamW and a cosine
schedule, and nothing is downloaded, so there are no ImageNet weights to start from):

* ``bcos-resnet50-cub``: B-cos v2 ResNet-50 (B = 2, uncentered batch norm) at 448 px, BCE, Adam lr 1e-3,
  cosine over 90 epochs after 5 warm-up epochs (B-cos v2's ImageNet schedule, method-notes §1), from scratch;
* ``resnet50-cub`` -> ``qsenn-dense-resnet50-cub`` -> ``qsenn-resnet50-cub``: Q-SENN on a torchvision
  ResNet-50 at 448 px, batch 16 (method-notes §2.2). The dense model starts from ``resnet50-cub`` (trained
  here from scratch) where the paper starts from ImageNet weights, and is fine-tuned with the Feature
  Diversity Loss (beta 0.196) by AdamW instead of SGD with StepLR; 50 features, 5 per class, fine-tuning
  10/10/10/40 epochs at 1e-4 * 0.9^i (§2.7); the glm-saga path has the reference's 100 lambdas and batch
  256 but at most 200 epochs per lambda (the reference allows 2000);
* ``cnn-esc50`` -> ``piq-esc50``: PIQ's audio classifier (four strided conv layers and a residual layer,
  widths 128-256) trained on folds 1-3 (no VGGSound pre-training), and a PIQ interpreter with about 1024
  keys (20 per class), the 0.35 x max spectrogram target, Adam lr 2e-4, weight decay 2e-6, batch 16, 200 epochs
  (PIQ App. F-G, method-notes §3).
"""
from __future__ import annotations

from functools import partial

from interp_core.external import TORCHVISION_ARCHITECTURES
from interp_core.external.datasets import register_real_dataset
from interp_core.external.sizing import GPU_RECIPES, GpuSizing
from interp_core.methods.piq.recipes import PIQRecipe
from interp_core.methods.qsenn.recipes import DenseFDLRecipe, SparseLayerRecipe
from interp_core.methods.standard.recipes import ClassifierRecipe
from interp_core.store.recipes import ARCHITECTURE_MODULES, Recipe, register_recipe
from interp_core.store.trainable import register_refusal

ARCHITECTURE_MODULES.update({name: "interp_core.external.architectures" for name in TORCHVISION_ARCHITECTURES})

CUB = "cub@448:CUB_200_2011"
ESC50 = "esc50:ESC-50-master"


_CUB_SIZING = dict(train_samples=5994, input_shape=(3, 448, 448), num_classes=200)
_ESC50_SIZING = dict(train_samples=1200, input_shape=(1, 257, 455), num_classes=50)


def refuse_without_cuda(name: str, device) -> str | None:
    """The refusal of GPU-sized recipe ``name`` on ``device``: None on CUDA, else the measured estimate."""
    if device.type == "cuda":
        return None
    from interp_core.external.estimate import cpu_refusal

    return cpu_refusal(name)


def _register(recipe: Recipe, sizing: dict, passes: float) -> None:
    register_recipe(recipe)
    GPU_RECIPES.register(recipe.name, GpuSizing(**sizing, passes=float(passes)))
    register_refusal(recipe.name, partial(refuse_without_cuda, recipe.name))


_register(ClassifierRecipe(
    name="bcos-resnet50-cub", dataset=CUB, family="bcos",
    description="GPU-sized: B-cos v2 ResNet-50 (B=2) on CUB-200-2011 at 448 px, 90 epochs (needs the data and a GPU).",
    arch="bcos-resnet50", arch_kwargs={"b": 2.0, "max_out": 1, "norm": "uncentered-bn"},
    epochs=90, batch_size=64, lr=1e-3, loss="bce", warmup_epochs=5, patience=0, val_fraction=0.1,
), _CUB_SIZING, 90)
_register(ClassifierRecipe(
    name="resnet50-cub", dataset=CUB, family="standard",
    description="GPU-sized: torchvision ResNet-50 on CUB-200-2011 at 448 px, from scratch; the Q-SENN backbone.",
    arch="resnet50", epochs=100, batch_size=32, lr=1e-3, weight_decay=5e-4, warmup_epochs=2, patience=10,
), _CUB_SIZING, 100)
_register(DenseFDLRecipe(
    name="qsenn-dense-resnet50-cub", dataset=CUB, family="qsenn",
    description="GPU-sized: dense ResNet-50 on CUB at 448 px (from resnet50-cub) with the Feature Diversity Loss.",
    arch="resnet50", init_from="resnet50-cub", epochs=50, batch_size=16, lr=1e-4, weight_decay=5e-4, patience=10,
    beta=0.196, dropout=0.2,
), _CUB_SIZING, 50)
_register(SparseLayerRecipe(
    name="qsenn-resnet50-cub", dataset=CUB, family="qsenn", dense="qsenn-dense-resnet50-cub", method="qsenn",
    description="GPU-sized: Q-SENN on the dense ResNet-50, 50 features, 5 ternary weights per class, 4 iterations (CUB 448 px).",
    n_features=50, per_class=5, glm_lambdas=100, glm_epochs=200, glm_batch_size=256,
    finetune_epochs=(10, 10, 10, 40), finetune_lr=1e-4, lr_decay=0.9, batch_size=16, dropout=0.2,
), _CUB_SIZING, 70 + 5)
_register(ClassifierRecipe(
    name="cnn-esc50", dataset=ESC50, family="standard",
    description="GPU-sized: PIQ's audio CNN (4 strided conv layers + residual, widths 128-256) on ESC-50 folds 1-3.",
    arch="audio-cnn", arch_kwargs={"widths": (128, 256, 256, 256)},
    epochs=100, batch_size=32, lr=1e-3, warmup_epochs=2, patience=15,
), _ESC50_SIZING, 100)
_register(PIQRecipe(
    name="piq-esc50", dataset=ESC50, family="piq", backbone="cnn-esc50",
    description="GPU-sized: PIQ interpreter of cnn-esc50, ~1024 keys, 0.35 x max spectrogram target, 200 epochs (PIQ App. G).",
    target="spectrogram-threshold", target_threshold=0.35, keys_per_class=20, code_dim=128,
    decoder_widths=(128, 64, 32, 16), epochs=200, batch_size=16, lr=2e-4, weight_decay=2e-6,
), _ESC50_SIZING, 200)

for _dataset in (CUB, ESC50):
    register_real_dataset(_dataset)
