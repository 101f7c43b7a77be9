"""The integer program: engine layers and host operations (docs/program-format.md).

An :class:`EngineLayer` is one operation the hardware runs. Linear, conv1d and conv2d are the
same operation on a zero-padded, channel-major int8 map of shape ``(C, Hp, Wp)``::

    out_pre[c, pos] = epilogue_c(P = sum_{o in plus[c]}  x[base(pos) + o],
                                 N = sum_{o in minus[c]} x[base(pos) + o])

with ``base(pos) = oy*sh*Wp + ox*sw`` and offsets ``o = ci*Hp*Wp + ky*Wp + kx``. A dense int8
layer keeps one list with int8 values (``P = sum w*x``, ``N = 0``). Max pooling (stride =
window, floor mode) follows the epilogue, and the output is written zero-padded by
``out_pad`` for the next layer.

A :class:`HostOp` is anything the engine lacks (input quantization, dequantization, softmax,
and the float tail of the 1D CNN-transformer: class token and positional encoding,
transformer encoder layers, layer norm, float linear layers, token selection). Host ops
carry scalar parameters (``params``, JSON) and float64 weight arrays (``arrays``).
A :class:`Program` is the ordered list of both, with the input shape and metadata. Programs
do not depend on the lane count.
"""

import dataclasses
import json
import math
import numpy as np

from .. import spec
from .epilogue import DualScaleParams
from .transform import InputTransform

__all__ = ["EngineLayer", "HostOp", "Program", "HOST_OP_KINDS", "HOST_OP_ARRAYS", "MODES",
           "ENCODER_ARRAYS", "offsets_from_weights"]

#: Weight modes of an engine layer.
MODES = ("ternary", "dense")

#: Host operations and the parameters each takes (see docs/program-format.md).
HOST_OP_KINDS = {
    # float input [B, *input_shape] -> int8 map (C, H, W) padded by pad:
    # q = clip(rint(x / scale), -128, 127) (round half to even).
    "quantize": ("scale", "map_shape", "pad"),
    # int8 map (C, H, W) (unpadded) -> float [B, C*H*W] = scale * q.
    "dequantize": ("scale",),
    # float [B, K] -> float [B, K].
    "softmax": (),
    "log_softmax": (),
    # int8 map (C, H, W) (unpadded) -> float token sequence [B, H*W, C] = scale * q
    # (position-major: token t = map position t, its features = the C channels).
    "dequantize_map": ("scale", "map_shape"),
    # float [B, T, d] -> [B, T+1, d]: cat(class token, x) * scale + pos_encoding.
    "class_token_posenc": ("scale",),
    # float [B, T, d] -> [B, T, d]: PyTorch's nn.TransformerEncoderLayer (batch first,
    # eval mode, no mask).
    "transformer_encoder_layer": ("n_heads", "norm_first", "activation", "eps1", "eps2"),
    # float [..., d] -> [..., d]: layer norm over the last axis, then weight and bias.
    "layer_norm": ("eps",),
    # float [..., K] -> [..., N]: x @ weight.T + bias.
    "linear_float": (),
    # float [B, T, d] -> [B, d]: token ``index``.
    "select_token": ("index",),
}

#: Arrays (float64) of a transformer_encoder_layer host op, PyTorch's parameter names.
ENCODER_ARRAYS = ("in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias",
                  "linear1_weight", "linear1_bias", "linear2_weight", "linear2_bias",
                  "norm1_weight", "norm1_bias", "norm2_weight", "norm2_bias")

#: Host operations and the float64 arrays each carries (stored in the file's array blob).
HOST_OP_ARRAYS = {
    "quantize": (), "dequantize": (), "softmax": (), "log_softmax": (),
    "dequantize_map": (),
    "class_token_posenc": ("cls_token", "pos_encoding"),
    "transformer_encoder_layer": ENCODER_ARRAYS,
    "layer_norm": ("weight", "bias"),
    "linear_float": ("weight", "bias"),
    "select_token": (),
}

#: Activations a transformer_encoder_layer host op may name.
ENCODER_ACTIVATIONS = ("relu", "gelu")


def _pair(name, value, lo=0):
    try:
        a, b = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair of integers, not {value!r}") from None
    if a < lo or b < lo:
        raise ValueError(f"{name} = {(a, b)} is out of range: each must be >= {lo}")
    return a, b


