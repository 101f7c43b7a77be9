"""Compiler pieces against PyTorch itself: batch-norm folding, int8 weights, graph reading,
and whole small models (conv2d + BN + LeakyReLU + pool, conv1d) compiled and executed."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sw.compiler.compiler import compile_model
from sw.compiler.graph import extract_stages
from sw.compiler.lower import fold_batch_norm, int8_per_channel
from sw.errors import InputError
from sw.golden.executor import execute
from sw.quant import QuantConfig, export_quantized, quantize_model
from sw.spec import ActMode


def _randomise_bn(model, seed):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.3)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.randn(m.num_features, generator=g))  # some negative
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.2)


class Net2d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6, eps=1e-3)
        self.conv2 = nn.Conv2d(6, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.act = nn.LeakyReLU(0.05)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 3 * 4, 5)
        self.drop = nn.Dropout(0.2)

    def forward(self, x):
        x = self.pool(self.act(self.bn1(self.conv1(x))))
        x = self.pool(self.act(self.bn2(self.conv2(x))))
        return self.drop(self.fc(x.flatten(1)))


class Net1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(2, 8, 5, stride=2, padding=2)
        self.bn = nn.BatchNorm1d(8)
        self.conv2 = nn.Conv1d(8, 8, 3)
        self.fc = nn.Linear(8 * 8, 3)

    def forward(self, x):
        x = F.max_pool1d(F.relu(self.bn(self.conv1(x))), 2)
        x = F.relu(self.conv2(x))
        return F.log_softmax(self.fc(x.flatten(1)), dim=1)


def test_fold_batch_norm_matches_pytorch():
    torch.manual_seed(0)
    m = Net2d().eval()
    _randomise_bn(m, 1)
    stages, _ = extract_stages(m, torch.randn(2, 2, 12, 16))
    k, t = fold_batch_norm(stages[0])
    x = torch.randn(3, 2, 12, 16)
    with torch.no_grad():
        want = m.bn1(m.conv1(x))
        w = m.conv1.weight * torch.tensor(k, dtype=torch.float32).view(-1, 1, 1, 1)
        b = m.conv1.bias * torch.tensor(k, dtype=torch.float32) + torch.tensor(
            t, dtype=torch.float32)
        got = F.conv2d(x, w, b, padding=1)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_int8_per_channel():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3, 3, 3)) * np.array([1e-3, 1, 10, 0]).reshape(-1, 1, 1, 1)
    q, s = int8_per_channel(w)
    assert q.dtype == np.int8
    assert (np.abs(q[:3]).reshape(3, -1).max(axis=1) == 127).all()  # full range used
    assert (q[3] == 0).all() and s[3] == 1.0
    err = np.abs(q * s.reshape(-1, 1, 1, 1) - w)
    assert (err <= s.reshape(-1, 1, 1, 1) / 2 + 1e-12).all()


def test_stages_read_from_models():
    stages, tail = extract_stages(Net2d().eval(), torch.randn(1, 2, 12, 16))
    assert [(s.name, s.bn is not None, s.act, s.pool) for s in stages] == [
        ("conv1", True, ActMode.LEAKY, (2, 2)), ("conv2", True, ActMode.LEAKY, (2, 2)),
        ("fc", False, ActMode.NONE, (1, 1))]
    assert stages[0].slope == pytest.approx(0.05) and tail == []
    stages, tail = extract_stages(Net1d().eval(), torch.randn(1, 2, 40))
    assert [(s.name, s.pool) for s in stages] == [("conv1", (1, 2)), ("conv2", (1, 1)),
                                                  ("fc", (1, 1))]
    assert tail == ["log_softmax"]


class Unsupported(nn.Module):
    def __init__(self, tail):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.tail = tail

    def forward(self, x):
        return self.tail(self.conv(x))


@pytest.mark.parametrize("tail, match", [
    (torch.tanh, "tanh"),
    (nn.AvgPool2d(2), "AvgPool2d"),
    (nn.MaxPool2d(3, stride=2), "stride = window"),
])
def test_unsupported_operations_refused(tail, match):
    with pytest.raises(InputError, match=match):
        extract_stages(Unsupported(tail).eval(), torch.randn(1, 1, 8, 8))


def _agreement(model, x_cal, x_test, records=None, tol_lsb=3.0):
    prog = compile_model(model, x_cal, records=records)
    res = execute(prog, x_test)
    with torch.no_grad():
        want = model.eval()(torch.as_tensor(x_test)).numpy()
    s_out = prog.ops[-1].params["scale"] if prog.ops[-1].kind == "dequantize" else \
        [op for op in prog.host_ops if op.kind == "dequantize"][0].params["scale"]
    logits = res.int_output.reshape(len(x_test), -1) * s_out
    want_logits = want
    if prog.ops[-1].kind == "log_softmax":
        # Compare before the softmax: PyTorch's pre-softmax logits from the stages.
        from sw.compiler.graph import stage_forward
        stages, _ = extract_stages(model, torch.as_tensor(x_test[:2]))
        y = torch.as_tensor(x_test)
        with torch.no_grad():
            for s in stages:
                y = stage_forward(s, y)
        want_logits = y.numpy()
    err = np.abs(logits - want_logits) / s_out
    return prog, res, want, err


def test_conv2d_bn_leaky_model_agrees_with_pytorch():
    """Two ternary conv+BN+LeakyReLU+pool blocks and an int8 classifier (like the TFR CNN)."""
    torch.manual_seed(0)
    model = Net2d()
    _randomise_bn(model, 2)
    quantize_model(model, QuantConfig(method="attq", layers=["conv1", "conv2"]))
    model.eval()
    rng = np.random.default_rng(0)
    x_cal = rng.normal(size=(256, 2, 12, 16)).astype(np.float32)
    x_test = rng.normal(size=(200, 2, 12, 16)).astype(np.float32)
    prog, res, want, err = _agreement(model, x_cal, x_test)
    assert [op.mode for op in prog.engine_layers] == ["ternary", "ternary", "dense"]
    # Ternary lists are the exported codes, channel by channel.
    codes = export_quantized(model)["conv2"]["codes"].numpy()
    np.testing.assert_array_equal(prog.engine_layers[1].weights(), codes)
    assert prog.engine_layers[0].out_pad == (1, 1) and prog.engine_layers[1].pad == (1, 1)
    # Integer logits track PyTorch's to a few output LSBs (rounding of three layers).
    assert np.median(err) < 1.0 and np.percentile(err, 99) < 4.0
    agree = (res.output.argmax(1) == want.argmax(1)).mean()
    assert agree > 0.95


def test_conv1d_model_agrees_with_pytorch():
    torch.manual_seed(1)
    model = Net1d()
    _randomise_bn(model, 3)
    quantize_model(model, QuantConfig(method="attq", layers=["conv2"]))
    model.eval()
    rng = np.random.default_rng(1)
    x_cal = rng.normal(size=(256, 2, 40)).astype(np.float32)
    x_test = rng.normal(size=(200, 2, 40)).astype(np.float32)
    prog, res, want, err = _agreement(model, x_cal, x_test)
    l1 = prog.engine_layers[0]
    assert (l1.in_shape, l1.pad, l1.kernel, l1.stride, l1.pool) == (
        (2, 1, 40), (0, 2), (1, 5), (1, 2), (1, 2))
    assert np.median(err) < 1.0 and np.percentile(err, 99) < 4.0
    assert (res.output.argmax(1) == want.argmax(1)).mean() > 0.95
    np.testing.assert_allclose(np.exp(res.output).sum(1), 1.0, rtol=1e-9)


def test_wrong_records_refused():
    torch.manual_seed(0)
    model = Net2d()
    quantize_model(model, QuantConfig(method="attq", layers=["conv1"]))
    rec = export_quantized(model)
    rec["conv1"] = dict(rec["conv1"], w_r=rec["conv1"]["w_r"] * 2)
    with pytest.raises(InputError, match="conv1.*codes"):
        compile_model(model.eval(), np.zeros((4, 2, 12, 16), np.float32), records=rec)


def test_calibration_by_hand():
    from sw.compiler.calibrate import calibrate
    from sw.compiler.calibrate import tensor_threshold

    assert tensor_threshold([0.0, 1.0, 2.0, 3.0], "max") == 3.0
    assert tensor_threshold([0.0, 1.0, 2.0, 3.0], "percentile", 50) == 2.0  # zeros ignored
    assert tensor_threshold([0.0, 0.0], "max") == 1.0  # all zero: any scale is exact
    with pytest.raises(InputError, match="calibration"):
        tensor_threshold([1.0], "mean")
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU()).eval()
    with torch.no_grad():
        model[0].weight.copy_(torch.eye(2))
        model[0].bias.zero_()
    stages, _ = extract_stages(model, torch.zeros(1, 2))
    cal = calibrate(stages, torch.tensor([[1.0, -4.0], [2.0, 3.0]]), method="max")
    assert cal["s_in"] == pytest.approx(4 / 127) and cal["s_out"] == [pytest.approx(3 / 127)]
    cal = calibrate(stages, torch.tensor([[1.0, -4.0], [2.0, 3.0]]), method="percentile",
                    percentile=50)
    # |input| nonzero {1, 4, 2, 3}: median 2.5; ReLU outputs nonzero {1, 2, 3}: median 2.
    assert cal["s_in"] == pytest.approx(2.5 / 127) and cal["s_out"] == [pytest.approx(2 / 127)]


@pytest.mark.parametrize("quant", [
    None,
    QuantConfig(method="ttq", layers=["conv1", "conv2", "fc"]),
    QuantConfig(method="dorefa", layers=["conv2"], dorefa_per_channel=True),
])
def test_other_quantizations_compile(quant):
    """Full precision (all int8), TTQ on every layer, per-channel DoReFa (binary codes)."""
    torch.manual_seed(4)
    model = Net2d()
    _randomise_bn(model, 5)
    if quant is not None:
        quantize_model(model, quant)
    model.eval()
    rng = np.random.default_rng(2)
    x_cal = rng.normal(size=(256, 2, 12, 16)).astype(np.float32)
    x_test = rng.normal(size=(200, 2, 12, 16)).astype(np.float32)
    prog, res, want, err = _agreement(model, x_cal, x_test)
    ternary = set(quant.layers) if quant is not None else set()
    assert [op.mode for op in prog.engine_layers] == [
        "ternary" if n in ternary else "dense" for n in ("conv1", "conv2", "fc")]
    assert np.median(err) < 1.0 and np.percentile(err, 99) < 4.0
    assert (res.output.argmax(1) == want.argmax(1)).mean() > 0.95
