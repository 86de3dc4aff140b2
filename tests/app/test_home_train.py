"""The Home page's Train button goes through the library's refusal, so a GPU-sized recipe on a CPU gets the
CLI's message, word for word, and nothing trains."""
from __future__ import annotations

import pytest

from page_runner import open_page

GPU_RECIPE = "resnet50-cub"


@pytest.fixture
def fixed_estimate(monkeypatch):
    """The CPU estimate is measured now; fix it so that the two messages can be compared exactly."""
    from interp_core.external import estimate

    measured = {"seconds": 3.5e7, "per_sample_seconds": 58.34, "samples": 5994, "passes": 100.0,
                "measured_shape": (3, 64, 64), "threads": 2}
    monkeypatch.setattr(estimate, "estimate_cpu_seconds", lambda name: dict(measured))


def test_home_train_refuses_a_gpu_sized_recipe_with_the_cli_message(fixed_estimate, monkeypatch, capsys):
    import app.models
    from interp_core.cli import main
    from interp_core.device import choose_device
    from interp_core.guards import markdown_escape
    from interp_core.store import models as store_models

    if choose_device().type == "cuda":
        pytest.skip("the refusal is for machines without CUDA")
    assert main(["train", GPU_RECIPE]) == 2
    cli = capsys.readouterr().err.strip()
    assert cli.startswith("error: ") and "sized for a GPU" in cli
    message = cli.removeprefix("error: ")

    def only_the_gpu_recipe_missing():
        return [{"model": GPU_RECIPE, "family": "standard", "dataset": "cub", "status": "missing", "trained by": None,
                 app.models.RECORDED_ACCURACY: None, "recorded on": None, "description": "GPU-sized"}]

    only_the_gpu_recipe_missing.clear = lambda: None
    monkeypatch.setattr(app.models, "model_table", only_the_gpu_recipe_missing)
    started = []
    monkeypatch.setattr(store_models.HANDLERS.get("classifier"), "train", lambda *a, **k: started.append(a))
    at = open_page()
    button = next(b for b in at.button if b.label.startswith("Train 1 missing model"))
    button.click().run()
    errors = [e.value for e in at.error]
    assert any(markdown_escape(message) in e for e in errors), (message, errors)
    assert not started  # refused before anything trained
