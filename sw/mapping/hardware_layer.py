"""A program's engine layer in the form the hardware takes it: lanes, weight words, registers.

:class:`HardwareLayer` is built from the layer's weights as a dense integer tensor (ternary
codes in {-1, 0, +1}, or int8 for the dense mode) and its geometry, or from an
:class:`sw.program.ir.EngineLayer` with :meth:`~HardwareLayer.from_program`. The program
stores offsets into a zero-padded map; the engine keeps maps unpadded and skips reads that
fall in the padding, so this is where the one becomes the other. It knows how to assign
output channels to lanes (largest word count first, each to the least loaded lane), how
to lay out each lane's weight words (:data:`sw.spec.WEIGHT_WORD_FIELDS`), and the layer
configuration the engine's registers take. The cycle model
(:mod:`sw.mapping.cycle_model`) and the benches both start from it.
"""

import dataclasses

import numpy as np

from .. import spec
from ..spec import LayerMode
from ..program.epilogue import DualScaleParams

__all__ = ["HardwareLayer", "MAX_DIM", "assign_lanes", "check_registers", "place_maps"]


def assign_lanes(words_per_channel, lanes):
    """Longest-processing-time assignment of channels to lanes.

    Channels in decreasing word count (ties: lower channel first) each go to the lane with
    the fewest words so far (ties: lower lane). Returns one ascending channel list a lane.
    """
    load = [0] * lanes
    out = [[] for _ in range(lanes)]
    for c in sorted(range(len(words_per_channel)), key=lambda c: (-words_per_channel[c], c)):
        k = min(range(lanes), key=lambda k: (load[k], k))
        out[k].append(c)
        load[k] += words_per_channel[c]
    return [sorted(chans) for chans in out]


#: The largest map height or width the layer registers hold (a larger map runs in bands).
MAX_DIM = (1 << spec.DIM_WIDTH) - 1


def check_registers(weights_shape, stride, pad, pool):
    """Raise ValueError, naming the field, its value and the allowed range, when a layer of
    this kernel, stride, padding and pooling does not fit the engine's layer registers
    (``sw.spec`` field widths), whatever its map's size (a map larger than
    :data:`MAX_DIM` runs in bands)."""
    c_out, _, kh, kw = weights_shape
    spec.check_int("C_out", c_out, 1, spec.MAX_CHANNELS)
    spec.check_int("kh", kh, 1, 1 << spec.KERNEL_WIDTH)
    spec.check_int("kw", kw, 1, 1 << spec.KERNEL_WIDTH)
    for name, v in zip(("stride_h", "stride_w"), stride):
        spec.check_int(name, v, 1, (1 << spec.KERNEL_WIDTH) - 1)
    for name, v in zip(("pad_h", "pad_w"), pad):
        spec.check_int(name, v, 0, (1 << spec.KERNEL_WIDTH) - 1)
    for name, v in zip(("pool_h", "pool_w"), pool):
        spec.check_int(name, v, 1, 2)


