"""The 1D CNN-transformer through the compiler: host ops against PyTorch's own modules, a
small quantized model compiled and executed against PyTorch, the file round trip, and the
refusal of unknown host op kinds."""

import hashlib
import json
import math
import struct

import numpy as np
import pytest

from sw.program.file import content_hash
import torch
from torch import nn

from sw.compiler.compiler import compile_model
from sw.compiler.graph import stage_forward
from sw.compiler.transformer import _encoder_op, front_stages
from sw.errors import InputError
from sw.golden.executor import execute, run_layer
from sw.program.host_ops import run_host_op
from sw.models.cnn_transformer import CNNTransformer
from sw.program import EngineLayer, HostOp, from_bytes, to_bytes
from sw.program.file import HEADER_SIZE
from testsupport.networks import randomise_norms, signals, small_cnn_transformer


def _rng(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_host_op_matches_torch(norm_first, activation):
    torch.manual_seed(1)
    layer = nn.TransformerEncoderLayer(16, 4, 12, dropout=0.3, activation=activation,
                                       batch_first=True, norm_first=norm_first,
                                       layer_norm_eps=1e-4)
    randomise_norms(layer, 2)
    layer = layer.double().eval()
    x = _rng(3).normal(size=(3, 7, 16)) * 2
    with torch.no_grad():
        want = layer(torch.from_numpy(x)).numpy()
    op = _encoder_op("enc", layer, {})
    got = run_host_op(op, x)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_layer_norm_and_linear_host_ops_match_torch():
    torch.manual_seed(4)
    ln = nn.LayerNorm(10, eps=1e-3).double()
    randomise_norms(ln, 5)
    lin = nn.Linear(10, 3).double()
    x = _rng(6).normal(size=(4, 5, 10)) * 3 + 1
    ln_op = HostOp("layer_norm", dict(eps=1e-3), arrays=dict(
        weight=ln.weight.detach().numpy(), bias=ln.bias.detach().numpy()))
    lin_op = HostOp("linear_float", {}, arrays=dict(
        weight=lin.weight.detach().numpy(), bias=lin.bias.detach().numpy()))
    with torch.no_grad():
        np.testing.assert_allclose(run_host_op(ln_op, x), ln(torch.from_numpy(x)).numpy(),
                                   rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(run_host_op(lin_op, x), lin(torch.from_numpy(x)).numpy(),
                                   rtol=1e-10, atol=1e-10)


def test_dequantize_map_select_token_and_class_token_by_hand():
    # int8 map (C=2, H=1, W=3): tokens are the 3 positions, features the 2 channels.
    q = np.array([[[[1, -2, 3]], [[4, 5, -128]]]], dtype=np.int8)
    op = HostOp("dequantize_map", dict(scale=0.5, map_shape=[2, 1, 3]))
    tokens = run_host_op(op, q)
    np.testing.assert_array_equal(tokens, [[[0.5, 2.0], [-1.0, 2.5], [1.5, -64.0]]])
    pe = np.arange(8, dtype=float).reshape(4, 2)
    cls = HostOp("class_token_posenc", dict(scale=2.0),
                 arrays=dict(cls_token=[10.0, -10.0], pos_encoding=pe))
    got = run_host_op(cls, tokens)
    np.testing.assert_array_equal(got, [[[20.0, -19.0], [3.0, 7.0], [2.0, 10.0],
                                         [9.0, -121.0]]])
    sel = HostOp("select_token", dict(index=0))
    np.testing.assert_array_equal(run_host_op(sel, got), [[20.0, -19.0]])


def test_class_token_posenc_matches_model():
    torch.manual_seed(7)
    model = CNNTransformer(n_samples=40, d_model=8, n_heads=2, d_hid=4, n_layers=1,
                           conv_channels=4).eval()
    with torch.no_grad():
        model.cls_token.normal_()
    x = torch.randn(2, 8, 8, dtype=torch.float64)  # 40 samples -> 8 tokens
    # The model's forward, between the conv front and the encoder.
    want = (torch.cat([model.cls_token.double().expand(2, -1, -1), x], dim=1)
            * math.sqrt(model.d_model) + model.pos_encoding.double())
    op = HostOp("class_token_posenc", dict(scale=math.sqrt(8)), arrays=dict(
        cls_token=model.cls_token.detach().reshape(-1).numpy(),
        pos_encoding=model.pos_encoding[0].numpy()))
    np.testing.assert_allclose(run_host_op(op, x.numpy()), want.detach().numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def compiled():
    model = small_cnn_transformer()
    prog = compile_model(model, signals(256, 1))
    return model, prog


def test_small_cnn_transformer_agrees_with_pytorch(compiled):
    model, prog = compiled
    kinds = [getattr(op, "kind", getattr(op, "mode", None)) for op in prog.ops]
    assert kinds[:6] == ["quantize", "dense", "ternary", "dense", "dense", "dequantize_map"]
    assert kinds.count("transformer_encoder_layer") == 2
    # linear2 is ternary: its stored float weights take the values {W_l, 0, W_r}.
    enc = [op for op in prog.host_ops if op.kind == "transformer_encoder_layer"][0]
    assert len(np.unique(enc.arrays["linear2_weight"])) <= 3
    np.testing.assert_allclose(enc.arrays["linear2_weight"],
                               model.encoder.layers[0].linear2.weight.detach().double(),
                               rtol=1e-6)
    x = signals(300, 2)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    res = execute(prog, x)
    # The engine front: the dequantized tokens against PyTorch's float conv features
    # (int8 activations: about 1 % RMS error).
    stages, _ = front_stages(model)
    feats = torch.from_numpy(x)
    with torch.no_grad():
        for st in stages:
            feats = stage_forward(st, feats)
    feats = feats.double().numpy().transpose(0, 2, 1)
    value = x
    for op in prog.ops:
        value = (run_layer(op, value.reshape((len(value),) + op.padded_shape))
                 if isinstance(op, EngineLayer) else run_host_op(op, value))
        if getattr(op, "kind", None) == "dequantize_map":
            break
    rel = np.sqrt(np.mean((value - feats) ** 2) / np.mean(feats ** 2))
    assert rel < 0.02, rel
    # Logits standardised over the inputs (errors in units of their spread). This random
    # model is sensitive (about 0.1 sigma from the 1 % feature error); decisions agree on
    # about 90 % of inputs, all three classes being predicted.
    err = np.abs(res.output - want)
    assert want.std(0).min() > 0.5
    assert err.mean() < 0.25 and err.max() < 1.0, (err.mean(), err.max())
    assert len(np.unique(want.argmax(axis=1))) == 3  # a decision that can disagree
    agree = (res.predictions() == want.argmax(axis=1)).mean()
    assert agree >= 0.8, agree
    # The two conv3 applications share weights.
    c1, c2 = [op for op in prog.engine_layers if op.name.startswith("conv3#")]
    np.testing.assert_array_equal(c1.weights(), c2.weights())


def test_round_trip_keeps_hash_and_outputs(compiled, tmp_path):
    from sw.program import load, save
    _, prog = compiled
    path = tmp_path / "t.attq"
    digest = save(prog, path)
    back = load(path)
    assert content_hash(back) == digest == content_hash(prog)
    assert save(back, tmp_path / "u.attq") == digest
    x = signals(20, 3)
    np.testing.assert_array_equal(execute(back, x).output, execute(prog, x).output)


def _rewrite_header(data, edit):
    """A valid file whose JSON header went through ``edit`` (hash recomputed)."""
    payload = data[HEADER_SIZE:]
    (jlen,) = struct.unpack_from("<I", payload)
    header = json.loads(payload[4:4 + jlen])
    blob = payload[4 + jlen + (-(4 + jlen) % 8):]
    edit(header)
    hj = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    head = struct.pack("<I", len(hj)) + hj
    head += b"\0" * (-len(head) % 8)
    new = head + blob
    return data[:12] + struct.pack("<Q", len(new)) + hashlib.sha256(new).digest() + new


def test_unknown_host_op_kind_is_refused(compiled):
    _, prog = compiled
    data = to_bytes(prog)

    def rename(h):
        for op in h["ops"]:
            if op.get("kind") == "select_token":
                op["kind"] = "rotary_attention"

    with pytest.raises(InputError, match=r"op \d+: field 'kind' = 'rotary_attention' is not "
                                         r"a host operation"):
        from_bytes(_rewrite_header(data, rename), "t.attq")


def test_missing_host_array_is_refused(compiled):
    _, prog = compiled

    def drop(h):
        for op in h["ops"]:
            if op.get("kind") == "layer_norm":
                del op["arrays"]["bias"]
                break

    with pytest.raises(InputError, match=r"t.attq: op \d+: .*layer_norm.*arrays"):
        from_bytes(_rewrite_header(to_bytes(prog), drop), "t.attq")


def test_changed_architecture_is_refused():
    class MeanPooled(CNNTransformer):
        """Average of the tokens instead of the class token: not what the lowering knows."""

        def forward(self, x):
            return self.head(self.encoder(self.tokens(x)).mean(1))

    torch.manual_seed(0)
    model = MeanPooled(n_samples=48, n_classes=3, d_model=16, n_heads=2, d_hid=8,
                       n_layers=1, conv_channels=8).eval()
    with pytest.raises(InputError, match="does not reproduce"):
        compile_model(model, signals(16, 1))


def test_programs_without_float_ops_keep_the_first_format(compiled):
    """Kinds without arrays write no 'arrays' key: older programs keep their bytes."""
    _, prog = compiled
    payload = to_bytes(prog)[HEADER_SIZE:]
    (jlen,) = struct.unpack_from("<I", payload)
    ops = json.loads(payload[4:4 + jlen])["ops"]
    for op in ops:
        if op["type"] == "host":
            assert ("arrays" in op) == (op["kind"] in ("class_token_posenc", "layer_norm",
                                                        "transformer_encoder_layer",
                                                        "linear_float"))
