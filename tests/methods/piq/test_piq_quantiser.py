"""The PIQ interpreter: class-restricted quantisation (Eq. 1), straight-through gradients, Eq. 2's terms,
the decoder's output size, and a state that refuses other classifier weights."""
from __future__ import annotations

import pytest
import torch

from interp_core.methods.piq.model import (
    ClassPartitionedCodebook,
    PIQInterpreter,
    PIQModel,
    StalePIQError,
    upsampling_stages,
)
from interp_core.methods.piq.training import piq_loss
from interp_core.models import build_model


def test_quantisation_only_uses_the_chosen_classs_keys():
    torch.manual_seed(0)
    book = ClassPartitionedCodebook(n_classes=4, keys_per_class=3, dim=5)
    h = torch.randn(6, 5, 2, 3)
    classes = torch.tensor([0, 1, 2, 3, 2, 0])
    indices = book.nearest(h, classes)
    assert indices.shape == (6, 2, 3)
    assert torch.equal(indices // 3, classes.view(-1, 1, 1).expand(-1, 2, 3))
    # brute force: the argmin over the class's keys of the squared distance, for every vector
    keys = book.weight.detach().view(4, 3, 5)
    for n in range(6):
        d = ((h[n].permute(1, 2, 0)[..., None, :] - keys[classes[n]]) ** 2).sum(-1)  # (2, 3, keys)
        assert torch.equal(indices[n], classes[n] * 3 + d.argmin(-1))


def test_a_vector_equal_to_another_classs_key_still_gets_a_key_of_the_chosen_class():
    book = ClassPartitionedCodebook(n_classes=3, keys_per_class=2, dim=4)
    with torch.no_grad():
        book.weight.copy_(torch.eye(4).repeat(2, 1)[:6] * torch.arange(1, 7).view(-1, 1))
    h = book.weight.detach()[5].view(1, 4, 1, 1)  # exactly key 5 (class 2)
    assert int(book.nearest(h, torch.tensor([2]))) == 5
    chosen = int(book.nearest(h, torch.tensor([0])))
    assert chosen in (0, 1)
    out = book(h, torch.tensor([0]))
    torch.testing.assert_close(out.codes[0, :, 0, 0], book.weight.detach()[chosen])


def test_straight_through_gradient_is_the_identity_and_codes_reach_the_dictionary_only_through_eq2():
    torch.manual_seed(1)
    book = ClassPartitionedCodebook(n_classes=2, keys_per_class=4, dim=3)
    h = torch.randn(2, 3, 4, 4, requires_grad=True)
    out = book(h, torch.tensor([1, 0]))
    torch.testing.assert_close(out.straight_through, out.codes.detach())  # forward: the codes
    weights = torch.randn_like(h)
    (out.straight_through * weights).sum().backward()
    torch.testing.assert_close(h.grad, weights)  # backward: identity to h
    assert book.weight.grad is None  # the decoder path never moves the dictionary


def test_eq2_codebook_term_moves_keys_and_commitment_term_moves_the_adapter():
    torch.manual_seed(2)
    interpreter = PIQInterpreter(6, 2, keys_per_class=2, dim=4, decoder_widths=(4,), latent_blocks=0)
    features = torch.randn(3, 6, 2, 2)
    out = interpreter(features, torch.tensor([0, 1, 1]), (4, 4))
    terms = piq_loss(out, torch.ones(3, 4, 4))
    torch.testing.assert_close(terms["codebook"], terms["commitment"])  # the same squared distance, two stop-gradients
    book_grad = torch.autograd.grad(terms["codebook"], [interpreter.codebook.weight, interpreter.adapter.weight], allow_unused=True)
    assert book_grad[0] is not None and book_grad[0].abs().sum() > 0 and book_grad[1] is None
    commit_grad = torch.autograd.grad(terms["commitment"], [interpreter.codebook.weight, interpreter.adapter.weight], allow_unused=True)
    assert commit_grad[0] is None and commit_grad[1].abs().sum() > 0
    expected = terms["reconstruction"] + terms["codebook"] + terms["commitment"]
    torch.testing.assert_close(terms["loss"], expected)


@pytest.mark.parametrize("input_shape,arch,kwargs", [
    ((1, 28, 28), "cnn", {"first_stride": 1, "widths": (4, 6, 8, 8)}),
    ((3, 64, 64), "cnn", {"widths": (4, 6, 8, 8)}),
    ((1, 257, 182), "audio-cnn", {"widths": (4, 6, 8, 8)}),
])
def test_masks_have_the_input_size_and_the_decoder_the_backbones_stride(input_shape, arch, kwargs):
    torch.manual_seed(0)
    backbone = build_model(arch, in_channels=input_shape[0], num_classes=3, **kwargs).eval()
    with torch.no_grad():
        feature = backbone.features(torch.zeros(1, *input_shape))
    stages = upsampling_stages(input_shape[1:], tuple(feature.shape[-2:]))
    assert stages == {28: 2, 64: 3, 257: 4}[input_shape[1]]
    model = PIQModel(backbone, PIQInterpreter(feature.shape[1], 3, keys_per_class=2, dim=4, decoder_widths=(4,) * stages)).eval()
    x = torch.rand(2, *input_shape)
    result = model.interpret(x, torch.tensor([2, 0]))
    assert result.mask.shape == (2, *input_shape[1:]) and float(result.mask.min()) > 0 and float(result.mask.max()) < 1
    assert torch.equal(result.indices // 2, torch.tensor([2, 0]).view(-1, 1, 1).expand_as(result.indices))
    torch.testing.assert_close(model(x), backbone(x))  # the model being explained is the classifier


def test_state_holds_only_the_interpreter_and_refuses_other_classifier_weights():
    torch.manual_seed(0)
    backbone = build_model("cnn", in_channels=1, num_classes=3, widths=(4, 6, 8, 8), first_stride=1).eval()
    model = PIQModel(backbone, PIQInterpreter(8, 3, keys_per_class=2, dim=4, decoder_widths=(4, 4)))
    state = model.state_dict()
    assert "backbone_fingerprint" in state and all(k == "backbone_fingerprint" or k.startswith("interpreter.") for k in state)
    twin = PIQModel(backbone, PIQInterpreter(8, 3, keys_per_class=2, dim=4, decoder_widths=(4, 4)))
    twin.load_state_dict(state)
    torch.testing.assert_close(twin.interpreter.codebook.weight, model.interpreter.codebook.weight)
    other = build_model("cnn", in_channels=1, num_classes=3, widths=(4, 6, 8, 8), first_stride=1).eval()
    with pytest.raises(StalePIQError):
        PIQModel(other, PIQInterpreter(8, 3, keys_per_class=2, dim=4, decoder_widths=(4, 4))).load_state_dict(state)
    model.train()
    assert model.interpreter.training and not model.backbone.training


def test_a_two_level_interpreter_quantises_both_levels_with_the_chosen_classs_keys():
    """App. D's two levels: the finer block is quantised too, with the same class's part of a second dictionary."""
    torch.manual_seed(3)
    backbone = build_model("audio-cnn", in_channels=1, num_classes=3, widths=(4, 6, 8, 8)).eval()
    interpreter = PIQInterpreter(8, 3, keys_per_class=2, dim=4, decoder_widths=(4, 4, 4), skip_block=1, skip_channels=4,
                                 skip_dim=3, skip_widths=(4,))
    model = PIQModel(backbone, interpreter).eval()
    x = torch.rand(2, 1, 257, 40)
    _, features, skip = model.representations(x)
    assert tuple(skip.shape[-2:]) == (129, 20)
    classes = torch.tensor([2, 1])
    out = interpreter(features, classes, (257, 40), skip)
    assert out.logits.shape == (2, 1, 257, 40) and len(out.adapted) == len(out.codes) == 2
    fine = interpreter.skip_codebook.nearest(out.adapted[1], classes)
    assert torch.equal(fine // 2, classes.view(-1, 1, 1).expand_as(fine))
    torch.testing.assert_close(out.codes[1], interpreter.skip_codebook.weight[fine].permute(0, 3, 1, 2))
    terms = piq_loss(out, torch.zeros(2, 257, 40))
    torch.testing.assert_close(terms["codebook"], sum(((q - h) ** 2).mean() for h, q in zip(out.adapted, out.codes)))
    assert model.interpret(x, classes).mask.shape == (2, 257, 40)


def test_an_input_head_reads_the_input_but_the_class_codes_still_decide_the_mask():
    """The input head (our addition): the mask logit comes from [decoded codes, input / max], so a mask can
    follow single bins of the input, and asking for another class still changes it through the codes."""
    torch.manual_seed(4)
    backbone = build_model("audio-cnn", in_channels=1, num_classes=3, widths=(4, 6, 8, 8)).eval()
    interpreter = PIQInterpreter(8, 3, keys_per_class=2, dim=4, decoder_widths=(4, 4, 4), skip_block=1, skip_channels=4,
                                 skip_dim=3, skip_widths=(4,), input_channels=1, input_width=4)
    assert interpreter.skip_decoder.out_channels == 4  # no 1-channel head: the input head makes the logit
    model = PIQModel(backbone, interpreter).eval()
    x = torch.rand(2, 1, 257, 40)
    _, features, skip = model.representations(x)
    classes = torch.tensor([2, 1])
    with pytest.raises(ValueError, match="pass the classifier's input"):
        interpreter(features, classes, (257, 40), skip)
    out = interpreter(features, classes, (257, 40), skip, x)
    assert out.logits.shape == (2, 1, 257, 40)
    # The same codes with the input scaled: the head sees input / max, so the mask is unchanged ...
    torch.testing.assert_close(interpreter(features, classes, (257, 40), skip, 3 * x).logits, out.logits)
    # ... while changing one input bin changes the mask around that bin only.
    bumped = x.clone()
    bumped[0, 0, 100, 20] = 0.0
    diff = (interpreter(features, classes, (257, 40), skip, bumped).logits - out.logits).abs()[0, 0]
    assert diff[100, 20] > 0 and diff[99:102, 19:22].sum() == diff.sum()
    # The whole path end to end, for the predicted class and another one.
    mask = model.interpret(x).mask
    other = model.interpret(x, (model.interpret(x).target + 1) % 3).mask
    assert mask.shape == (2, 257, 40) and not torch.allclose(mask, other)


def test_the_energy_oracle_is_perfect_when_told_the_exact_region_of_a_noise_free_mask(monkeypatch):
    """energy_oracle_iou: with no dilation and a mask that is exactly where the input has energy, the
    oracle finds it (IoU 1); dilating the region lets in bins of the other (weaker) source, lowering it."""
    import numpy as np

    from interp_core.methods.piq import ceiling as metrics

    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 0.05, size=(4, 1, 16, 12)).astype(np.float32)
    masks = np.zeros((4, 16, 12), dtype=bool)
    masks[:, 4:8, 3:6] = True
    x[:, 0][masks] = 1.0
    x[:, 0, 8:10, 3:6] = 0.5  # a weaker neighbour just outside the mask
    class ToySplit:
        extras = {"masks": masks}

        def __len__(self):
            return len(x)

        def inputs(self, index):
            return torch.from_numpy(x[index])

    split = ToySplit()
    monkeypatch.setattr(metrics, "load_split", lambda name, part: split)
    assert metrics.energy_oracle_iou("toy", dilation=1)["iou"] == 1.0
    # Dilated by 5 the region takes in the 6 neighbour bins (0.5): no threshold up to 0.3 removes them,
    # 12 / 18; a threshold range reaching past 0.5 separates them again.
    assert metrics.energy_oracle_iou("toy", dilation=5)["iou"] == pytest.approx(12 / 18)
    wide = metrics.energy_oracle_iou("toy", dilation=5, max_threshold=0.9, thresholds=10)
    assert wide["iou"] == 1.0 and 0.5 <= wide["threshold"] < 1.0


def test_an_input_head_that_upsamples_reads_the_code_once_at_half_size():
    """head_upsamples: the last x2 transposed convolution is the code's part of the head's first layer, so
    the decoder stops one stage short and only the input's 3x3 part runs at the input size."""
    torch.manual_seed(5)
    backbone = build_model("audio-cnn", in_channels=1, num_classes=3, widths=(4, 6, 8, 8)).eval()
    interpreter = PIQInterpreter(8, 3, keys_per_class=2, dim=4, decoder_widths=(4, 4, 4), skip_block=1, skip_channels=4,
                                 skip_dim=3, skip_widths=(), input_channels=1, input_width=4, head_upsamples=True)
    assert interpreter.input_head[0].in_channels == 1 and interpreter.code_up.in_channels == 3 + 4
    model = PIQModel(backbone, interpreter).eval()
    x = torch.rand(2, 1, 257, 40)
    _, features, skip = model.representations(x)
    classes = torch.tensor([0, 2])
    out = interpreter(features, classes, (257, 40), skip, x)
    assert out.logits.shape == (2, 1, 257, 40)
    bumped = x.clone()
    bumped[1, 0, 50, 10] = 0.0
    diff = (interpreter(features, classes, (257, 40), skip, bumped).logits - out.logits).abs()
    assert diff[0].sum() == 0 and diff[1, 0, 50, 10] > 0 and diff[1, 0, 49:52, 9:12].sum() == diff.sum()
    assert not torch.allclose(model.interpret(x, torch.tensor([0, 0])).mask, model.interpret(x, torch.tensor([1, 1])).mask)


def test_a_quantised_earlier_block_gives_finer_codes_while_the_last_block_decides():
    """quantised_block (our addition): the interpreter quantises block k; the decision, and so the class
    whose keys are used by default, still comes from the classifier's last block."""
    torch.manual_seed(5)
    backbone = build_model("audio-cnn", in_channels=1, num_classes=3, widths=(4, 6, 8, 8)).eval()
    x = torch.rand(2, 1, 257, 40)
    with torch.no_grad():
        outputs = backbone.block_outputs(x)
    interpreter = PIQInterpreter(outputs[2].shape[1], 3, keys_per_class=2, dim=4, decoder_widths=(4, 4, 4), quantised_block=3)
    model = PIQModel(backbone, interpreter).eval()
    decision, quantised, skip = model.representations(x)
    assert skip is None and torch.equal(decision, outputs[-1]) and torch.equal(quantised, outputs[2])
    result = model.interpret(x)
    assert tuple(result.indices.shape[-2:]) == tuple(outputs[2].shape[-2:]) != tuple(outputs[-1].shape[-2:])
    torch.testing.assert_close(result.logits, backbone(x))
    assert torch.equal(result.target, backbone(x).argmax(1)) and result.mask.shape == (2, 257, 40)
    assert torch.equal(result.indices // 2, result.target.view(-1, 1, 1).expand_as(result.indices))
    with pytest.raises(ValueError, match="must come before"):
        PIQInterpreter(8, 3, decoder_widths=(4,), quantised_block=2, skip_block=2, skip_channels=4)
