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
    md = (tmp_path / "grid_mnist.md").read_text()
    # The results file carries the same cells as the record, in percent.
    row = next(line for line in md.split("## SRQW")[1].splitlines() if line.startswith("| -1 |"))
    cells = [c.strip() for c in row.strip("|").split("|")][1:]
    assert cells[2] == f"{100 * srqw[0][2]:.1f} ± {100 * data['srqw_std'][0][2]:.1f}"
    assert "- Command: `" in md and "Wall time" in md


def test_esr_grid_smoke_on_the_synthetic_stand_in(tmp_path, capsys):
    """The ESR grid runs end to end from the command line (here on the synthetic stand-in,
    which says nothing about accuracy; the paper's grid needs the public CSV)."""
    from sw.cli import main
    from sw.data.esr_synthetic import write_synthetic_esr

    csv = write_synthetic_esr(tmp_path / "esr.csv", n_rows=115, seed=0)
    out = tmp_path / "grid"
    assert main(["experiment", "grid", "--dataset", "esr", "--data", str(csv),
                 "--preset", "esr_tfr_cnn_narrow", "--values=-1,0", "--reps", "1",
                 "--epochs", "1", "--workers", "1", "--no-progress", "--out", str(out)]) == 0
    data = json.loads((out / "grid_esr.json").read_text())
    assert data["settings"]["preset"] == "esr_tfr_cnn_narrow"
    assert data["srqw_mean"][1][0] is None
    assert all(data["srqw_mean"][i][j] is not None for i, j in ((0, 0), (0, 1), (1, 1)))
    assert (out / "grid_esr.png").read_bytes()[:4] == b"\x89PNG"
