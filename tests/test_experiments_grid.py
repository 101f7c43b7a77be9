"""Reduced t_min × t_max grid: every valid cell runs, invalid cells are empty, PNG drawn."""

import json

import pytest

from sw.experiments.grid import run_grid


pytestmark = pytest.mark.usefixtures("one_thread")


def test_reduced_grid(tmp_path):
    rec = run_grid(dataset="mnist", out_dir=tmp_path, values=[-1.0, 0.0, 1.0], reps=1,
                   epochs=1, n_train=128, n_test=128, workers=1, progress=False)
    png = tmp_path / "grid_mnist.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((tmp_path / "grid_mnist.json").read_text())
    srqw = data["srqw_mean"]
    # rows t_min, columns t_max: the lower triangle (t_min > t_max) is empty
    assert srqw[1][0] is None and srqw[2][0] is None and srqw[2][1] is None
    assert all(srqw[i][j] is not None for i in range(3) for j in range(3) if i <= j)
    # t_min = t_max prunes (almost) nothing; the band [μ - σ, μ + σ] prunes most
    assert srqw[1][1] < 0.01 and srqw[0][2] > 0.5
    assert srqw[0][2] > srqw[0][1] > srqw[0][0]
    assert rec["settings"]["values"] == [-1.0, 0.0, 1.0]
