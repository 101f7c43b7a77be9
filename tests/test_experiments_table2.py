"""Reduced Table 2 end to end (one repetition, a few epochs, a data subset) and the CLI."""

import json

import pytest

from sw.cli import main
from sw.experiments.table2 import run_table2
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


def test_cli_rejects_bad_thresholds(tmp_path, capsys):
    status = main(["experiment", "table2", "--t-min", "1", "--t-max", "0",
                   "--out", str(tmp_path)])
    assert status == 2
    assert "t_min <= t_max" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_ray_missing_is_a_clear_error():
    try:
        import ray  # noqa: F401
        pytest.skip("ray is installed")
    except ImportError:
        pass
    with pytest.raises(InputError, match="ray"):
        run_tasks(abs, [1], ray_address="auto")


def _square(x):
    return x * x


def test_process_pool_keeps_order():
    assert run_tasks(_square, [3, 1, 2], workers=2, progress=False) == [9, 1, 4]
