"""``eval`` merges the reference rows a family registers for its recipe kind into the metrics."""
from __future__ import annotations

import pytest

from interp_core.evaluation.recipe_metrics import evaluate_with_code_status
from interp_core.store.references import REFERENCES, reference_rows


@pytest.fixture
def classifier_references():
    """Reference rows registered for plain classifiers for the length of one test (none are by default)."""
    calls = []

    def rows(recipe, model, device):
        calls.append((recipe.name, type(model).__name__, str(device)))
        return {"reference_row": 0.5}

    assert reference_rows("classifier") is None
    REFERENCES.register("classifier", rows)
    yield calls
    REFERENCES.unregister("classifier")


def test_families_register_their_references_by_kind():
    from interp_core.methods.piq.references import piq_references
    from interp_core.methods.qsenn.references import qsenn_references

    assert reference_rows("qsenn") is qsenn_references and reference_rows("piq") is piq_references
    assert reference_rows("qsenn-dense") is None


def test_eval_merges_reference_rows_before_code_status(classifier_references):
    metrics = evaluate_with_code_status("cnn-digits", "cpu")
    assert classifier_references == [("cnn-digits", "BlockCNN", "cpu")]
    keys = list(metrics)
    assert metrics["reference_row"] == 0.5 and keys.index("accuracy") < keys.index("reference_row") < keys.index("code_status")
    assert "reference_row" not in evaluate_with_code_status("cnn-digits", "cpu", references=False)


def test_a_reference_may_not_overwrite_a_metric(classifier_references):
    REFERENCES.register("classifier", lambda recipe, model, device: {"accuracy": 1.0})
    with pytest.raises(KeyError, match="accuracy"):
        evaluate_with_code_status("cnn-digits", "cpu")
