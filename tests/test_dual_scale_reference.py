"""The dual-scale reference against the contract written out by hand and the float math."""

import numpy as np
import pytest

from testsupport.epilogue_vectors import vectors
from sw import spec
from sw.program.epilogue import DualScaleParams
from sw.golden.dual_scale import dual_scale, dual_scale_float, error_bound
from sw.spec import ActMode


def contract(p, n, m_r, m_l, bias, shift, act, slope):
    """The formula of ARCHITECTURE.md with Python's unbounded ints (// is floor)."""
    acc = m_r * p + m_l * n + bias
    v = (acc + (2 ** (shift - 1) if shift else 0)) // 2 ** shift
    if act == ActMode.RELU:
        v = max(v, 0)
    elif act == ActMode.LEAKY and v < 0:
        v = (v * slope + 2 ** 15) // 2 ** 16   # no clamp: proves the clamp changes nothing
    return min(max(v, -128), 127)


@pytest.mark.parametrize("p, n, m_r, m_l, bias, shift, act, slope, want", [
    (10, 0, 1, 0, 0, 0, ActMode.NONE, 0, 10),
    (3, 0, 1, 0, 0, 1, ActMode.NONE, 0, 2),          # 1.5 rounds up to 2
    (-3, 0, 1, 0, 0, 1, ActMode.NONE, 0, -1),        # -1.5 rounds up to -1
    (5, 7, 3, -2, 4, 0, ActMode.NONE, 0, 5),          # 15 - 14 + 4
    (100, 100, 2, 2, 0, 0, ActMode.NONE, 0, 127),     # saturates high
    (-100, 0, 2, 0, 0, 0, ActMode.NONE, 0, -128),     # saturates low
    (-100, 0, 1, 0, 0, 0, ActMode.RELU, 0, 0),
    (-100, 0, 1, 0, 0, 0, ActMode.LEAKY, 1 << 14, -25),   # 0.25 * -100
    (-10, 0, 1, 0, 0, 0, ActMode.LEAKY, 6554, -1),        # 0.1000061 * -10 = -1.00006
    (1000, 0, 100, 0, 0, 10, ActMode.NONE, 0, 98),        # 100000 / 1024 = 97.66
])
def test_hand_computed(p, n, m_r, m_l, bias, shift, act, slope, want):
    params = DualScaleParams(m_r, m_l, bias, shift, act, slope)
    assert dual_scale([p], [n], params)[0] == want
    assert contract(p, n, m_r, m_l, bias, shift, act, slope) == want


def test_matches_contract_on_corners_and_random():
    for vec in vectors(seed=1, count=3000):
        params = DualScaleParams(vec["m_r"], vec["m_l"], vec["bias"], vec["shift"],
                                 vec["act"], vec["slope"])
        got = int(dual_scale([vec["p"]], [vec["n"]], params)[0])
        assert got == contract(**vec), vec


def test_per_channel_broadcast():
    params = DualScaleParams([1, 2, -1], [0, 0, 0], [0, 1, 0], [0, 0, 0])
    out = dual_scale([[5, 5, 5], [-7, -7, -7]], np.zeros((2, 3), int), params)
    assert out.tolist() == [[5, 11, -5], [-7, -13, 7]]
    out = dual_scale([5, 5], [0, 0], params, channel=[2, 1])
    assert out.tolist() == [-5, 11]


@pytest.mark.parametrize("kwargs, message", [
    (dict(shift=32), r"shift\[0\] = 32 is out of range: allowed \[0, 31\]"),
    (dict(shift=-1), r"shift\[0\] = -1 is out of range"),
    (dict(m_r=1 << 15), r"m_r\[0\] = 32768 is out of range: allowed \[-32768, 32767\]"),
    (dict(bias=1 << 47), r"bias\[0\] = .* out of range"),
    (dict(act=3), r"act = 3 is not an activation mode: allowed 0 \(NONE\), 1 \(RELU\), 2 \(LEAKY\)"),
    (dict(slope=1 << 16), r"slope = 65536 is out of range: allowed \[0, 65535\]"),
    (dict(m_r=0.5), r"m_r must hold integers"),
])
def test_bad_parameters_rejected(kwargs, message):
    args = dict(m_r=1, m_l=1, bias=0, shift=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        DualScaleParams(**args)


def test_accumulator_range_checked():
    params = DualScaleParams(1, 1, 0, 0)
    with pytest.raises(ValueError, match="p is out of range"):
        dual_scale([spec.ACC_MAX + 1], [0], params)


@pytest.mark.parametrize("act, slope", [(ActMode.NONE, 0.0), (ActMode.RELU, 0.0),
                                        (ActMode.LEAKY, 0.01), (ActMode.LEAKY, 0.2)])
def test_float_agreement_within_bound(act, slope):
    """Integer epilogue derived from random real scales stays within the stated bound."""
    rng = np.random.default_rng(7)
    for _ in range(40):
        fan_in = int(rng.integers(1, 20000))
        s_x, s_y = 10 ** rng.uniform(-3, 0), 10 ** rng.uniform(-3, 0)
        # Scales of a trained layer: |W| * s_x * fan_in / s_y of order a few hundred LSB.
        w_r = rng.uniform(0.1, 1) * s_y / s_x * 300 / (128 * fan_in) * 50
        w_l = -rng.uniform(0.1, 1) * s_y / s_x * 300 / (128 * fan_in) * 50
        b = rng.uniform(-50, 50) * s_y
        params = DualScaleParams.from_float(w_r, w_l, b, s_x, s_y, act, slope)
        p = rng.integers(-128 * fan_in, 127 * fan_in, size=2000, endpoint=True)
        n = rng.integers(-128 * fan_in, 127 * fan_in, size=2000, endpoint=True)
        got = dual_scale(p, n, params).astype(float)
        real = dual_scale_float(p, n, w_r, w_l, b, s_x, s_y, act, slope)
        pre = dual_scale_float(p, n, w_r, w_l, b, s_x, s_y)
        want = np.clip(real, -128, 127)
        bound = error_bound(p, n, params.shift[0], act, v=pre)
        assert np.all(np.abs(got - want) <= bound + 1e-9)
        # The bound is tight enough to matter: well under 2 LSB wherever unsaturated.
        assert np.all(bound[np.abs(real) < 127] < 2)


def test_from_float_rejects_bad_scales():
    with pytest.raises(ValueError, match="s_x and s_y must be positive"):
        DualScaleParams.from_float(1, -1, 0, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"negative_slope = 1.5 is out of range"):
        DualScaleParams.from_float(1, -1, 0, 1.0, 1.0, ActMode.LEAKY, 1.5)
