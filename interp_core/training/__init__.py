"""Training engine: seeded, device-aware, with progress callbacks, early stopping and a readable log."""
from interp_core.training.engine import (
    Progress,
    evaluate_classifier,
    fit_classifier,
    predict_logits,
    seed_everything,
    split_train_val,
)

__all__ = ["Progress", "evaluate_classifier", "fit_classifier", "predict_logits", "seed_everything", "split_train_val"]