def offsets_from_weights(weights, padded_hw):
    """Offset lists of a weight tensor ``[C_out, C_in, kh, kw]`` for a padded map ``(Hp, Wp)``.

    Returns ``(ptr, off, val)``: channel ``c`` owns ``off[ptr[c]:ptr[c+1]]`` (sorted) with
    values ``val`` (the nonzero weights, in the same order).
    """
    w = np.asarray(weights)
    if w.ndim != 4:
        raise ValueError(f"weights must be [C_out, C_in, kh, kw], not shape {w.shape}")
    hp, wp = padded_hw
    c_out, c_in, kh, kw = w.shape
    ci, ky, kx = np.meshgrid(np.arange(c_in), np.arange(kh), np.arange(kw), indexing="ij")
    window = (ci * hp * wp + ky * wp + kx).reshape(-1)
    flat = w.reshape(c_out, -1)
    ptr = np.zeros(c_out + 1, dtype=np.int64)
    offs, vals = [], []
    for c in range(c_out):
        nz = np.flatnonzero(flat[c])
        order = np.argsort(window[nz], kind="stable")
        offs.append(window[nz][order])
        vals.append(flat[c][nz][order])
        ptr[c + 1] = ptr[c] + len(nz)
    off = np.concatenate(offs).astype(np.int64) if offs else np.zeros(0, np.int64)
    val = np.concatenate(vals) if vals else np.zeros(0, w.dtype)
    return ptr, off, val


