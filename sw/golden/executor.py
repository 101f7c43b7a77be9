"""Golden executor: runs an integer program (:mod:`sw.program`) in numpy, bit-exactly.

Each engine layer computes, for every output channel ``c`` and pre-pool position ``pos``,
``P = sum x[base(pos) + o]`` over the channel's +1 offsets (dense: ``sum w * x``) and ``N``
over its -1 offsets, then the dual-scale epilogue (:func:`sw.golden.dual_scale.dual_scale`),
then max pooling, then writes the output zero-padded by ``out_pad``.

The sums are evaluated as one matrix product per layer: the input values at
``base(pos) + o`` for the layer's distinct offsets ``o`` (a gather), times a matrix that
holds +1 (or the int8 weight) where channel ``c`` lists offset ``o``. The product is done in
floating point, which is exact here: every partial sum is an integer of magnitude at most
``128 * sum |w|``, and the layer uses float32 only when that bound is below 2**24 (float64,
exact below 2**53, otherwise; the contract's accumulator bound is 2**31).

Host operations (:data:`sw.program.HOST_OP_KINDS`) run in float64 numpy: input
quantization, dequantization, softmax, and the float tail of the 1D CNN-transformer
(:func:`run_host_op`; the encoder layer reproduces ``nn.TransformerEncoderLayer`` in eval
mode, see :func:`encoder_layer`).

Alongside the outputs it reports, per layer, what the hardware counts (schedule-
independent, per inference): adds (+ and -), weight words, activation reads and writes,
positions and nonzero weights (:mod:`sw.mapping.counts`); and, given ``lanes``, the engine
cycles from the cycle model (:func:`sw.mapping.cycle_model.program_cycles`).
"""

import dataclasses
import warnings

import numpy as np

from ..mapping.counts import program_counts
from ..mapping.boards import board_config
from ..mapping.cycle_model import program_cycles
from ..program.ir import EngineLayer
from ..program.host_ops import run_host_op
from .dual_scale import dual_scale

__all__ = ["ExecutionResult", "layer_accumulators", "run_layer", "pool_max", "execute"]

#: V when none is given: the default board's engine.
_DEFAULT_WIDTH = board_config().width

#: Elements of the gathered input block per chunk (bounds memory to ~64 MB in float64).
_CHUNK_ELEMENTS = 8_000_000


@dataclasses.dataclass
class ExecutionResult:
    """Outputs of :func:`execute`.

    Attributes
    ----------
    output : numpy.ndarray
        The program's final value (float after dequantize/softmax host ops).
    int_output : numpy.ndarray
        The last int8 map the engine produced, ``[B, C, H, W]`` (padding removed).
    counts : list of sw.mapping.counts.LayerCounts
        Per engine layer, per inference.
    cycles : object or None
        ``sw.mapping.cycle_model.program_cycles(program, lanes)`` when ``lanes`` is given.
    """

    output: np.ndarray
    int_output: np.ndarray
    counts: list
    cycles: object = None

    def predictions(self):
        """Arg-max class of each input."""
        return np.asarray(self.output).reshape(len(self.output), -1).argmax(axis=1)


def _sum_matrices(layer, dtype):
    """Distinct offsets ``u`` and the matrices mapping the gathered inputs to P and N."""
    u = np.unique(np.concatenate([layer.plus_off, layer.minus_off]))
    n = layer.out_channels
    mats = []
    for which in ("plus", "minus"):
        ptr, off = getattr(layer, f"{which}_ptr"), getattr(layer, f"{which}_off")
        m = np.zeros((len(u), n), dtype=dtype)
        chan = np.repeat(np.arange(n), np.diff(ptr))
        vals = layer.values.astype(dtype) if (which == "plus" and layer.mode == "dense") \
            else 1
        m[np.searchsorted(u, off), chan] = vals
        mats.append(m)
    return u, mats[0], mats[1]


def _exact_dtype(layer):
    n = layer.out_channels
    weight_abs = (np.abs(layer.values.astype(np.float64)) if layer.mode == "dense"
                  else np.ones(layer.nnz_plus))
    per_chan = np.bincount(np.repeat(np.arange(n), np.diff(layer.plus_ptr)),
                           weights=weight_abs, minlength=n)
    bound = 128 * float(np.max(per_chan + np.diff(layer.minus_ptr), initial=0))
    return np.float32 if bound < 2 ** 24 else np.float64


