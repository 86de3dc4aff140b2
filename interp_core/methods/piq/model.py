"""The PIQ interpreter (Paissan, Subakan & Ravanelli, "Posthoc Interpretation via Quantization"; Sec. 2, Fig. 2).

A frozen classifier's representation ``h`` (the last block's feature map of a
:class:`~interp_core.models.cnn.BlockCNN`, or with ``quantised_block`` an earlier block's) goes through an **adapter** (3x3 conv, App. C; L2-normalised
over channels as in App. D's pseudo-code), is **vector-quantised with the keys of one class only**
(:class:`ClassPartitionedCodebook`, Eq. 1: the dictionary is split equally among classes), and a
**decoder** of transposed convolutions turns the quantised map into a mask logit at input resolution; the
sigmoid of it is the interpretation mask (the reference's default ``use_mask_output``, method-notes §3.4).
Gradients pass the quantiser straight through (VQ-VAE); Eq. 2's codebook and commitment terms train the
dictionary and the adapter. With ``skip_block`` the interpreter has two levels, as App. D's VQ-VAE2-like
ImageNet interpreter: a finer block of the classifier is quantised too, with the same class's keys of a
second dictionary (:class:`PIQInterpreter`).

:class:`PIQModel` is the frozen classifier together with its interpreter, as one module the model store
saves: its ``state_dict`` holds the interpreter and a fingerprint of the classifier's weights, never the
classifier itself (that is the store's model of the backbone recipe). Loading an interpreter trained on
other classifier weights raises :class:`StalePIQError`, so the store retrains instead of pairing them.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from interp_core.store.card import state_digest


class StalePIQError(RuntimeError):
    """A stored interpreter does not belong to this classifier (other weights)."""


@dataclass
class Quantized:
    """What the quantiser returns for ``h`` ``(N, D, H, W)``: ``straight_through`` (the codes in the
    forward pass, the identity for gradients to ``h``), ``codes`` (the same values, differentiable with
    respect to the dictionary only: Eq. 2's codebook term) and ``indices`` ``(N, H, W)`` into the whole
    dictionary."""

    straight_through: torch.Tensor
    codes: torch.Tensor
    indices: torch.Tensor


class ClassPartitionedCodebook(nn.Module):
    """A VQ dictionary of ``n_classes * keys_per_class`` keys of dimension ``dim``, split equally among the
    classes: keys ``c * keys_per_class ... (c + 1) * keys_per_class - 1`` belong to class ``c``.

    Initialised U(-1/K, 1/K) as the reference; :meth:`init_from` seeds each class's keys with adapted
    features of that class's training inputs instead (no dead keys at the start).
    """

    def __init__(self, n_classes: int, keys_per_class: int, dim: int):
        super().__init__()
        self.n_classes = n_classes
        self.keys_per_class = keys_per_class
        k = n_classes * keys_per_class
        self.weight = nn.Parameter(torch.empty(k, dim).uniform_(-1.0 / k, 1.0 / k))

    @property
    def dim(self) -> int:
        return self.weight.shape[1]

    def class_keys(self, classes: torch.Tensor) -> torch.Tensor:
        """The keys ``(N, keys_per_class, D)`` of each row's class ``classes`` ``(N,)``."""
        return self.weight.view(self.n_classes, self.keys_per_class, -1)[classes]

    def _local_nearest(self, h: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """Index ``(N, H*W)`` of the nearest of each row's ``keys`` ``(N, K, D)`` to every vector of ``h``."""
        n, d = h.shape[:2]
        # ||h - k||^2 = ||h||^2 - 2 h.k + ||k||^2; ||h||^2 is the same for every key, so it is left out.
        # One batched matrix product (N, HW, D) x (N, D, K), so that the argmax runs over contiguous keys.
        scores = torch.bmm(h.detach().reshape(n, d, -1).transpose(1, 2), keys.transpose(1, 2))
        return scores.mul_(2).sub_(keys.square().sum(-1)[:, None, :]).argmax(-1)

    def nearest(self, h: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """Indices ``(N, H, W)`` into the dictionary of the nearest key *of the row's class* to every vector
        of ``h`` ``(N, D, H, W)`` (PIQ Eq. 1: argmin_k ||h'_ij - D_c||; no other class's key can win)."""
        local = self._local_nearest(h, self.class_keys(classes).detach())
        return classes.view(-1, 1, 1) * self.keys_per_class + local.view(h.shape[0], *h.shape[2:])

    def forward(self, h: torch.Tensor, classes: torch.Tensor) -> Quantized:
        keys = self.class_keys(classes)  # (N, K, D), differentiable with respect to the dictionary
        local = self._local_nearest(h, keys.detach())  # (N, HW)
        n, d = h.shape[:2]
        indices = classes.view(-1, 1, 1) * self.keys_per_class + local.view(n, *h.shape[2:])
        # h''' = D^c_{h''}: the chosen keys gathered straight into the (N, D, H, W) layout.
        codes = keys.gather(1, local[:, :, None].expand(-1, -1, d)).transpose(1, 2).reshape(h.shape)
        # forward: the codes; backward: identity to h (VQ-VAE). Without autograd there is nothing to pass.
        straight_through = h + (codes - h).detach() if torch.is_grad_enabled() else codes
        return Quantized(straight_through, codes, indices)

    @torch.no_grad()
    def init_from(self, h: torch.Tensor, classes: torch.Tensor, generator: torch.Generator | None = None) -> None:
        """Seed every class's keys with vectors of ``h`` ``(N, D, H, W)`` from rows of that class
        (``classes`` ``(N,)``), drawn without replacement where there are enough; classes without rows keep
        their keys."""
        rows = h.permute(0, 2, 3, 1)
        for c in range(self.n_classes):
            vectors = rows[classes == c].reshape(-1, rows.shape[-1])
            if len(vectors) == 0:
                continue
            pick = torch.randperm(len(vectors), generator=generator)[: self.keys_per_class]
            if len(pick) < self.keys_per_class:
                pick = pick[torch.randint(len(pick), (self.keys_per_class,), generator=generator)]
            self.weight[c * self.keys_per_class : (c + 1) * self.keys_per_class] = vectors[pick].to(self.weight)


class ResidualBlock(nn.Module):
    """3x3 conv, BN, ReLU, 1x1 conv, BN, plus the input (the reference's ResBlockAudio, App. C's ResBlock)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 1, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class MaskDecoder(nn.Module):
    """Quantised map ``(N, D, h, w)`` -> mask logit ``(N, 1, H, W)``: ``latent_blocks`` residual blocks,
    then one ``ConvTranspose2d(k=4, s=2, p=1)`` + BN + ReLU per entry of ``widths`` (each doubles the
    size), then a 3x3 conv to one channel (``head=False``: no head, ``widths[-1]`` channels out). The
    output is cropped to the requested size (the classifier's strided convolutions round sizes up), or
    resized when it falls short."""

    def __init__(self, dim: int, widths: tuple[int, ...], latent_blocks: int = 1, head: bool = True):
        super().__init__()
        layers: list[nn.Module] = [ResidualBlock(dim) for _ in range(latent_blocks)]
        if latent_blocks:
            layers.append(nn.ReLU())
        c = dim
        for w in widths:
            layers += [nn.ConvTranspose2d(c, w, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
            c = w
        if head:
            layers.append(nn.Conv2d(c, 1, 3, padding=1))
        self.out_channels = 1 if head else c
        self.layers = nn.Sequential(*layers)

    def forward(self, codes: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return fit_size(self.layers(codes), size)


def fit_size(out: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``out`` cropped to ``size``, or resized bilinearly where it falls short."""
    out = out[..., : size[0], : size[1]]
    if tuple(out.shape[-2:]) != tuple(size):
        out = F.interpolate(out, size=size, mode="bilinear", align_corners=False)
    return out


def pointwise(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """A 1x1 convolution ``(O, C)`` of ``x`` ``(N, C, H, W)`` as one matrix product over channels: with a
    handful of channels on large maps it runs several times faster on CPU than the convolution kernel."""
    n, c, h, w = x.shape
    out = torch.matmul(weight.reshape(weight.shape[0], c), x.reshape(n, c, h * w))
    if bias is not None:
        out = out + bias.view(1, -1, 1)
    return out.view(n, -1, h, w)


@dataclass
class Interpretation:
    """The interpreter's output for a batch: ``logits`` ``(N, 1, H, W)`` of the mask (sigmoid = mask),
    per quantisation level the ``adapted`` vectors h' and their ``codes`` h''' (for Eq. 2), and the code
    ``indices`` ``(N, h, w)`` of the first (coarse) level."""

    logits: torch.Tensor
    adapted: tuple[torch.Tensor, ...]
    codes: tuple[torch.Tensor, ...]
    indices: torch.Tensor

    @property
    def mask(self) -> torch.Tensor:
        """The soft interpretation mask ``(N, H, W)`` in (0, 1)."""
        return torch.sigmoid(self.logits[:, 0])


class PIQInterpreter(nn.Module):
    """Adapter -> class-partitioned VQ -> decoder (Fig. 2), on a classifier representation with
    ``feature_channels`` channels.

    ``keys_per_class``: |D| / N_C. ``dim``: K, the dictionary's vector size (the adapter's output
    channels). ``normalize``: L2-normalise adapted vectors (App. D's ``F.normalize``), so that keys and
    vectors live on the unit sphere. ``decoder_widths``: channels of the upsampling stages (as many as
    the classifier halves the input; see :func:`upsampling_stages`).

    ``quantised_block`` (1-based; 0: the last block, as the paper): the classifier block whose map is
    adapted and quantised (``feature_channels`` wide). A block before the last (our addition) gives a finer
    "where" at one level's cost; the last block still makes the decision that picks the class's keys.

    Two levels (App. D's VQ-VAE2-like interpreter) when ``skip_block`` > 0: the classifier's block
    ``skip_block`` (1-based, ``skip_channels`` channels) is a finer representation; ``decoder_widths`` then
    bring the coarse code to that block's size, a 1x1 adapter maps [decoded coarse code, finer
    representation] to ``skip_dim`` channels, a second dictionary (``keys_per_class`` keys per class
    again) quantises it with the same class, and ``skip_widths`` decode [second code, decoded coarse
    code] to the mask.

    Input head (``input_channels`` > 0, our addition, not in the paper): the last decoder stops before its
    1-channel head, and a small head (``input_kernel`` square conv to ``input_width``, ReLU, 1x1 conv) maps
    [decoded code, input divided by its maximum] to the mask logit. *Where* the mask lies still comes only from the
    class's codes; the input, unquantised, lets its edge follow single time-frequency bins, which no
    decoder of codes at half resolution can: the event masks of ``sounds`` (bins where the event beats the
    noise) average-pooled by 2 and brought back score an IoU of only 0.70 against themselves. With an
    input head the last decoder may have fewer x2 stages than the size needs: it is then resized
    bilinearly (:class:`MaskDecoder`). ``head_upsamples``: the code's part of the
    head's first layer is the last x2 transposed convolution itself (the last decoder stops one stage
    short), so at the input size only the input's ``input_kernel`` conv, a ReLU and the 1x1 output run.
    """

    def __init__(self, feature_channels: int, n_classes: int, *, keys_per_class: int = 8, dim: int = 64,
                 normalize: bool = True, decoder_widths: tuple[int, ...] = (64, 32, 16), latent_blocks: int = 1,
                 skip_block: int = 0, skip_channels: int = 0, skip_dim: int = 8, skip_widths: tuple[int, ...] = (),
                 input_channels: int = 0, input_width: int = 8, input_kernel: int = 3, head_upsamples: bool = False,
                 quantised_block: int = 0):
        super().__init__()
        if quantised_block and skip_block and skip_block >= quantised_block:
            raise ValueError(f"The finer level (block {skip_block}) must come before the quantised block ({quantised_block}).")
        self.normalize = normalize
        self.quantised_block = int(quantised_block)
        self.skip_block = int(skip_block)
        self.input_channels = int(input_channels)
        self.adapter = nn.Conv2d(feature_channels, dim, 3, padding=1)
        self.codebook = ClassPartitionedCodebook(n_classes, keys_per_class, dim)
        last_has_head = not self.input_channels
        self.decoder = MaskDecoder(dim, tuple(decoder_widths), latent_blocks, head=not self.skip_block and last_has_head)
        if self.skip_block:
            coarse = self.decoder.out_channels
            self.skip_adapter = nn.Conv2d(coarse + skip_channels, skip_dim, 1)
            self.skip_codebook = ClassPartitionedCodebook(n_classes, keys_per_class, skip_dim)
            self.skip_decoder = MaskDecoder(skip_dim + coarse, tuple(skip_widths), 0, head=last_has_head)
        if self.input_channels:
            decoded = (self.skip_decoder if self.skip_block else self.decoder).out_channels
            # head_upsamples: the code's part of the head's first layer is the last x2 transposed convolution
            # itself (the decoder then stops one stage short), and only the input's part runs at full size.
            self.input_head = nn.Sequential(nn.Conv2d((0 if head_upsamples else decoded) + self.input_channels, input_width,
                                                      input_kernel, padding=input_kernel // 2), nn.ReLU(), nn.Conv2d(input_width, 1, 1))
            self.code_up = nn.ConvTranspose2d(decoded, input_width, 4, stride=2, padding=1) if head_upsamples else None
        else:
            self.code_up = None

    def _unit(self, h: torch.Tensor) -> torch.Tensor:
        """``F.normalize(h, dim=1)`` (unit vectors over channels), written as a channel sum of squares,
        which runs over contiguous planes (the norm over dim 1 takes several times longer on CPU)."""
        return h / h.square().sum(1, keepdim=True).sqrt().clamp_min(1e-12) if self.normalize else h

    def adapt(self, features: torch.Tensor) -> torch.Tensor:
        return self._unit(self.adapter(features))

    def _decode(self, decoder: MaskDecoder, codes: torch.Tensor, size: tuple[int, int], inputs: torch.Tensor | None) -> torch.Tensor:
        """The mask logit ``(N, 1, H, W)`` from the last decoder; with an input head, from the decoder's
        output and the input (the head's first layer split by its two inputs: no concatenated copy)."""
        decoded = decoder.layers(codes)
        if not self.input_channels:
            return fit_size(decoded, size)
        if inputs is None:
            raise ValueError("This interpreter reads the input at its head: pass the classifier's input as inputs.")
        first, last = self.input_head[0], self.input_head[2]
        k = decoded.shape[1]
        x = normalised_input(inputs)
        if self.code_up is not None:
            mixed = fit_size(self.code_up(decoded), size) + first(x)
        else:
            pad = first.padding
            mixed = F.conv2d(fit_size(decoded, size), first.weight[:, :k], None, 1, pad) + F.conv2d(x, first.weight[:, k:], first.bias, 1, pad)
        return pointwise(torch.relu(mixed), last.weight.flatten(1), last.bias)

    def forward(self, features: torch.Tensor, classes: torch.Tensor, size: tuple[int, int],
                skip: torch.Tensor | None = None, inputs: torch.Tensor | None = None) -> Interpretation:
        h = self.adapt(features)
        q = self.codebook(h, classes)
        if not self.skip_block:
            return Interpretation(self._decode(self.decoder, q.straight_through, size, inputs), (h,), (q.codes,), q.indices)
        if skip is None:
            raise ValueError(f"This interpreter has two levels: pass the classifier's block {self.skip_block} output as skip.")
        coarse = self.decoder(q.straight_through, tuple(skip.shape[-2:]))
        # The 1x1 adapter of [coarse, skip], split by its two inputs (no concatenated copy).
        weight = self.skip_adapter.weight.flatten(1)
        c = coarse.shape[1]
        h2 = self._unit(pointwise(coarse, weight[:, :c], self.skip_adapter.bias) + pointwise(skip, weight[:, c:]))
        q2 = self.skip_codebook(h2, classes)
        logits = self._decode(self.skip_decoder, torch.cat([q2.straight_through, coarse], 1), size, inputs)
        return Interpretation(logits, (h, h2), (q.codes, q2.codes), q.indices)


def normalised_input(x: torch.Tensor) -> torch.Tensor:
    """The input each sample divided by its own maximum magnitude (levels vary by tens of dB between clips)."""
    return x / x.abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)


def upsampling_stages(input_size: tuple[int, int], feature_size: tuple[int, int]) -> int:
    """How many x2 stages bring a ``feature_size`` map back to at least ``input_size`` (the classifier's
    total stride as a power of two)."""
    ratio = max(input_size[0] / feature_size[0], input_size[1] / feature_size[1])
    return max(0, int(np.ceil(np.log2(ratio - 1e-6))))


def weights_fingerprint(module: nn.Module) -> torch.Tensor:
    """SHA-256 of a module's weights as a ``(32,)`` uint8 tensor (stored beside the interpreter)."""
    return torch.tensor(list(state_digest(module.state_dict())), dtype=torch.uint8)


@dataclass
class PIQResult:
    """One batch interpreted: ``mask`` ``(N, H, W)`` in (0, 1) for class ``target`` ``(N,)``, the
    classifier's ``logits`` ``(N, C)`` on the input and the code ``indices`` ``(N, h, w)``."""

    mask: torch.Tensor
    logits: torch.Tensor
    target: torch.Tensor
    indices: torch.Tensor

    @property
    def prediction(self) -> torch.Tensor:
        return self.logits.argmax(1)


class PIQModel(nn.Module):
    """A frozen classifier (BlockCNN-like: ``features``, ``pool``, ``classifier``) with its PIQ interpreter.

    ``forward(x)`` is the classifier's logits (the model being explained); :meth:`interpret` gives the
    mask for the predicted class or for any chosen class, from one pass through the classifier.
    The classifier stays in eval mode whatever ``train()`` is called with.
    """

    def __init__(self, backbone: nn.Module, interpreter: PIQInterpreter):
        super().__init__()
        for name in ("features", "classifier"):
            if not hasattr(backbone, name):
                raise ValueError(f"PIQ interprets CNNs with a feature map and a classifier (BlockCNN); {type(backbone).__name__} has no {name!r}.")
        self.backbone = backbone.eval()
        self.interpreter = interpreter
        self.register_buffer("backbone_fingerprint", weights_fingerprint(backbone))

    # -- state: the interpreter and the classifier's fingerprint, never the classifier
    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        out = OrderedDict() if destination is None else destination
        out[prefix + "backbone_fingerprint"] = self.backbone_fingerprint if keep_vars else self.backbone_fingerprint.detach()
        self.interpreter.state_dict(destination=out, prefix=prefix + "interpreter.", keep_vars=keep_vars)
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        stored = state_dict.get("backbone_fingerprint")
        if stored is None or not torch.equal(stored.cpu().to(torch.uint8), weights_fingerprint(self.backbone).cpu()):
            raise StalePIQError("the stored PIQ interpreter was trained on other classifier weights; retrain it.")
        inner = {k[len("interpreter."):]: v for k, v in state_dict.items() if k.startswith("interpreter.")}
        if strict:
            unexpected = [k for k in state_dict if k != "backbone_fingerprint" and not k.startswith("interpreter.")]
            if unexpected:
                raise RuntimeError(f"Unexpected key(s) in PIQ state: {', '.join(unexpected)}")
        self.backbone_fingerprint.copy_(stored.to(self.backbone_fingerprint.device))
        return self.interpreter.load_state_dict(inner, strict=strict)

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()
        return self

    # -- the classifier, so this module stands in for it (Grad-CAM baselines, Compare's probabilities)
    @property
    def n_classes(self) -> int:
        return self.interpreter.codebook.n_classes

    @property
    def gradcam_layer(self) -> nn.Module:
        return self.backbone.gradcam_layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def classify_features(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, C)`` from the classifier's last feature map (global average pool, linear)."""
        return self.backbone.classifier(features.mean((2, 3)))

    def representations(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The classifier's last feature map (its decision), the map the interpreter quantises (the same, or
        its ``quantised_block``'s) and, for a two-level interpreter, its ``skip_block``'s (else None)."""
        quantised, skip_block = self.interpreter.quantised_block, self.interpreter.skip_block
        if not quantised and not skip_block:
            features = self.backbone.features(x)
            return features, features, None
        outputs = self.backbone.block_outputs(x)
        return outputs[-1], outputs[quantised - 1] if quantised else outputs[-1], outputs[skip_block - 1] if skip_block else None

    @torch.no_grad()
    def interpret(self, x: torch.Tensor, target: torch.Tensor | None = None) -> PIQResult:
        """Masks ``(N, H, W)`` of inputs ``x`` ``(N, C, H, W)`` for class ``target`` ``(N,)`` (default: the
        classifier's prediction), quantised with that class's keys only."""
        features, quantised, skip = self.representations(x)
        logits = self.classify_features(features)
        target = logits.argmax(1) if target is None else target.to(logits.device).long().view(-1)
        out = self.interpreter(quantised, target, tuple(x.shape[-2:]), skip, x if self.interpreter.input_channels else None)
        return PIQResult(out.mask, logits, target, out.indices)
