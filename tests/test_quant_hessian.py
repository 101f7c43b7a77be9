"""Hutchinson trace estimates against exact Hessians."""

import pytest
import torch
from torch import nn

from sw.hessian import hutchinson_traces, rank_layers


pytestmark = pytest.mark.usefixtures("one_thread")


def test_linear_least_squares_closed_form():
    # loss = mean_i ½‖W x_i − t_i‖²: H = I_out ⊗ mean_i x_i x_iᵀ, Tr = out · mean ‖x_i‖²
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 3, bias=False))
    x, t = torch.randn(40, 5), torch.randn(40, 3)
    exact = 3 * float(x.square().sum(1).mean())
    tr = hutchinson_traces(net, lambda m, a, b: 0.5 * (m(a) - b).square().sum(1).mean(),
                           [(x, t)], n_samples=400)["0"]
    assert tr["trace"] == pytest.approx(exact, rel=0.05)
    assert tr["mean_trace"] == pytest.approx(tr["trace"] / 15)


def test_small_cnn_against_autograd_hessian():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv1d(1, 2, 3), nn.Tanh(), nn.Flatten(), nn.Linear(8, 3))
    x, y = torch.randn(16, 1, 6), torch.randint(0, 3, (16,))
    ce = nn.CrossEntropyLoss()
    traces = hutchinson_traces(net, lambda m, a, b: ce(m(a), b), [(x, y)], n_samples=300)
    for name in ("0", "3"):
        w0 = net.get_submodule(name).weight.detach().clone()
        hess = torch.autograd.functional.hessian(
            lambda w: ce(torch.func.functional_call(net, {f"{name}.weight": w}, (x,)), y), w0)
        exact = float(hess.reshape(w0.numel(), w0.numel()).diagonal().sum())
        est = traces[name]
        assert est["trace"] == pytest.approx(exact, abs=4 * est["trace_std"] + 1e-3)
    assert set(rank_layers(traces)) == {"0", "3"}


def test_hessian_command(tmp_path):
    import json

    from sw.cli import main
    from sw.models import build_preset, save_model

    torch.manual_seed(0)
    path = tmp_path / "m.pt"
    save_model(path, build_preset("mnist_cnn"), arch="mnist_cnn", preset="mnist_cnn")
    out = tmp_path / "rank.json"
    assert main(["hessian", "--model", str(path), "--samples", "3", "--n-data", "32",
                 "--out", str(out)]) == 0
    rec = json.loads(out.read_text())
    assert sorted(rec["ranking"]) == ["conv1", "conv2", "fc1", "fc2"]
    assert rec["paper_selection"] == ["conv1", "conv2"]
    assert rec["paper_selection_share"] == pytest.approx(5250 / 9840)
    assert main(["hessian", "--model", str(tmp_path / "none.pt")]) == 2
