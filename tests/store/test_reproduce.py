"""Shipping reproduces: retraining a shipped recipe from scratch gives exactly its recorded test metrics,
and, on the same kind of machine (architecture, torch, threads, device), the same weights."""
from __future__ import annotations

import platform

import pytest
import torch


@pytest.mark.slow
def test_retraining_cnn_digits_reproduces_the_shipped_checkpoint(tmp_path, monkeypatch):
    from interp_core.store import models as store_models
    from interp_core.store.catalog import checkpoint_meta, code_status

    shipped = checkpoint_meta("cnn-digits")
    if not shipped:
        pytest.skip("no shipped cnn-digits checkpoint")
    assert code_status("cnn-digits") == "current", "the shipped checkpoint predates the current training code: reship it"
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))  # train from scratch, never read the shipped file
    torch.set_num_threads(int(shipped["threads"]))
    trained = store_models.train_recipe("cnn-digits", "cpu", show_bar=False)
    assert trained.meta["test_metrics"] == shipped["test_metrics"]
    same_machine = (shipped.get("machine") == platform.machine() and shipped["torch_version"] == torch.__version__
                    and shipped["device"] == "cpu")
    if same_machine:
        assert trained.meta["weights_sha256"] == shipped["weights_sha256"]
