"""Reduced Table 2 end to end (one repetition, a few epochs, a data subset) and the CLI."""

import json
import sys

import pytest

from sw.cli import main
from sw.experiments.table2 import run_table2, run_table2_starts
from sw.experiments.runner import run_tasks
from sw.errors import InputError
from sw.models import load_model


pytestmark = pytest.mark.usefixtures("one_thread")


def test_reduced_table2_end_to_end(tmp_path):
    rec = run_table2(dataset="mnist", reps=1, epochs=2, n_train=256, n_test=256,
                     out_dir=tmp_path, workers=1, progress=False)
    data = json.loads((tmp_path / "table2_mnist.json").read_text())
    md = (tmp_path / "table2_mnist.md").read_text()
    for head in ("MCC", "SRQW", "CR_G^T", "CR_G^Q", "EC_G^T"):
        assert head in md
    assert [l.split("|")[1].strip() for l in md.splitlines() if l.startswith("| ")][1:] == \
        ["FP", "DoReFa", "TTQ", "aTTQ"]
    s = data["summary"]
    assert data["settings"]["n_train"] == 256 and data["machine"]["cpu_count"] >= 1
    assert s["fp"]["srqw"]["mean"] == 0 and s["fp"]["cr_g_t"]["mean"] == 0
    assert s["dorefa"]["srqw"]["mean"] == 0
    assert s["attq"]["srqw"]["mean"] > 0.2          # t = (-1, 0.5) prunes ~half
    assert 0 < s["attq"]["ec_g_t"]["mean"] < 1
    assert -1 <= s["attq"]["mcc"]["mean"] <= 1
    # the saved aTTQ model is the one that was measured
    model, saved = load_model(tmp_path / "models" / "rep0_attq.pt")
    assert saved["metrics"]["srqw"] == pytest.approx(s["attq"]["srqw"]["mean"])
    zeros = sum(int((saved["quantized_layers"][n]["codes"] == 0).sum())
                for n in ("conv1", "conv2"))
    assert zeros / 5250 == pytest.approx(saved["metrics"]["srqw"])
    assert rec["wall_seconds"] > 0
    assert data["settings"]["devices"] == ["cpu"]       # auto takes the CPU without CUDA


def test_starts_side_by_side_from_the_same_fp_models(tmp_path):
    rec = run_table2_starts(["unit", "mean"], dataset="mnist", reps=1, epochs=1,
                            n_train=128, n_test=128, methods=("fp", "attq"),
                            recipe="paper", out_dir=tmp_path, workers=1, progress=False)
    unit, mean = rec["tables"]["unit"], rec["tables"]["mean"]
    # The second start trains no FP model of its own: it fine-tunes the first's.
    assert (tmp_path / "unit" / "models" / "rep0_fp.pt").exists()
    assert not (tmp_path / "mean" / "models" / "rep0_fp.pt").exists()
    assert unit["summary"]["fp"] == mean["summary"]["fp"]
    for start in ("unit", "mean"):
        _, saved = load_model(tmp_path / start / "models" / "rep0_attq.pt")
        assert saved["quant"]["init_scales"] == start and saved["quant"]["ttq_normalize"]
        assert rec["tables"][start]["settings"]["recipe"] == "paper"
        assert (saved["quant"]["t_min"], saved["quant"]["t_max"]) == (-1.0, 0.5)
    md = (tmp_path / "table2_mnist_starts.md").read_text()
    assert "## Initial scales: unit" in md and "## Initial scales: mean" in md
    assert json.loads((tmp_path / "table2_mnist_starts.json").read_text())["starts"] == \
        ["unit", "mean"]


def test_recipes_differ_where_the_project_measured():
    from sw.train.settings import recipe
    paper, project = recipe("paper"), recipe("project")
    assert paper.init_scales == project.init_scales == "unit"
    assert paper.ttq_init_scales == "unit" and project.ttq_init_scales == "mean"
    assert project.quant_options("ttq")["init_scales"] == "mean"
    assert project.quant_options("attq")["init_scales"] == "unit"
    assert paper.ttq_normalize and not project.ttq_normalize
    assert not paper.train_config("mnist_cnn", "ttq").class_weights      # the code's files
    assert project.train_config("mnist_cnn", "ttq").class_weights
    assert paper.train_config("esr_tfr_cnn", "attq").class_weights
    assert paper.t_range("hits_tfr_cnn") == (-4.0, 0.0)       # Table 1
    assert project.t_range("hits_tfr_cnn") == (-1.0, 0.5)
    assert paper.t_range("mnist_cnn") == project.t_range("mnist_cnn") == (-1.0, 0.5)
    with pytest.raises(ValueError, match="recipes"):
        recipe("fancy")


@pytest.mark.parametrize("value", ["unit,bogus", "unit,unit", ","])
def test_cli_rejects_bad_starts(tmp_path, capsys, value):
    status = main(["experiment", "table2", "--init-scales", value, "--out", str(tmp_path)])
    assert status == 2
    assert "--init-scales" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_cuda_without_a_gpu_is_refused_before_any_training(tmp_path, capsys, monkeypatch):
    import torch
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    status = main(["experiment", "table2", "--device", "cuda", "--out", str(tmp_path)])
    assert status == 2
    assert "CUDA is not available" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_cli_rejects_bad_thresholds(tmp_path, capsys):
    status = main(["experiment", "table2", "--t-min", "1", "--t-max", "0",
                   "--out", str(tmp_path)])
    assert status == 2
    assert "t_min <= t_max" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_ray_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)     # import ray raises ImportError
    with pytest.raises(InputError, match="ray"):
        run_tasks(abs, [1], ray_address="auto")


def _square(x):
    return x * x


def test_process_pool_keeps_order():
    assert run_tasks(_square, [3, 1, 2], workers=2, progress=False) == [9, 1, 4]
