"""Model architectures, one file per family, built by name through a registry (as torchvision/timm)."""
from interp_core.models.registry import ARCHITECTURES, build_model, register_architecture

__all__ = ["ARCHITECTURES", "build_model", "register_architecture"]
