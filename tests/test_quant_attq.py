"""aTTQ thresholds, sparsity and straight-through gradients against hand computation."""

import math
import statistics

import pytest
import torch
import torch.nn.functional as F
from scipy.stats import norm

from sw.quant import ATTQQuantizer, QuantConfig, attq_thresholds


def test_thresholds_on_a_hand_counted_tensor():
    # mean 10, unbiased variance (4+1+0+1+4)/4 * 9 = 22.5 -> sd = 3·sqrt(2.5)
    w = torch.tensor([4.0, 7.0, 10.0, 13.0, 16.0])
    sd = 3 * math.sqrt(2.5)
    assert sd == pytest.approx(statistics.stdev([4, 7, 10, 13, 16]))
    d_min, d_max = attq_thresholds(w, -1.0, 0.5)
    assert float(d_min) == pytest.approx(10 - sd)        # 5.257
    assert float(d_max) == pytest.approx(10 + 0.5 * sd)  # 12.37
    q = ATTQQuantizer(w, -1.0, 0.5)
    # 4 < 5.26 -> left; 7, 10 in the band; 13, 16 > 12.37 -> right
    assert q.codes(w).tolist() == [-1, 0, 0, 1, 1]
    q2 = ATTQQuantizer(w, -0.5, 0.5)                     # band [7.63, 12.37]
    assert q2.codes(w).tolist() == [-1, -1, 0, 1, 1]
    q3 = ATTQQuantizer(w, 0.0, 0.0)                      # Δmin = Δmax = mean: only 10 pruned
    assert q3.codes(w).tolist() == [-1, -1, 0, 1, 1]
    q4 = ATTQQuantizer(w, -2.0, 2.0)                     # band [0.51, 19.5]: all pruned
    assert q4.codes(w).tolist() == [0, 0, 0, 0, 0]


def test_band_is_closed():
    # Weights exactly on a threshold are pruned (Eq. 1: w in [Δmin, Δmax] -> 0).
    w = torch.tensor([-1.0, 0.0, 1.0])  # mean 0, unbiased sd 1 -> Δ = -1, +1
    assert ATTQQuantizer(w, -1.0, 1.0).codes(w).tolist() == [0, 0, 0]
    assert ATTQQuantizer(w, -0.999, 0.999).codes(w).tolist() == [-1, 0, 1]


def test_sparsity_of_a_gaussian_matches_the_normal_cdf():
    g = torch.Generator().manual_seed(0)
    w = 0.3 + 2.0 * torch.randn(200_000, generator=g)
    q = ATTQQuantizer(w, -1.0, 0.5)
    codes = q.codes(w)
    expected_band = norm.cdf(0.5) - norm.cdf(-1.0)      # 0.5328
    assert float((codes == 0).float().mean()) == pytest.approx(expected_band, abs=0.005)
    assert float((codes == -1).float().mean()) == pytest.approx(norm.cdf(-1.0), abs=0.005)


def test_forward_values_and_initial_scales():
    w = torch.tensor([4.0, 7.0, 10.0, 13.0, 16.0])
    q = ATTQQuantizer(w, -1.0, 0.5, init_scales="mean")
    assert q.w_r.item() == pytest.approx(14.5) and q.w_l.item() == pytest.approx(4.0)
    assert q(w).tolist() == pytest.approx([4.0, 0, 0, 14.5, 14.5])
    wz = w - 10  # zero-mean: the left region is negative, so the start is sign-correct
    qz = ATTQQuantizer(wz, -1.0, 0.5, init_scales="mean")
    assert qz.w_l.item() == pytest.approx(-6.0) and qz.w_r.item() == pytest.approx(4.5)
    qc = ATTQQuantizer(wz, -1.0, 0.5, init_scales="code")
    assert (qc.w_r.item(), qc.w_l.item()) == (1.0, 1.0)
    assert qc(wz).tolist() == [1.0, 0.0, 0.0, 1.0, 1.0]
    qu = ATTQQuantizer(wz, -1.0, 0.5, init_scales="unit")
    assert (qu.w_r.item(), qu.w_l.item()) == (1.0, -1.0)
    assert qu(wz).tolist() == [-1.0, 0.0, 0.0, 1.0, 1.0]


def test_t_min_above_t_max_is_rejected():
    with pytest.raises(ValueError, match="t_min <= t_max"):
        ATTQQuantizer(torch.randn(10), 1.0, 0.5)
    with pytest.raises(ValueError, match="t_min <= t_max"):
        QuantConfig(method="attq", t_min=2.0, t_max=-2.0)
    ATTQQuantizer(torch.randn(10), 0.5, 0.5)  # equal is allowed


@pytest.mark.parametrize("mode,band_factor", [("code", 1.0), ("paper", 0.0)])
def test_ste_gradients_equal_eq2(mode, band_factor):
    w0 = torch.tensor([4.0, 7.0, 10.0, 13.0, 16.0]) - 10   # codes -1, 0, 0, 1, 1
    w = w0.clone().requires_grad_(True)
    q = ATTQQuantizer(w0, -1.0, 0.5, pruned_grad=mode)
    with torch.no_grad():
        q.w_r.fill_(0.7)
        q.w_l.fill_(-0.4)
    c = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    (q(w) * c).sum().backward()                          # dL/dw_t = c
    expected = [-0.4 * 1.0, band_factor * 2.0, band_factor * 3.0, 0.7 * 4.0, 0.7 * 5.0]
    assert w.grad.tolist() == pytest.approx(expected)
    assert float(q.w_r.grad) == pytest.approx(4.0 + 5.0)
    assert float(q.w_l.grad) == pytest.approx(1.0)


@pytest.mark.parametrize("mode", ["code", "paper"])
def test_ste_gradients_through_a_convolution(mode):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 6, 6)
    w0 = torch.randn(4, 3, 3, 3)
    q = ATTQQuantizer(w0, -0.8, 0.3, pruned_grad=mode)
    w = w0.clone().requires_grad_(True)
    F.conv2d(x, q(w), padding=1).square().sum().backward()
    # Reference: the gradient w.r.t. the ternary weight from a plain convolution,
    # then Eq. 2 applied by masks built from the thresholds.
    wt = q(w0).detach().requires_grad_(True)
    F.conv2d(x, wt, padding=1).square().sum().backward()
    g = wt.grad
    mu, sd = w0.mean(), w0.std()
    right, left = w0 > mu + 0.3 * sd, w0 < mu - 0.8 * sd
    band = ~(right | left)
    factor = 1.0 if mode == "code" else 0.0
    expected = torch.where(right, q.w_r.detach() * g,
                           torch.where(left, q.w_l.detach() * g, factor * g))
    torch.testing.assert_close(w.grad, expected)
    torch.testing.assert_close(q.w_r.grad, g[right].sum())
    torch.testing.assert_close(q.w_l.grad, g[left].sum())
    if mode == "paper":
        assert bool((w.grad[band] == 0).all())