def layer_accumulators(layer, x):
    """``(P, N)`` of ``layer`` on padded int8 inputs ``x`` ``[B, C, Hp, Wp]`` (or flat).

    Returns int64 arrays ``[B, C_out, Ho, Wo]``.
    """
    x = np.asarray(x)
    b = x.shape[0]
    flat = x.reshape(b, -1)
    if flat.shape[1] != int(np.prod(layer.padded_shape)):
        raise ValueError(f"layer {layer.name}: input has {flat.shape[1]} values per sample, "
                         f"expected {layer.padded_shape} = {int(np.prod(layer.padded_shape))}")
    dtype = _exact_dtype(layer)
    u, m_plus, m_minus = _sum_matrices(layer, dtype)
    ho, wo = layer.conv_shape
    n = layer.out_channels
    p_out = np.zeros((b, ho * wo, n), np.int64)
    n_out = np.zeros((b, ho * wo, n), np.int64)
    if len(u):
        idx = layer.bases()[:, None] + u[None, :]
        step = max(1, _CHUNK_ELEMENTS // idx.size)
        # One product gives P and N side by side (N's columns only when there are -1s).
        both = np.concatenate([m_plus, m_minus], axis=1) if layer.nnz_minus else m_plus
        for i in range(0, b, step):
            patches = flat[i:i + step][:, idx].astype(dtype)
            # A 2-D product: numpy's stacked (3-D) matmul is far slower here.
            sums = np.rint(patches.reshape(-1, len(u)) @ both).reshape(
                patches.shape[:2] + (both.shape[1],))
            p_out[i:i + step] = sums[..., :n]
            if layer.nnz_minus:
                n_out[i:i + step] = sums[..., n:]
    shape = (b, ho, wo, n)
    return (p_out.reshape(shape).transpose(0, 3, 1, 2),
            n_out.reshape(shape).transpose(0, 3, 1, 2))


def pool_max(y, pool):
    """Max pooling ``[B, C, H, W]`` with window = stride ``pool``, floor mode."""
    ph, pw = pool
    if (ph, pw) == (1, 1):
        return y
    b, c, h, w = y.shape
    hq, wq = h // ph, w // pw
    y = y[:, :, :hq * ph, :wq * pw].reshape(b, c, hq, ph, wq, pw)
    return y.max(axis=(3, 5))


def run_layer(layer, x):
    """Run one engine layer on padded int8 inputs; return the padded int8 output map.

    Parameters
    ----------
    layer : EngineLayer
    x : array_like of int8
        ``[B, C, Hp, Wp]`` or ``[B, C*Hp*Wp]``.

    Returns
    -------
    numpy.ndarray of int8
        ``[B, C_out, Hq + 2*out_pad_h, Wq + 2*out_pad_w]``.
    """
    p, n = layer_accumulators(layer, x)
    # Channels on the last axis for the epilogue's per-channel parameters.
    y = dual_scale(p.transpose(0, 2, 3, 1), n.transpose(0, 2, 3, 1), layer.epilogue)
    y = pool_max(y.transpose(0, 3, 1, 2), layer.pool)
    oh, ow = layer.out_pad
    if oh or ow:
        y = np.pad(y, ((0, 0), (0, 0), (oh, oh), (ow, ow)))
    return np.ascontiguousarray(y, dtype=np.int8)


def execute(program, x, *, lanes=None, width=_DEFAULT_WIDTH, batch_size=1024,
            progress=False):
    """Run ``program`` on a batch of float inputs ``x`` ``[B, *program.input_shape]``.

    Parameters
    ----------
    program : sw.program.Program
    x : array_like
    lanes : int, optional
        Lane count for the cycle report (:func:`sw.mapping.cycle_model.program_cycles`).
    width : int
        The engine's V, for the counts and cycles (default: the default board's).
    batch_size : int
        Inputs processed together (memory only; results do not depend on it).
    progress : bool
        Show a tqdm bar over batches.

    Returns
    -------
    ExecutionResult
    """
    from tqdm.auto import tqdm

    x = np.asarray(x)
    if tuple(x.shape[1:]) != program.input_shape:
        raise ValueError(f"inputs have shape {tuple(x.shape[1:])} per sample, the program "
                         f"expects {program.input_shape}")
    outs, ints = [], []
    for i in tqdm(range(0, len(x), batch_size), disable=not progress, desc="golden"):
        value, last_int = x[i:i + batch_size], None
        for op in program.ops:
            if isinstance(op, EngineLayer):
                value = run_layer(op, value.reshape((len(value),) + op.padded_shape))
                c, h, w = op.out_shape
                oh, ow = op.out_pad
                last_int = value[:, :, oh:oh + h, ow:ow + w]
            else:
                value = run_host_op(op, value)
        outs.append(value)
        ints.append(last_int)
    output = np.concatenate(outs) if outs else np.zeros((0,))
    int_output = (np.concatenate(ints) if ints and ints[0] is not None
                  else np.zeros((0,), np.int8))
    cycles = None
    try:
        if lanes is not None:
            cycles = program_cycles(program, lanes, width)
    except ValueError as exc:
        # The program is valid under the contract but does not fit this engine build.
        warnings.warn(f"no cycle count: {exc}", stacklevel=2)
        cycles = None
    return ExecutionResult(output=output, int_output=int_output,
                           counts=program_counts(program, width), cycles=cycles)
