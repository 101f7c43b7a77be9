"""Random engine layers of every kind, shared by the amaranth.sim tests and cocotb benches."""

import numpy as np

from sw.program.epilogue import DualScaleParams
from sw.mapping.hardware_layer import HardwareLayer
from sw.golden.reference import reference_layer
from sw.spec import ActMode, LayerMode

__all__ = ["CASES", "random_layer", "case_jobs"]


def random_layer(rng, mode, c_in, hw, c_out, k, stride, pad, pool, sparsity, act,
                 scale_bits=10):
    shape = (c_out, c_in, *k)
    if mode is LayerMode.TERNARY:
        w = rng.choice([-1, 0, 1], size=shape, p=[(1 - sparsity) / 2, sparsity, (1 - sparsity) / 2])
    else:
        w = rng.integers(-128, 128, size=shape) * (rng.random(shape) > sparsity)
    params = DualScaleParams(rng.integers(-(1 << scale_bits), 1 << scale_bits, c_out),
                             rng.integers(-(1 << scale_bits), 1 << scale_bits, c_out),
                             rng.integers(-(1 << 14), 1 << 14, c_out),
                             rng.integers(8, 14, c_out), act, 1 << 13)
    in_size = c_in * hw[0] * hw[1]
    layer = HardwareLayer(mode, w, (c_in, *hw), stride, pad, pool, params, in_base=0,
                        out_base=in_size)
    x = rng.integers(-128, 128, size=(c_in, *hw))
    return layer, x


#: name: (mode, C_in, (H, W), C_out, kernel, stride, pad, pool, sparsity, act)
CASES = {
    "ternary-conv3x3-pad-pool": (LayerMode.TERNARY, 3, (6, 8), 5, (3, 3), (1, 1), (1, 1), (2, 2), 0.6, ActMode.LEAKY),
    "ternary-strided-no-pad": (LayerMode.TERNARY, 2, (7, 9), 4, (3, 2), (2, 2), (0, 0), (1, 1), 0.3, ActMode.RELU),
    "ternary-95-sparse": (LayerMode.TERNARY, 4, (5, 5), 6, (3, 3), (1, 1), (1, 1), (1, 2), 0.95, ActMode.NONE),
    "ternary-dense-0-sparse": (LayerMode.TERNARY, 2, (4, 6), 3, (3, 3), (1, 1), (1, 1), (2, 1), 0.0, ActMode.LEAKY),
    "dense-int8-conv": (LayerMode.DENSE, 1, (6, 6), 4, (3, 3), (1, 1), (1, 1), (2, 2), 0.2, ActMode.LEAKY),
    "conv1d": (LayerMode.TERNARY, 3, (1, 16), 5, (1, 5), (1, 2), (0, 2), (1, 2), 0.5, ActMode.RELU),
    "linear-over-map": (LayerMode.DENSE, 4, (2, 3), 7, (2, 3), (1, 1), (0, 0), (1, 1), 0.5, ActMode.NONE),
}




def case_jobs(lanes, width, lane_words, seed=7, random_layers=6):
    """Jobs for sim/engine_jobs_bench.py: every named case, then random layers (random
    geometry of a case, sparsity 0 to 95 %, an empty channel, scales that saturate) under
    random back-pressure on the epilogue."""
    from testsupport.model_jobs import cycle_model

    def job(name, layer, x, stall=None):
        return {"name": name, "layers": [layer], "input": x,
                "expected": [reference_layer(layer, x).astype(np.int64)],
                "stall": [stall], "model": cycle_model([layer], lanes, width, lane_words, [stall])}

    jobs = []
    for idx, name in enumerate(sorted(CASES)):
        layer, x = random_layer(np.random.default_rng(100 + idx), *CASES[name])
        jobs.append(job(name, layer, x))
    rng = np.random.default_rng(seed)
    for trial in range(random_layers):
        name = sorted(CASES)[trial % len(CASES)]
        mode, c_in, hw, c_out, k, stride, pad, pool, _, act = CASES[name]
        sparsity = float(rng.choice([0.0, 0.5, 0.8, 0.95]))
        c_out = int(rng.integers(1, 9))
        layer, x = random_layer(rng, mode, c_in, hw, c_out, k, stride, pad, pool, sparsity,
                                act, scale_bits=int(rng.choice([8, 15])))
        layer.weights[rng.integers(c_out)] = 0
        p_stall = float(rng.choice([0.2, 0.5, 0.8]))
        stall = (rng.random(20000) < p_stall).tolist()
        jobs.append(job(f"random {trial} ({name}, sparsity {sparsity}, stall {p_stall})",
                        layer, x, stall))
    return jobs
