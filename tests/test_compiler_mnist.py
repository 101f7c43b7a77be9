"""The compiler on the paper's MNIST CNN: saved model -> ``attq-fpga compile`` -> program.

A briefly trained aTTQ model (FP for a few epochs, then aTTQ; small on purpose so the test
is quick; the full-size comparison is scripts/eval_integer.py) is saved in the project's
model format, compiled by the command line, loaded back, and run by the golden executor on
real MNIST test digits. Its decisions must match PyTorch's (MCC within 1 point).
"""

import copy

import numpy as np
import pytest

from sw.program.file import content_hash
import torch

from sw import metrics
from sw.cli import main
from sw.golden.executor import execute
from sw.program import file_hash, load, to_bytes


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from sw.data.mnist import load_mnist
    from sw.models import build_preset, save_model
    from sw.quant import QuantConfig, quantize_model
    from sw.train.settings import table1
    from sw.train.trainer import fit

    torch.set_num_threads(1)
    split = load_mnist(seed=0)
    fp = build_preset("mnist_cnn")
    fit(fp, split.x_train, split.y_train, table1("mnist_cnn", "fp").scaled(4 / 70),
        n_classes=10, progress=False)
    quant = QuantConfig(method="attq", layers=["conv1", "conv2"])
    q = quantize_model(copy.deepcopy(fp), quant)
    fit(q, split.x_train, split.y_train, table1("mnist_cnn", "attq").scaled(4 / 200),
        n_classes=10, progress=False)
    path = tmp_path_factory.mktemp("mnist") / "attq.pt"
    save_model(path, q.eval(), arch="mnist_cnn", preset="mnist_cnn", quant=quant,
               data=dict(dataset="mnist", classes=split.classes))
    return path, fp.eval(), q.eval(), split


def test_cli_compile_save_load_same_hash_and_outputs(trained, tmp_path, capsys):
    path, _, q, split = trained
    out = tmp_path / "mnist.attq"
    assert main(["compile", str(path), "-o", str(out), "--calibration-samples", "256"]) == 0
    printed = capsys.readouterr().out
    prog = load(out)
    assert file_hash(out) in printed
    # Checked against the default board's engine, the Arty A7-35T's.
    assert "fits the engine of arty_a7_35t (P = 8 lanes, V = 4" in printed
    assert content_hash(prog) == file_hash(out)
    assert to_bytes(prog) == out.read_bytes()
    # Compiling again gives the same program (deterministic calibration and lowering).
    out2 = tmp_path / "again.attq"
    assert main(["compile", str(path), "-o", str(out2), "--calibration-samples", "256"]) == 0
    assert out2.read_bytes() == out.read_bytes()
    # The loaded program runs like the compiled one.
    x = split.x_test[:300]
    np.testing.assert_array_equal(execute(prog, x).int_output,
                                  execute(load(out2), x).int_output)
    assert [op.mode for op in prog.engine_layers] == ["ternary", "ternary", "dense", "dense"]
    assert prog.classes == [str(d) for d in range(10)]
    # The model file's input transform, copied into the program (pixels / 255).
    from sw.models import read_record
    assert prog.meta["input_transform"] == read_record(path)["input_transform"] == {
        "steps": [{"kind": "scale", "divisor": 255.0}]}


def test_integer_program_mcc_matches_pytorch(trained):
    from sw.compiler.compiler import compile_saved
    from sw.train.trainer import predict

    path, _, q, split = trained
    prog, model, _ = compile_saved(path, n_calibration=256)
    x, y = split.x_test[:1000], split.y_test[:1000]
    y_int = execute(prog, x).predictions()
    y_pt = predict(model, x)
    mcc_int, mcc_pt = metrics.mcc(y, y_int), metrics.mcc(y, y_pt)
    assert mcc_pt > 0.5  # the model learned something, or the comparison means nothing
    assert abs(mcc_int - mcc_pt) <= 0.01
    assert (y_int == y_pt).mean() > 0.97


def test_cli_refuses_bad_model(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    out = tmp_path / "x.attq"
    assert main(["compile", str(bad), "-o", str(out)]) == 2
    assert "bad.pt" in capsys.readouterr().err
    assert not out.exists()
