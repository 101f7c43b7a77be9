"""sw.interchange.finn_form: the exported models in the form FINN's flow converts.

Each expectation comes from the saved model's record (its codes, ``w_r``, ``w_l``), from
the calibration inputs, or from FINN's conditions (one weight ``Quant`` a layer, an
unsigned ``Quant`` after each ``Relu``, pooling on quantized data); scripts/bench_finn.py,
which runs FINN on these, is not part of the tests (FINN lives in its own environment).
"""

import sys

import numpy as np
import onnx
import pytest
import torch
from onnx import helper, numpy_helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx

from sw.interchange import export_qonnx
from sw.interchange.finn_form import finn_form
from sw.models import load_model
from testsupport.bundled import INPUTS, MODELS
from testsupport.runner import ROOT


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _quant(x, scale, bits, signed, narrow):
    """QONNX's Quant (zero point 0, round half to even), written out."""
    if signed:
        top = 2 ** (bits - 1) - 1
        low = -top if narrow else -top - 1
    else:
        top, low = 2 ** bits - 1, 0
    return np.clip(np.round(x / scale), low, top)


@pytest.fixture(scope="module", params=["mnist", "hits"])
def twin(request):
    name = request.param
    model, rec = load_model(MODELS[name][0])
    x = INPUTS[name](samples=4)
    return name, rec, x, finn_form(export_qonnx(model, rec), x)


def test_each_layer_has_one_weight_quant_with_the_records_codes(twin):
    name, rec, _, proto = twin
    model, _ = load_model(MODELS[name][0])
    weighted = [m for m in model.modules()
                if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Linear))]
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    made = {o: n for n in proto.graph.node for o in n.output}
    layers = [n for n in proto.graph.node if n.op_type in ("Conv", "Gemm", "MatMul")]
    ternary = dense = 0
    for node in layers:
        quant = made[node.input[1]]
        assert quant.op_type == "Quant"
        a = _attrs(quant)
        assert (a["signed"], a["narrow"]) == (1, 1)
        w, scale, zeropt, bits = (inits[i] for i in quant.input)
        assert zeropt == 0
        codes = _quant(w, scale, int(bits), True, True)
        # Which record layer: the one whose codes have this shape and pattern.
        match = [layer for layer in rec["quantized_layers"].values()
                 if np.asarray(layer["codes"]).shape == codes.shape
                 and np.array_equal(np.asarray(layer["codes"]), codes)]
        if bits == 2:
            ternary += 1
            (layer,) = match
            # One scale (per tensor, or per output channel): the mean of w_r and |w_l|.
            want = (np.asarray(layer["w_r"]) + np.abs(np.asarray(layer["w_l"]))) / 2
            np.testing.assert_allclose(np.ravel(scale), np.ravel(want), rtol=1e-6)
        else:
            # A layer the program runs dense: 8-bit codes over the whole range.
            assert bits == 8 and not match
            dense += 1
            assert np.abs(codes).max() == 127
    assert ternary == len(rec["quantized_layers"])
    assert ternary + dense == len(layers)
    # The model's other convolutions and linear layers run dense.
    assert ternary + dense == len(weighted)


def test_activations_are_unsigned_8_bit_after_each_relu_and_pooling_takes_them(twin):
    _, _, _, proto = twin
    nodes = list(proto.graph.node)
    readers = {}
    for n in nodes:
        for i in n.input:
            readers.setdefault(i, []).append(n)
    made = {o: n for n in nodes for o in n.output}
    assert not [n for n in nodes if n.op_type == "LeakyRelu"]
    relus = [n for n in nodes if n.op_type == "Relu"]
    assert relus
    for relu in relus:
        (q,) = readers[relu.output[0]]
        assert q.op_type == "Quant"
        assert (_attrs(q)["signed"], _attrs(q)["narrow"]) == (0, 0)
        bits = numpy_helper.to_array(
            next(i for i in proto.graph.initializer if i.name == q.input[3]))
        assert bits == 8
    pools = [n for n in nodes if n.op_type == "MaxPool"]
    assert pools
    for pool in pools:
        producer = made[pool.input[0]]
        assert producer.op_type == "Quant" and made[producer.input[0]].op_type == "Relu"


def test_input_takes_int8_codes_and_no_activation_clips_on_the_calibration(twin):
    _, _, x, proto = twin
    model = ModelWrapper(proto)
    assert str(model.get_tensor_datatype("global_in")) == "INT8"
    first = proto.graph.node[0]
    assert first.op_type == "Mul" and first.input[0] == "global_in"
    in_scale = float(numpy_helper.to_array(
        next(i for i in proto.graph.initializer if i.name == first.input[1])))
    assert in_scale == pytest.approx(np.abs(x).max() / 127, rel=1e-6)
    # Each activation's scale is set so that the largest calibration value is code 255.
    acts = {n.output[0]: n for n in proto.graph.node if n.op_type == "Quant"
            and _attrs(n)["signed"] == 0}
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    top = {t: 0.0 for t in acts}
    for sample in x:
        codes = np.clip(np.round(sample / in_scale), -128, 127).astype(np.float32)
        ctx = execute_onnx(model, {"global_in": codes[None]},
                           return_full_exec_context=True)
        for t, node in acts.items():
            top[t] = max(top[t], float(ctx[node.input[0]].max()) / float(inits[node.input[1]]))
    # The int8 input rounds x, so the twin's activations land near, not on, 255.
    assert all(200 < v < 256 for v in top.values()), top


def test_a_relu_that_is_the_graph_output_is_refused():
    x = helper.make_tensor_value_info("global_in", onnx.TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("global_out", onnx.TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Relu", ["global_in"], ["global_out"])],
                              "g", [x], [y])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(ValueError, match="global_out"):
        finn_form(proto, np.ones((1, 4), dtype=np.float32))


def test_bench_figures_by_hand():
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_finn import finn_row
    estimate = {"totals": {"LUT": 2000, "BRAM_18K": 3, "DSP": 1},
                "max_cycles_per_layer": 500, "latency_cycles": 2000,
                "op_and_param_counts": {"total": {"op_mac_2bx8b": 900, "op_mac_8bx8b": 100,
                                                  "param_weight_2b": 50}},
                "folding": {"target_cycles_per_frame": 512},
                "layers": [{"name": "MVAU_0", "op_type": "MVAU_hls", "cycles": 500,
                            "LUT": 2000, "BRAM_18K": 3, "DSP": 1,
                            "folding": {"PE": 2, "SIMD": 3}}]}
    row = finn_row(estimate, adds=1000)
    # 1000 adds over 2000 cycles (latency) = 0.5 a cycle, / 2 kLUT = 0.25; over 500
    # cycles (interval) = 2 a cycle, / 2 kLUT = 1.
    assert row["per_klut_latency"] == pytest.approx(0.25)
    assert row["per_klut_interval"] == pytest.approx(1.0)
    assert row["ramb36"] == 1.5 and row["dense_macs"] == 1000
    assert row["target_cycles"] == 512
