"""``attq-fpga compile MODEL.onnx``: QONNX models into engine programs (sw.interchange).

Round trip: the project's own export compiles to the program its saved model compiles to
(the golden executor's outputs equal). From outside: a tiny ternary Brevitas model,
trained here on real digits and exported with Brevitas's own QONNX exporter, compiles to
a program whose accuracy is within a point of Brevitas's own and which the RTL (the
virtual board) runs to the golden executor's outputs.
"""

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from sw.cli import main
from sw.compiler.compiler import compile_qonnx, compile_saved
from sw.errors import InputError
from sw.golden.executor import execute
from sw.interchange import export_qonnx
from sw.interchange.qonnx_import import read_qonnx
from sw.models import load_model
from sw.program import load
from testsupport.bundled import INPUTS, MODELS


@pytest.mark.parametrize("name, preset", [("mnist", "mnist_cnn"), ("hits", "hits_tfr_cnn")])
def test_own_export_compiles_to_the_saved_models_program(tmp_path, name, preset):
    model, rec = load_model(MODELS[name][0])
    path = tmp_path / f"{name}.onnx"
    onnx.save(export_qonnx(model, rec), path)
    x = INPUTS[name](samples=6)
    prog_pt, _, _ = compile_saved(MODELS[name][0], x_train=x, n_calibration=6)
    prog_onnx, read = compile_qonnx(path, inputs=preset, x_train=x, n_calibration=6)
    # The two branches of each ternary layer come back as one ternary layer.
    assert set(read.records) == set(rec["quantized_layers"])
    for layer, want in rec["quantized_layers"].items():
        got = read.records[layer]
        assert np.array_equal(np.asarray(got["codes"]), np.asarray(want["codes"]))
        assert got["w_r"] == pytest.approx(want["w_r"], rel=1e-6)
        assert got["w_l"] == pytest.approx(want["w_l"], rel=1e-6)
    assert [layer.name for layer in prog_onnx.engine_layers] == \
        [layer.name for layer in prog_pt.engine_layers]
    np.testing.assert_array_equal(execute(prog_onnx, x).output, execute(prog_pt, x).output)


def _brevitas_ternary_mnist(seed=0, epochs=6):
    """A small CNN with 2-bit narrow-range (ternary) Brevitas weights, trained on the
    training split of the real digits; returns it (eval) and the test split."""
    import brevitas.nn as qnn
    from brevitas.quant import Int8WeightPerTensorFloat
    from torch import nn

    from sw.train.pipeline import load_dataset

    class Ternary(Int8WeightPerTensorFloat):
        bit_width = 2
        narrow_range = True

    torch.manual_seed(seed)
    net = nn.Sequential(
        qnn.QuantConv2d(1, 8, 5, weight_quant=Ternary), nn.BatchNorm2d(8), nn.ReLU(),
        nn.MaxPool2d(2),
        qnn.QuantConv2d(8, 16, 5, weight_quant=Ternary), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), qnn.QuantLinear(64, 10, weight_quant=Ternary))
    split = load_dataset("mnist", preset="mnist_cnn", seed=0)
    x = torch.as_tensor(split.x_train, dtype=torch.float32)
    y = torch.as_tensor(split.y_train)
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    g = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    return net.eval(), split


@pytest.mark.slow
def test_brevitas_ternary_model_compiles_and_runs_on_the_rtl(tmp_path, verilator):
    from brevitas.export import export_qonnx as brevitas_export

    from sw.device import open_device

    net, split = _brevitas_ternary_mnist()
    with torch.no_grad():
        brevitas_pred = net(torch.as_tensor(split.x_test, dtype=torch.float32)).argmax(1)
    brevitas_acc = float((brevitas_pred.numpy() == split.y_test).mean())
    assert brevitas_acc > 0.8
    path = tmp_path / "brevitas.onnx"
    brevitas_export(net, input_t=torch.zeros(1, 1, 20, 20), export_path=str(path),
                    dynamo=False)
    out = tmp_path / "brevitas.attq"
    assert main(["compile", str(path), "-o", str(out), "--inputs", "mnist_cnn"]) == 0
    program = load(out)
    assert sum(layer.mode == "ternary" for layer in program.engine_layers) == 3
    golden = execute(program, split.x_test)
    acc = float((golden.output.argmax(1) == split.y_test).mean())
    assert abs(acc - brevitas_acc) <= 0.01, (acc, brevitas_acc)
    # The RTL computes what the golden executor computes.
    drv = open_device("sim")
    try:
        plan = drv.prepare(program)
        x = split.x_test[:3]
        result = drv.infer(plan, x)
    finally:
        drv.close()
    np.testing.assert_array_equal(result.output, golden.output[:3])
    np.testing.assert_array_equal(result.output, execute(program, x).output)