@dataclasses.dataclass(eq=False)
class EngineLayer:
    """One layer the engine runs.

    Parameters
    ----------
    name : str
    mode : {"ternary", "dense"}
    in_shape : (C, H, W)
        Unpadded input map (conv1d: H = 1; linear: the flattened input's map, or (F, 1, 1)).
    pad : (pad_h, pad_w)
        Zero padding of the input map, already present in memory.
    kernel, stride : (int, int)
    out_channels : int
    plus_ptr, plus_off : arrays
        CSR offset lists of the +1 weights (ternary) or of all nonzero weights (dense):
        channel ``c`` owns ``plus_off[plus_ptr[c]:plus_ptr[c+1]]``, sorted ascending.
    minus_ptr, minus_off : arrays
        The -1 weights (ternary); empty lists for dense layers.
    values : array of int8
        Dense only: the weight of each ``plus_off`` entry (nonzero).
    epilogue : DualScaleParams
        Per-output-channel ``(M_r, M_l, B, s)``, with the layer's activation and slope.
    pool : (int, int)
        Max pooling window (= stride, floor mode) after the epilogue; (1, 1) for none.
    out_pad : (int, int)
        Zero padding written around the output map (the next layer's ``pad``).
    in_scale, out_scale : float
        Real value of one input / output LSB (information for host ops and reports).
    """

    name: str
    mode: str
    in_shape: tuple
    pad: tuple
    kernel: tuple
    stride: tuple
    out_channels: int
    plus_ptr: np.ndarray
    plus_off: np.ndarray
    minus_ptr: np.ndarray
    minus_off: np.ndarray
    values: np.ndarray
    epilogue: DualScaleParams
    pool: tuple = (1, 1)
    out_pad: tuple = (0, 0)
    in_scale: float = 1.0
    out_scale: float = 1.0

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode = {self.mode!r}: expected one of {MODES}")
        try:
            c, h, w = (int(v) for v in self.in_shape)
        except (TypeError, ValueError):
            raise ValueError(f"in_shape must be (C, H, W), not {self.in_shape!r}") from None
        if min(c, h, w) < 1:
            raise ValueError(f"in_shape = {(c, h, w)}: every dimension must be >= 1")
        self.in_shape = (c, h, w)
        self.pad = _pair("pad", self.pad)
        self.kernel = _pair("kernel", self.kernel, 1)
        self.stride = _pair("stride", self.stride, 1)
        self.pool = _pair("pool", self.pool, 1)
        self.out_pad = _pair("out_pad", self.out_pad)
        self.out_channels = int(self.out_channels)
        if self.out_channels < 1:
            raise ValueError(f"out_channels = {self.out_channels}: must be >= 1")
        hp, wp = self.padded_shape[1:]
        if self.kernel[0] > hp or self.kernel[1] > wp:
            raise ValueError(f"kernel {self.kernel} is larger than the padded input "
                             f"{(hp, wp)}")
        ho, wo = self.conv_shape
        if ho // self.pool[0] < 1 or wo // self.pool[1] < 1:
            raise ValueError(f"pool {self.pool} is larger than the layer's output {(ho, wo)}")
        self.in_scale, self.out_scale = float(self.in_scale), float(self.out_scale)
        if not isinstance(self.epilogue, DualScaleParams):
            raise ValueError("epilogue must be a DualScaleParams")
        if self.epilogue.channels != self.out_channels:
            raise ValueError(f"epilogue has {self.epilogue.channels} channels, the layer "
                             f"{self.out_channels}")
        for which in ("plus", "minus"):
            ptr = np.asarray(getattr(self, f"{which}_ptr"), dtype=np.int64)
            off = np.asarray(getattr(self, f"{which}_off"), dtype=np.int64)
            setattr(self, f"{which}_ptr", ptr)
            setattr(self, f"{which}_off", off)
            self._check_lists(which, ptr, off)
        self.values = np.asarray(self.values)
        if self.mode == "dense":
            if len(self.minus_off):
                raise ValueError("a dense layer has no minus list")
            if self.values.shape != self.plus_off.shape:
                raise ValueError(f"values has shape {self.values.shape}, expected one value "
                                 f"per plus offset {self.plus_off.shape}")
            v = self.values.astype(np.int64)
            if v.size and (v.min() < spec.ACT_MIN or v.max() > spec.ACT_MAX or (v == 0).any()):
                raise ValueError(f"dense values must be nonzero int8 in "
                                 f"[{spec.ACT_MIN}, {spec.ACT_MAX}]")
            self.values = v.astype(np.int8)
        else:
            if self.values.size:
                raise ValueError("a ternary layer has no values")
            self.values = np.zeros(0, np.int8)
            both = np.diff(self.plus_ptr) + np.diff(self.minus_ptr)
            if both.size and both.max() > spec.MAX_FAN_IN:
                raise ValueError(f"a channel has {both.max()} nonzero weights, more than "
                                 f"MAX_FAN_IN = {spec.MAX_FAN_IN}")

    def _check_lists(self, which, ptr, off):
        n = self.out_channels
        if ptr.shape != (n + 1,) or ptr[0] != 0 or (np.diff(ptr) < 0).any() \
                or ptr[-1] != len(off):
            raise ValueError(f"{which}_ptr must hold {n + 1} non-decreasing row pointers "
                             f"from 0 to len({which}_off) = {len(off)}")
        if np.diff(ptr).max(initial=0) > spec.MAX_FAN_IN:
            raise ValueError(f"{which} list longer than MAX_FAN_IN = {spec.MAX_FAN_IN}")
        c, hp, wp = self.padded_shape
        if off.size:
            ok = (off >= 0) & (off < c * hp * wp)
            rem = off % (hp * wp)
            ok &= (rem // wp < self.kernel[0]) & (rem % wp < self.kernel[1])
            if not ok.all():
                i = int(np.flatnonzero(~ok)[0])
                raise ValueError(f"{which}_off[{i}] = {int(off[i])} is outside the "
                                 f"{self.kernel} window of a {(c, hp, wp)} padded map")
            # Pair (k, k+1) lies inside one channel unless k+1 starts a channel.
            inner = np.ones(len(off) - 1, bool)
            starts = ptr[1:-1]
            inner[starts[(starts > 0) & (starts < len(off))] - 1] = False
            if (np.diff(off)[inner] <= 0).any():
                raise ValueError(f"{which}_off must be strictly increasing within a channel")

    # -- derived shapes -------------------------------------------------------------------
    @property
    def padded_shape(self):
        """``(C, Hp, Wp)`` of the input map in memory."""
        c, h, w = self.in_shape
        return c, h + 2 * self.pad[0], w + 2 * self.pad[1]

    @property
    def conv_shape(self):
        """``(Ho, Wo)``: output positions before pooling."""
        _, hp, wp = self.padded_shape
        return ((hp - self.kernel[0]) // self.stride[0] + 1,
                (wp - self.kernel[1]) // self.stride[1] + 1)

    @property
    def out_shape(self):
        """``(C_out, Hq, Wq)``: the output map after pooling, before ``out_pad``."""
        ho, wo = self.conv_shape
        return self.out_channels, ho // self.pool[0], wo // self.pool[1]

    @property
    def out_padded_shape(self):
        c, h, w = self.out_shape
        return c, h + 2 * self.out_pad[0], w + 2 * self.out_pad[1]

    @property
    def positions(self):
        """Pre-pool positions the engine computes: those inside a pooling window
        (``Hq*qh * Wq*qw``); floor-mode pooling never reads the rest, so it is not computed
        (without pooling, all ``Ho * Wo``)."""
        _, hq, wq = self.out_shape
        return hq * self.pool[0] * wq * self.pool[1]

    def bases(self):
        """``base(pos)`` of every pre-pool position, row-major."""
        _, _, wp = self.padded_shape
        ho, wo = self.conv_shape
        oy, ox = np.meshgrid(np.arange(ho), np.arange(wo), indexing="ij")
        return (oy * self.stride[0] * wp + ox * self.stride[1]).reshape(-1)

    @property
    def nnz_plus(self):
        return len(self.plus_off)

    @property
    def nnz_minus(self):
        return len(self.minus_off)

    @property
    def nnz(self):
        return self.nnz_plus + self.nnz_minus

    def nnz_per_channel(self):
        """Nonzero weights of each output channel (what one lane streams per position)."""
        return np.diff(self.plus_ptr) + np.diff(self.minus_ptr)

    def channel_lists(self, c):
        """``(plus offsets, minus offsets, values)`` of output channel ``c``."""
        sl = slice(self.plus_ptr[c], self.plus_ptr[c + 1])
        ml = slice(self.minus_ptr[c], self.minus_ptr[c + 1])
        vals = self.values[sl] if self.mode == "dense" else None
        return self.plus_off[sl], self.minus_off[ml], vals

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_weights(cls, name, weights, *, in_shape, pad=(0, 0), stride=(1, 1),
                     epilogue, mode, pool=(1, 1), out_pad=(0, 0), in_scale=1.0,
                     out_scale=1.0):
        """Build a layer from a weight tensor ``[C_out, C_in, kh, kw]``.

        ``mode="ternary"``: ``weights`` holds codes in {-1, 0, +1}; ``mode="dense"``: int8.
        """
        w = np.asarray(weights)
        if w.ndim != 4:
            raise ValueError(f"weights must be [C_out, C_in, kh, kw], not shape {w.shape}")
        if int(in_shape[0]) != w.shape[1]:
            raise ValueError(f"weights have {w.shape[1]} input channels, in_shape "
                             f"{tuple(in_shape)}")
        pad = _pair("pad", pad)
        hp, wp = int(in_shape[1]) + 2 * pad[0], int(in_shape[2]) + 2 * pad[1]
        if mode == "ternary":
            if not np.isin(w, (-1, 0, 1)).all():
                raise ValueError("ternary weights must be codes in {-1, 0, +1}")
            pp, po, _ = offsets_from_weights(w > 0, (hp, wp))
            mp, mo, _ = offsets_from_weights(w < 0, (hp, wp))
            vals = np.zeros(0, np.int8)
        else:
            pp, po, vals = offsets_from_weights(w, (hp, wp))
            mp, mo = np.zeros(w.shape[0] + 1, np.int64), np.zeros(0, np.int64)
        return cls(name=name, mode=mode, in_shape=tuple(in_shape), pad=pad,
                   kernel=w.shape[2:], stride=stride, out_channels=w.shape[0],
                   plus_ptr=pp, plus_off=po, minus_ptr=mp, minus_off=mo, values=vals,
                   epilogue=epilogue, pool=pool, out_pad=out_pad, in_scale=in_scale,
                   out_scale=out_scale)

    def weights(self):
        """The layer's weights as a dense ``[C_out, C_in, kh, kw]`` int array (codes or int8)."""
        c_in, hp, wp = self.padded_shape
        kh, kw = self.kernel
        w = np.zeros((self.out_channels, c_in, kh, kw), dtype=np.int64)
        for c in range(self.out_channels):
            plus, minus, vals = self.channel_lists(c)
            for offs, v in ((plus, 1 if vals is None else vals.astype(np.int64)),
                            (minus, -1)):
                ci, rem = np.divmod(offs, hp * wp)
                ky, kx = np.divmod(rem, wp)
                w[c, ci, ky, kx] = v
        return w


@dataclasses.dataclass(eq=False)
class HostOp:
    """An operation the host runs (see :data:`HOST_OP_KINDS` and :data:`HOST_OP_ARRAYS`).

    Parameters
    ----------
    kind : str
    params : dict
        Scalar parameters (plain JSON values).
    name : str
    arrays : dict of str -> numpy.ndarray
        Float weights (stored as float64), exactly the names the kind needs.
    """

    kind: str
    params: dict = dataclasses.field(default_factory=dict)
    name: str = ""
    arrays: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in HOST_OP_KINDS:
            raise ValueError(f"unknown host op kind {self.kind!r}: this software knows "
                             f"{sorted(HOST_OP_KINDS)}")
        missing = [k for k in HOST_OP_KINDS[self.kind] if k not in self.params]
        if missing:
            raise ValueError(f"host op {self.kind!r} lacks parameters {missing}")
        self.params = json.loads(json.dumps(self.params))  # plain JSON values only
        self.name = self.name or self.kind
        want = HOST_OP_ARRAYS[self.kind]
        arrays = dict(self.arrays or {})
        if sorted(arrays) != sorted(want):
            raise ValueError(f"host op {self.kind!r} ({self.name}) has arrays "
                             f"{sorted(arrays)}, expected {sorted(want)}")
        for k, v in arrays.items():
            a = np.array(v, dtype=np.float64)
            if not np.isfinite(a).all():
                raise ValueError(f"host op {self.name}: array {k!r} holds NaN or infinity")
            arrays[k] = a
        self.arrays = {k: arrays[k] for k in want}
        self._check_shapes()

    def _check_shapes(self):
        a, p, where = self.arrays, self.params, f"host op {self.name} ({self.kind})"

        def need(cond, what):
            if not cond:
                raise ValueError(f"{where}: {what}")

        def is_int(v, low):
            return isinstance(v, int) and not isinstance(v, bool) and v >= low

        # The scalar parameters, checked here so that a damaged program file fails when it
        # is read, naming the parameter, not in the middle of a run.
        for key in ("scale", "eps", "eps1", "eps2"):
            if key in HOST_OP_KINDS[self.kind]:
                v = p[key]
                need(isinstance(v, (int, float)) and not isinstance(v, bool)
                     and math.isfinite(v) and v > 0, f"{key} = {v!r} must be a number > 0")
        for key, n, low in (("map_shape", 3, 1), ("pad", 2, 0)):
            if key in HOST_OP_KINDS[self.kind]:
                v = p[key]
                need(isinstance(v, list) and len(v) == n and all(is_int(x, low) for x in v),
                     f"{key} must be {n} integers >= {low}, not {v!r}")
        if self.kind == "dequantize_map":
            need(isinstance(p["map_shape"], list) and len(p["map_shape"]) == 3,
                 f"map_shape must be [C, H, W], not {p['map_shape']!r}")
        elif self.kind == "class_token_posenc":
            d = a["cls_token"].size
            need(a["cls_token"].shape == (d,), "cls_token must be a vector [d]")
            need(a["pos_encoding"].ndim == 2 and a["pos_encoding"].shape[1] == d,
                 f"pos_encoding must be [T+1, {d}], not {a['pos_encoding'].shape}")
        elif self.kind == "transformer_encoder_layer":
            d = a["norm1_weight"].size
            h = p["n_heads"]
            need(isinstance(h, int) and h >= 1 and d % h == 0,
                 f"n_heads = {h!r} must be a positive divisor of d_model = {d}")
            need(p["activation"] in ENCODER_ACTIVATIONS,
                 f"activation = {p['activation']!r}: expected one of {ENCODER_ACTIVATIONS}")
            need(isinstance(p["norm_first"], bool), "norm_first must be true or false")
            f = a["linear1_bias"].size
            shapes = dict(in_proj_weight=(3 * d, d), in_proj_bias=(3 * d,),
                          out_proj_weight=(d, d), out_proj_bias=(d,),
                          linear1_weight=(f, d), linear1_bias=(f,),
                          linear2_weight=(d, f), linear2_bias=(d,),
                          norm1_weight=(d,), norm1_bias=(d,), norm2_weight=(d,),
                          norm2_bias=(d,))
            for k, s in shapes.items():
                need(a[k].shape == s, f"array {k!r} has shape {a[k].shape}, expected {s}")
        elif self.kind == "layer_norm":
            need(a["weight"].ndim == 1 and a["bias"].shape == a["weight"].shape,
                 "weight and bias must be vectors of the same length")
        elif self.kind == "linear_float":
            w = a["weight"]
            need(w.ndim == 2 and a["bias"].shape == (w.shape[0],),
                 f"weight must be [N, K] and bias [N]; got {w.shape} and {a['bias'].shape}")
        elif self.kind == "select_token":
            need(isinstance(p["index"], int) and p["index"] >= 0,
                 f"index = {p['index']!r} must be an integer >= 0")


@dataclasses.dataclass(eq=False)
class Program:
    """An integer program: ``ops`` in order, the float input shape, and metadata.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one float input without the batch axis (e.g. ``(1, 20, 20)``).
    ops : list of EngineLayer or HostOp
    classes : list of str
        Output class names (may be empty).
    meta : dict
        JSON-able information (source model, compiler options, calibration).
    """

    input_shape: tuple
    ops: list
    classes: list = dataclasses.field(default_factory=list)
    meta: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        self.input_shape = tuple(int(v) for v in self.input_shape)
        self.ops = list(self.ops)
        self.classes = [str(c) for c in self.classes]
        self.meta = json.loads(json.dumps(self.meta))
        self.check()

    def check(self):
        """Check that consecutive ops fit together; raise ValueError naming the op."""
        prev_out = None  # (shape, pad) of the int8 map the previous op leaves
        for i, op in enumerate(self.ops):
            where = f"op {i} ({op.name})"
            if not isinstance(op, (EngineLayer, HostOp)):
                raise ValueError(f"{where}: not an EngineLayer or HostOp")
            if isinstance(op, EngineLayer):
                if prev_out is None:
                    raise ValueError(f"{where}: an engine layer needs an int8 map before "
                                     f"it (a quantize host op)")
                shape, pad = prev_out
                if int(np.prod(shape)) != int(np.prod(op.in_shape)) or tuple(pad) != op.pad:
                    raise ValueError(f"{where}: expects input {op.in_shape} padded by "
                                     f"{op.pad}, gets {tuple(shape)} padded by {tuple(pad)}")
                if tuple(shape) != op.in_shape and any(pad):
                    raise ValueError(f"{where}: reshaping a padded map is not a no-op")
                prev_out = (op.out_shape, op.out_pad)
            elif op.kind == "quantize":
                shape = tuple(op.params["map_shape"])
                if int(np.prod(shape)) != int(np.prod(self.input_shape)):
                    raise ValueError(f"{where}: map_shape {shape} does not hold the input "
                                     f"{self.input_shape}")
                prev_out = (shape, tuple(op.params["pad"]))
            elif op.kind in ("dequantize", "dequantize_map"):
                if prev_out is None or any(prev_out[1]):
                    raise ValueError(f"{where}: {op.kind} needs an unpadded int8 map")
                if op.kind == "dequantize_map" and \
                        tuple(op.params["map_shape"]) != tuple(prev_out[0]):
                    raise ValueError(f"{where}: map_shape {op.params['map_shape']} differs "
                                     f"from the int8 map {tuple(prev_out[0])} before it")
                prev_out = None
        return self

    @property
    def engine_layers(self):
        return [op for op in self.ops if isinstance(op, EngineLayer)]

    @property
    def host_ops(self):
        return [op for op in self.ops if isinstance(op, HostOp)]

    @property
    def input_transform(self):
        """The model's input transform recorded by the compiler
        (``meta["input_transform"]``, an :class:`sw.program.transform.InputTransform`), or
        None for a program that records none (built by hand, or by ``compile_model``
        without one)."""
        d = self.meta.get("input_transform")
        return None if d is None else InputTransform.from_dict(d, "meta.input_transform")

    @property
    def engine_target(self):
        """``(lanes, width)`` of the engine the program was compiled for
        (``meta["engine"]``, written by ``attq-fpga compile --lanes P --width V``), or None
        for a program that runs on any engine."""
        d = self.meta.get("engine")
        return None if d is None else (int(d["lanes"]), int(d["width"]))

    def summary(self):
        """One line per op: name, kind, shapes, nonzero weights."""
        lines = []
        for op in self.ops:
            if isinstance(op, EngineLayer):
                lines.append(f"{op.name:12s} {op.mode:7s} in {op.in_shape} pad {op.pad} "
                             f"k {op.kernel} s {op.stride} -> {op.out_shape} pool {op.pool} "
                             f"act {op.epilogue.act.name} nnz {op.nnz} "
                             f"(+{op.nnz_plus}/-{op.nnz_minus}) positions {op.positions}")
            else:
                arrays = "".join(f" {k}{list(v.shape)}" for k, v in op.arrays.items())
                lines.append(f"{op.name:12s} host    {op.kind} {op.params}{arrays}")
        return "\n".join(lines)

