"""TTQ and DoReFa baselines, and quantizing whole models."""

import pytest
import torch
from torch import nn

from sw.quant import (DoReFaQuantizer, QuantConfig, TTQQuantizer, export_quantized,
                      parameter_groups, quantize_model, quantized_layers)


# The same gradients either way: the authors' normalized baseline divides the values by
# max(W_p, W_n) = 0.5 but applies the gradients of the undivided values (their get_grads).
@pytest.mark.parametrize("normalize, values, w_r, w_l", [
    (False, [-0.25, 0, 0, 0, 0.5, 0.5], 0.5, -0.25),
    (True, [-0.5, 0, 0, 0, 1.0, 1.0], 1.0, -0.5),
])
def test_ttq_values_and_gradients(normalize, values, w_r, w_l):
    w0 = torch.tensor([-2.0, -0.05, 0.0, 0.09, 1.0, 0.11])   # Δ = 0.05·2 = 0.1
    q = TTQQuantizer(w0, 0.05, normalize=normalize)
    assert q.codes(w0).tolist() == [-1, 0, 0, 0, 1, 1]
    assert q.w_p.item() == pytest.approx(0.555) and q.w_n.item() == pytest.approx(2.0)
    with torch.no_grad():
        q.w_p.fill_(0.5)
        q.w_n.fill_(0.25)
    w = w0.clone().requires_grad_(True)
    c = torch.arange(1.0, 7.0)
    out = q(w)
    assert out.tolist() == pytest.approx(values)
    (out * c).sum().backward()
    assert w.grad.tolist() == pytest.approx([0.25 * 1, 2, 3, 4, 0.5 * 5, 0.5 * 6])
    assert float(q.w_p.grad) == pytest.approx(5 + 6)
    assert float(q.w_n.grad) == pytest.approx(-1)        # d(-W_n·1)/dW_n
    e = q.export(w0)
    assert (e["w_r"], e["w_l"]) == (w_r, w_l)


def test_ttq_unit_start_and_a_layer_without_positive_weights():
    w0 = torch.tensor([-2.0, -0.05, 0.0, 0.09, 1.0, 0.11])
    # TTQ maps negatives to -W_n: the authors' (1, 1) is already the unit start.
    for start in ("unit", "code"):
        qu = TTQQuantizer(w0, 0.05, init_scales=start)
        assert qu(w0).tolist() == [-1.0, 0, 0, 0, 1.0, 1.0]
    # A layer with no positive weight divides by W_n alone.
    wn = torch.tensor([-2.0, -1.0, 0.0])
    qn = TTQQuantizer(wn, 0.05, normalize=True)
    with torch.no_grad():
        qn.w_p.fill_(4.0)
        qn.w_n.fill_(0.5)
    assert qn(wn).tolist() == [-1.0, -1.0, 0.0]


def test_dorefa_binary_values_and_identity_gradient():
    w0 = torch.tensor([[-3.0, 1.0], [0.0, 2.0]])            # mean |w| = 1.5
    w = w0.clone().requires_grad_(True)
    q = DoReFaQuantizer()
    out = q(w)
    assert out.tolist() == [[-1.5, 1.5], [1.5, 1.5]]
    (out * torch.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert w.grad.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    pc = DoReFaQuantizer(per_channel=True)(w0)
    assert pc.tolist() == [[-2.0, 2.0], [1.0, 1.0]]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(2, 4, 3)
        self.c2 = nn.Conv2d(1, 3, 3)
        self.fc = nn.Linear(5, 2)


@pytest.mark.parametrize("method", ["attq", "ttq", "dorefa"])
def test_quantize_any_layer_type_and_export(method):
    torch.manual_seed(1)
    net = Net()
    fp = {n: m.weight.detach().clone() for n, m in net.named_children()}
    quantize_model(net, QuantConfig(method=method, layers=["c1", "c2", "fc"]))
    assert list(quantized_layers(net)) == ["c1", "c2", "fc"]
    ex = export_quantized(net)
    for name, m in net.named_children():
        rec = ex[name]
        assert rec["codes"].dtype == torch.int8 and rec["shape"] == list(fp[name].shape)
        assert set(rec["codes"].unique().tolist()) <= {-1, 0, 1}
        rebuilt = rec["w_r"] * (rec["codes"] == 1) + rec["w_l"] * (rec["codes"] == -1)
        torch.testing.assert_close(m.weight.detach(), rebuilt.float())
        torch.testing.assert_close(m.parametrizations.weight.original.detach(), fp[name])
        torch.testing.assert_close(rec["bias"], m.bias.detach())
    groups = parameter_groups(net)
    assert len(groups["fp_copies"]) == 3
    assert len(groups["scales"]) == (0 if method == "dorefa" else 6)
    assert len(groups["other"]) == 3  # the biases
    n_all = len(list(net.parameters()))
    assert sum(len(g) for g in groups.values()) == n_all


def test_quantize_rejects_unknown_layers_and_methods():
    with pytest.raises(ValueError, match="not in the model"):
        quantize_model(Net(), QuantConfig(method="attq", layers=["nope"]))
    with pytest.raises(ValueError, match="method"):
        QuantConfig(method="int4")


def test_empty_layer_list_means_the_papers_selection():
    from sw.models import build_preset
    m = quantize_model(build_preset("esr_cnn_transformer"), QuantConfig(method="attq"))
    assert list(quantized_layers(m)) == ["conv2"] + [f"encoder.layers.{i}.linear2"
                                                      for i in range(4)]
    with pytest.raises(ValueError, match="no layers"):
        quantize_model(Net(), QuantConfig(method="ttq"))