def _graph(tmp_path, nodes, inits, name="g.onnx"):
    """A one-input QONNX graph on [1, 1, 6, 6] of ``nodes``, ending at ``y``."""
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.asarray(v, dtype=np.float32), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid(
                                                        "qonnx.custom_op.general", 1)])
    path = tmp_path / name
    onnx.save(model, path)
    return path


def _quant_conv(out="c"):
    w = np.random.default_rng(0).integers(-1, 2, (2, 1, 3, 3)) * 0.5
    nodes = [helper.make_node("Quant", ["w", "s", "z", "b"], ["wq"],
                              domain="qonnx.custom_op.general", signed=1, narrow=1,
                              rounding_mode="ROUND"),
             helper.make_node("Conv", ["x", "wq"], [out], name="conv", kernel_shape=[3, 3])]
    return nodes, {"w": w, "s": 0.5, "z": 0.0, "b": 2.0}


def test_an_operator_the_compiler_lacks_is_named(tmp_path, capsys):
    nodes, inits = _quant_conv()
    nodes.append(helper.make_node("Sigmoid", ["c"], ["y"], name="squash"))
    path = _graph(tmp_path, nodes, inits)
    with pytest.raises(InputError, match=r"node 'squash' \(Sigmoid\)"):
        read_qonnx(path)
    out = tmp_path / "p.attq"
    assert main(["compile", str(path), "-o", str(out), "--inputs", "mnist_cnn"]) == 2
    err = capsys.readouterr().err
    assert "squash" in err and "Sigmoid" in err and "nothing written" in err
    assert not out.exists()


def test_a_residual_add_and_a_grouped_conv_are_refused(tmp_path):
    nodes, inits = _quant_conv()
    nodes += [helper.make_node("Relu", ["c"], ["r"], name="relu"),
              helper.make_node("Add", ["r", "r"], ["y"], name="skip")]
    with pytest.raises(InputError, match=r"'skip' \(Add\).*residual"):
        read_qonnx(_graph(tmp_path, nodes, inits))
    nodes, inits = _quant_conv(out="y")
    nodes[1] = helper.make_node("Conv", ["x", "wq"], ["y"], name="grouped",
                                kernel_shape=[3, 3], group=2)
    with pytest.raises(InputError, match=r"'grouped' \(Conv\).*group"):
        read_qonnx(_graph(tmp_path, nodes, inits, "g2.onnx"))


def test_a_quant_conv_reads_as_a_ternary_layer(tmp_path):
    nodes, inits = _quant_conv(out="y")
    read = read_qonnx(_graph(tmp_path, nodes, inits))
    assert list(read.records) == ["conv1"] and read.model.sample_shape == (1, 6, 6)
    rec = read.records["conv1"]
    assert (rec["w_r"], rec["w_l"]) == (0.5, -0.5)
    assert np.array_equal(np.asarray(rec["codes"]), np.sign(inits["w"]))
    x = np.random.default_rng(1).normal(size=(1, 1, 6, 6)).astype(np.float32)
    with torch.no_grad():
        got = read.model(torch.as_tensor(x)).numpy()
    want = torch.nn.functional.conv2d(torch.as_tensor(x),
                                      torch.as_tensor(inits["w"], dtype=torch.float32))
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-6)


def test_compile_command_checks_its_arguments_first(tmp_path, capsys):
    nodes, inits = _quant_conv(out="y")
    path = _graph(tmp_path, nodes, inits)
    out = tmp_path / "p.attq"
    # No --inputs: the model does not say which data it takes.
    assert main(["compile", str(path), "-o", str(out)]) == 2
    assert "--inputs" in capsys.readouterr().err
    # An input shape the preset's data does not have.
    assert main(["compile", str(path), "-o", str(out), "--inputs", "mnist_cnn"]) == 2
    assert "input shape [1, 6, 6]" in capsys.readouterr().err
    # --inputs with a saved model, which records its own.
    assert main(["compile", str(MODELS["mnist"][0]), "-o", str(out),
                 "--inputs", "mnist_cnn"]) == 2
    assert "only for a QONNX model" in capsys.readouterr().err
    # Not ONNX at all.
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00not onnx")
    assert main(["compile", str(bad), "-o", str(out), "--inputs", "mnist_cnn"]) == 2
    assert "not an ONNX file" in capsys.readouterr().err
    assert not out.exists()