@dataclasses.dataclass
class HardwareLayer:
    """One conv2d / conv1d / linear layer for the engine.

    Parameters
    ----------
    mode : LayerMode
    weights : ndarray of int, shape (C_out, C_in, kh, kw)
        Ternary codes in {-1, 0, +1} (TERNARY) or int8 (DENSE). A linear layer over a
        (C, H, W) map is the kernel (H, W) with no padding; conv1d has H = kh = 1.
    in_shape : (C_in, H, W)
    stride, pad : (int, int)
    pool : (int, int)
        Max pooling window (1 or 2 each), stride = window, floor mode, after the epilogue.
    params : DualScaleParams
        Per-channel epilogue (act and slope per layer).
    in_base, out_base : int
        Activation memory addresses of the input and output maps.
    param_base : int
        Parameter memory address of the layer's channel 0.
    band : (int, int, int), optional
        ``(r0, a, rows)``: this layer is a row band of a taller layer (sw/mapping/tiling.py).
        ``in_shape`` is then the band's input, rows ``[a, a + H)`` of the whole input map;
        the band computes the whole layer's pooled output rows ``[r0, r0 + rows)`` into an
        output map of ``rows`` rows. Reads above row 0 or below row ``H - 1`` of the band
        are the zero padding, so a band holds every row its windows read that lies inside
        the whole map. None (the default): the whole layer.
    for_counts : bool
        True: the whole layer as the counts and the cycle model see it, whose map may be
        larger than the layer registers hold (:data:`MAX_DIM`; it runs in bands), never
        loaded on an engine. Default False.
    """
    mode: LayerMode
    weights: np.ndarray
    in_shape: tuple
    stride: tuple = (1, 1)
    pad: tuple = (0, 0)
    pool: tuple = (1, 1)
    params: DualScaleParams = None
    in_base: int = 0
    out_base: int = 0
    param_base: int = 0
    band: tuple = None
    for_counts: bool = dataclasses.field(default=False, compare=False, repr=False)

    def __post_init__(self):
        self.mode = LayerMode(int(self.mode))
        self.weights = np.asarray(self.weights, dtype=np.int64)
        c_out, c_in, kh, kw = self.weights.shape
        cin, h, w = self.in_shape
        if cin != c_in:
            raise ValueError(f"weights have {c_in} input channels, the input map {cin}")
        lo, hi = ((-1, 1) if self.mode is LayerMode.TERNARY else (spec.ACT_MIN, spec.ACT_MAX))
        if self.weights.size and (self.weights.min() < lo or self.weights.max() > hi):
            raise ValueError(f"weights of a {self.mode.name} layer must lie in [{lo}, {hi}]")
        check_registers(self.weights.shape, self.stride, self.pad, self.pool)
        for name, v in (("H", h), ("W", w)):
            spec.check_int(name, v, 1, 1 << 30 if self.for_counts else MAX_DIM)
        if self.band is not None:
            self.band = tuple(int(v) for v in self.band)
            r0, a, rows = self.band
            if r0 < 0 or a < 0 or rows < 1:
                raise ValueError(f"band = {self.band}: r0 and a must be >= 0 and rows >= 1")
        if self.params is None or self.params.channels != c_out:
            raise ValueError(f"params must give the epilogue of each of the {c_out} channels")
        if self.out_h < 1 or self.out_w < 1:
            raise ValueError("the layer has no output position")
        end = max(self.in_base + cin * h * w, self.out_base + c_out * self.out_h * self.out_w)
        if end > 1 << spec.ACT_ADDR_WIDTH and not self.for_counts:
            raise ValueError(f"maps end at address {end}, past the activation memory")

    @classmethod
    def from_program(cls, layer, in_base=0, out_base=0, *, for_counts=False):
        """The hardware form of a program's engine layer (``sw.program.ir.EngineLayer``)."""
        mode = LayerMode.TERNARY if layer.mode == "ternary" else LayerMode.DENSE
        return cls(mode, layer.weights(), layer.in_shape, layer.stride, layer.pad, layer.pool,
                   layer.epilogue, in_base=in_base, out_base=out_base, for_counts=for_counts)

    @property
    def in_size(self):
        return int(np.prod(self.in_shape))

    @property
    def out_size(self):
        return self.c_out * self.out_h * self.out_w

    # Geometry ---------------------------------------------------------------------------
    @property
    def c_out(self):
        return self.weights.shape[0]

    @property
    def conv_shape(self):
        """Output rows and columns before pooling."""
        _, h, w = self.in_shape
        _, _, kh, kw = self.weights.shape
        return ((h + 2 * self.pad[0] - kh) // self.stride[0] + 1,
                (w + 2 * self.pad[1] - kw) // self.stride[1] + 1)

    @property
    def out_h(self):
        if self.band is not None:
            return self.band[2]
        return self.conv_shape[0] // self.pool[0]

    def first_y0(self, i0=0):
        """Top input row, in this map's rows, of the first position of pooled row ``i0``
        (negative in the top padding)."""
        y0 = i0 * self.pool[0] * self.stride[0] - self.pad[0]
        if self.band is not None:
            r0, a, _ = self.band
            y0 += r0 * self.pool[0] * self.stride[0] - a
        return y0

    @property
    def out_w(self):
        return self.conv_shape[1] // self.pool[1]

    @property
    def positions(self):
        """Output positions the engine computes (pooling windows times their size)."""
        return self.out_h * self.out_w * self.pool[0] * self.pool[1]

    def is_wide(self, width):
        """Whether the layer runs ``width`` positions per word (:func:`sw.spec.layer_is_wide`)."""
        return spec.layer_is_wide(width, self.stride[1], self.pool[1])

    def group_shape(self, width):
        """``(span, steps)`` of a column group on an engine of ``width``: the pooled
        columns a group covers and the steps (one weight-word pass each) it takes.

        Wide: ``width / pool_w`` columns, one step per window row. Narrow: one column, one
        step per window position.
        """
        if self.is_wide(width):
            return width // self.pool[1], self.pool[0]
        return 1, self.pool[0] * self.pool[1]

    def groups(self, width):
        """Column groups of the layer: ``out_h`` rows of ``ceil(out_w / span)``."""
        span, _ = self.group_shape(width)
        return self.out_h * -(-self.out_w // span)

    def steps(self, width):
        """Weight-word passes the layer takes on an engine of ``width`` (1 for a
        single-position layer, whose words are shared out among the lanes instead)."""
        if self.positions == 1:
            return 1
        return self.groups(width) * self.group_shape(width)[1]

    # Words ------------------------------------------------------------------------------
    def channel_words(self, c, skip_zeros=True):
        """The weight words of output channel ``c`` as dicts of WEIGHT_WORD_FIELDS.

        ``skip_zeros=False`` gives a word to every weight, zeros included: the same engine
        without zero-skipping, for measuring what skipping saves.
        """
        _, h, w = self.in_shape
        if skip_zeros:
            ci, ky, kx = np.nonzero(self.weights[c])
        else:
            ci, ky, kx = (a.reshape(-1) for a in np.indices(self.weights[c].shape))
        if len(ci) == 0:
            return [{"off": 0, "ky": 0, "kx": 0, "w": 0, "last": 1}]
        words = [{"off": int(a * h * w + b * w + d), "ky": int(b), "kx": int(d),
                  "w": int(self.weights[c, a, b, d]), "last": 0}
                 for a, b, d in zip(ci, ky, kx)]
        words[-1]["last"] = 1
        return words

    def words_per_channel(self, skip_zeros=True):
        if not skip_zeros:
            return [int(self.weights[c].size) for c in range(self.c_out)]
        return [max(1, int(np.count_nonzero(self.weights[c]))) for c in range(self.c_out)]

    def lane_program(self, lanes, *, width, word_base=0, chan_base=0, skip_zeros=True,
                     tolerance=0.02):
        """Split the layer among ``lanes`` lanes of an engine of ``width`` (V).

        The lanes form ``groups`` x ``blocks``: the output channels are shared out among
        ``groups`` channel groups (:func:`assign_lanes`), the column groups of the output
        (:meth:`group_shape`) among ``blocks`` runs of consecutive column groups, and each
        lane computes one channel group over one run. A layer with few channels thus still
        keeps every lane busy (its few weights are copied to several lanes). The split with
        the fewest blocks whose busiest lane has at most ``tolerance`` (2 %) more words to
        walk than the best split's wins.

        A layer with a single position (a linear layer) is split instead by cutting the
        concatenated words of all its channels into ``lanes`` equal runs (:meth:`_chunked`).

        Returns one dict a lane: ``channels``, ``words`` (for one step), ``steps``, ``cfg``
        (the lane configuration registers) and ``partial`` (True when its results are
        chunks of channels shared with other lanes).
        """
        if width not in spec.ENGINE_WIDTHS:
            raise ValueError(f"width = {width!r} is not one of {spec.ENGINE_WIDTHS}")
        per_channel = self.words_per_channel(skip_zeros)
        if self.positions == 1 and lanes > 1:
            return self._chunked(lanes, word_base, chan_base, skip_zeros)
        span, group_steps = self.group_shape(width)
        row_groups = -(-self.out_w // span)
        total = self.out_h * row_groups
        splits = []
        for blocks in range(1, min(lanes, total) + 1):
            groups = assign_lanes(per_channel, lanes // blocks)
            runs = [len(r) for r in np.array_split(np.arange(total), blocks)]
            busiest = max(sum(per_channel[c] for c in g) for g in groups) * max(runs)
            splits.append((busiest, groups, runs))
        # Each extra block copies the group's words into more lanes: take the fewest
        # blocks within the tolerance of the fastest split.
        fastest = min(busiest for busiest, _, _ in splits)
        best = next(split for split in splits if split[0] <= (1 + tolerance) * fastest)
        _, groups, runs = best
        out = []
        for chans in groups:
            words = [wd for c in chans for wd in self.channel_words(c, skip_zeros)]
            start = 0
            for run in runs:
                active = bool(chans) and run > 0
                i0, g0 = divmod(start, row_groups)
                j0 = g0 * span
                y0 = self.first_y0(i0)
                x0 = j0 * self.pool[1] * self.stride[1] - self.pad[1]
                out.append({"channels": chans if active else [],
                            "words": words if active else [],
                            "steps": run * group_steps if active else 0,
                            "partial": False,
                            "cfg": {"word_base": word_base if active else 0,
                                    "n_words": len(words) if active else 0,
                                    "chan_base": chan_base, "i0": i0, "j0": j0,
                                    "groups": run if active else 0,
                                    "y0": y0, "x0": x0, "row": y0 * self.in_shape[2]}})
                start += run
        while len(out) < lanes:
            out.append(self._idle_lane(chan_base))
        return out

    @staticmethod
    def _idle_lane(chan_base):
        return {"channels": [], "words": [], "steps": 0, "partial": False,
                "cfg": {"word_base": 0, "n_words": 0, "chan_base": chan_base,
                        "i0": 0, "j0": 0, "groups": 0, "y0": 0, "x0": 0, "row": 0}}

    def _chunked(self, lanes, word_base, chan_base, skip_zeros):
        """Single-position split: lane k takes words [k*n, (k+1)*n) of all channels' words
        in channel order, ``n = ceil(words / lanes)``; a channel cut between lanes becomes a
        chunk in each (its ``last`` word ends the chunk) and the engine adds the chunks."""
        flat = [(c, dict(wd)) for c in range(self.c_out)
                for wd in self.channel_words(c, skip_zeros)]
        size = -(-len(flat) // lanes)
        out = []
        for k in range(lanes):
            run = flat[k * size:(k + 1) * size]
            if not run:
                out.append(self._idle_lane(chan_base))
                continue
            words, chans = [], []
            for idx, (c, wd) in enumerate(run):
                wd["last"] = int(idx == len(run) - 1 or run[idx + 1][0] != c)
                words.append(wd)
                if wd["last"]:
                    chans.append(c)
            out.append({"channels": chans, "words": words, "steps": 1, "partial": True,
                        "cfg": {"word_base": word_base, "n_words": len(words),
                                "chan_base": chan_base, "i0": 0, "j0": 0, "groups": 1,
                                "y0": self.first_y0(), "x0": -self.pad[1],
                                "row": self.first_y0() * self.in_shape[2]}})
        return out

    def config(self, width):
        """The engine's layer registers (hw.engine.layouts.layer_config_layout) on an
        engine of ``width``."""
        _, h, w = self.in_shape
        return {
            "mode": int(self.mode), "h": h, "w": w,
            "stride_h": self.stride[0], "stride_w": self.stride[1],
            "row_step": self.stride[0] * w,
            "pad_h": self.pad[0], "pad_w": self.pad[1],
            "pool_h": self.pool[0] - 1, "pool_w": self.pool[1] - 1,
            "narrow": int(not self.is_wide(width)),
            "out_h": self.out_h, "out_w": self.out_w,
            "in_base": self.in_base, "out_base": self.out_base, "param_base": self.param_base,
            "act": int(self.params.act), "slope": self.params.slope,
        }


def place_maps(program_layers, act_depth=1 << spec.ACT_ADDR_WIDTH):
    """Hardware layers of consecutive program layers, their maps placed in the activation
    memory so that each layer's output follows or precedes its input without overlap.

    Raises ValueError naming the first layer whose input and output do not fit together.
    Which layers run together, and which in row bands, is decided by
    :func:`sw.mapping.plan.segment_program`.
    """
    out, base = [], 0
    for layer in program_layers:
        in_size = int(np.prod(layer.in_shape))
        c_out, oh, ow = layer.out_shape
        out_size = c_out * oh * ow
        out_base = 0 if out_size <= base else base + in_size
        if out_base + out_size > act_depth or base + in_size > act_depth:
            raise ValueError(
                f"layer {layer.name!r}: input ({in_size} bytes) and output ({out_size} bytes) "
                f"do not fit the {act_depth}-byte activation memory together")
        out.append(HardwareLayer.from_program(layer, in_base=base, out_base=out_base))
        base = out_base
    return out
