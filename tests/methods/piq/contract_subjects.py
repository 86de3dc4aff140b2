"""Tiny PIQ models (an image one and an audio one) for the explanation contract test
(``tests/methods/test_contract.py`` picks this file up)."""
from __future__ import annotations

import torch

from interp_core.methods.piq.model import PIQInterpreter, PIQModel
from interp_core.models import build_model
from interp_core.store.card import ModelCard


def subjects() -> dict:
    torch.manual_seed(0)
    image_backbone = build_model("cnn", in_channels=3, num_classes=3, widths=(4, 6, 8, 10)).eval()
    image = PIQModel(image_backbone, PIQInterpreter(10, 3, keys_per_class=2, dim=4, decoder_widths=(4, 4, 4))).eval()
    # The audio spectrogram has the sounds front-end's 257 bins (and only 24 frames), so the interpretation
    # can be turned into a waveform.
    audio_backbone = build_model("audio-cnn", in_channels=1, num_classes=3, widths=(4, 6, 8, 8)).eval()
    audio = PIQModel(audio_backbone, PIQInterpreter(8, 3, keys_per_class=2, dim=4, decoder_widths=(4, 4, 4, 4))).eval()
    generator = torch.Generator().manual_seed(0)
    return {
        "PIQ image model": (image, ModelCard.for_module(image, family="piq", kind="piq", num_classes=3, input_shape=(3, 16, 16)),
                            torch.rand(3, 16, 16, generator=generator)),
        "PIQ audio model": (audio, ModelCard.for_module(audio, family="piq", kind="piq", modality="audio", num_classes=3,
                                                        input_shape=(1, 257, 24)),
                            torch.rand(1, 257, 24, generator=generator) * 3),
    }
