"""What a device runs for a program: the engine image it is loaded with, and the steps of
one inference.

:meth:`DevicePlan.build` takes an integer program (:class:`sw.program.ir.Program`) and a
device's HELLO (:data:`sw.spec.HELLO_FIELDS`) and lays the program out for that device:

* every engine layer in one :class:`~sw.mapping.engine_image.EngineImage` for the device's
  lane count (weight words and channel tables per lane, parameters, and each layer's
  register image, :func:`sw.spec.pack_layer_config`, at ``i * config_words`` in the
  configuration memory), checked against every memory the HELLO announces;
* the steps of one inference, in program order: host operations (run on the host with the
  golden :func:`~sw.golden.executor.run_host_op`) and *engine runs*: consecutive engine
  layers whose maps fit the activation memory together (:func:`~sw.mapping.hardware_layer.
  place_maps`) run with one ``RUN``; the host writes the run's input map, unpadded, at its
  base, and reads the last layer's output map back.

Padding. A program's maps are zero-padded (``pad`` of a layer, ``out_pad`` of the one
before it, ``pad`` of the quantize op); the engine keeps maps unpadded and skips the reads
that fall in the padding (docs/engine.md). So the host strips the padding from the map it
writes (the quantize op's output, or a host op's) and pads the map it reads by the last
layer's ``out_pad`` before handing it on, exactly as the golden executor's values are.

Layers whose input and output maps do not fit the activation memory together are split
into row bands (:mod:`sw.mapping.tiling`): each band is its own image entry and its own
``RUN``; the host writes the band's input rows, runs it and reads the band's output rows.
:func:`segment_program` is that placement policy, the only one: the driver runs it and
the tiling benchmark measures it.
"""

import dataclasses

import numpy as np

from .. import spec
from ..errors import InputError
from ..program.ir import EngineLayer
from .cycle_model import lane_words_and_steps, layer_cycles
from .engine_image import EngineImage
from .hardware_layer import check_registers, place_maps
from .tiling import plan_bands

__all__ = ["DevicePlan", "ProgramDoesNotFit", "HostStep", "RunStep", "BandStep", "Segment",
           "segment_program", "fit_problems"]


@dataclasses.dataclass
class HostStep:
    """A host operation, run on the host on the value the step before left."""
    op: object

    @property
    def name(self):
        return self.op.name


@dataclasses.dataclass
class RunStep:
    """Image layers ``first .. first+count-1``, run on the device by one ``RUN``.

    The host writes the input map (unpadded ``in_shape``) at ``in_base``; the value before
    the step carries ``in_pad`` zeros around it. The output map (unpadded ``out_shape``) is
    read from ``out_base`` and handed on padded by ``out_pad``.
    """
    first: int
    count: int
    names: list
    in_base: int
    in_shape: tuple
    in_pad: tuple
    out_base: int
    out_shape: tuple
    out_pad: tuple

    @property
    def name(self):
        return "+".join(self.names)

    @property
    def entries(self):
        return list(range(self.first, self.first + self.count))


@dataclasses.dataclass
class BandStep:
    """One engine layer run as row bands: ``entries[k]`` is band ``k``'s image entry."""
    tiled: object
    entries: list
    in_pad: tuple
    out_pad: tuple

    @property
    def name(self):
        return f"{self.tiled.name} ({len(self.entries)} bands)"


@dataclasses.dataclass
class Segment:
    """A piece of a program as a device runs it.

    ``kind`` is ``"host"`` (``op``, a host operation), ``"run"`` (``layers``, consecutive
    engine layers whose maps fit the activation memory together, placed as ``hw``) or
    ``"band"`` (``layers``, one engine layer, run in the row bands of ``tiled``).
    """
    kind: str
    op: object = None
    layers: list = dataclasses.field(default_factory=list)
    hw: list = dataclasses.field(default_factory=list)
    tiled: object = None


def segment_program(ops, act_depth, first_index=0, band_columns=None):
    """Group a program's ops into :class:`Segment` objects: the placement policy.

    Consecutive engine layers join one run while their maps fit the activation memory
    together (:func:`~sw.mapping.hardware_layer.place_maps`); a layer that does not fit
    with the run before it starts a new run; a layer whose own input and output do not fit
    together runs in bands (:func:`~sw.mapping.tiling.plan_bands`; ``band_columns``, ``{op
    index: columns}``, sets the width of chosen column bands, :func:`_shared_band_columns`).
    Host operations close the run before them.

    Raises
    ------
    sw.errors.InputError
        For a layer whose fields do not fit the layer registers, or that cannot run even in
        bands, naming it, its op index (counted from ``first_index``) and the amounts.
    """
    segments, run = [], []

    def close_run():
        if run:
            segments.append(Segment("run", layers=list(run), hw=place_maps(run, act_depth)))
            run.clear()

    for index, op in enumerate(ops):
        if not isinstance(op, EngineLayer):
            close_run()
            segments.append(Segment("host", op=op))
            continue
        try:
            check_registers((op.out_channels, op.in_shape[0], *op.kernel), op.stride,
                            op.pad, op.pool)
        except ValueError as exc:
            raise InputError(f"layer {op.name!r} (op {first_index + index}): layer "
                             f"registers: {exc}") from None
        if _fits(run + [op], act_depth):
            run.append(op)
            continue
        close_run()
        if _fits([op], act_depth):
            run.append(op)
            continue
        try:
            tiled = plan_bands(op, act_depth, name=op.name,
                               cols=(band_columns or {}).get(index))
        except ValueError as exc:
            raise InputError(f"layer {op.name!r} (op {first_index + index}): activation "
                             f"memory: {exc}") from None
        segments.append(Segment("band", layers=[op], tiled=tiled))
    close_run()
    return segments


def _shared_band_columns(ops, act_depth):
    """``{op index: columns}`` for the conv1d layers that apply one set of weights more
    than once (the CNN-transformer's conv3), each application too big for the memory: one
    band width for all of them, the narrowest of their own, so that their bands walk the
    same weight words and the engine image holds those once."""
    groups = {}
    for index, op in enumerate(ops):
        if isinstance(op, EngineLayer) and op.in_shape[1] == 1:
            weights = op.weights()
            key = (op.mode, weights.tobytes(), weights.shape, op.stride, op.pad, op.pool)
            groups.setdefault(key, []).append(index)
    out = {}
    for members in groups.values():
        if len(members) < 2 or any(_fits([ops[i]], act_depth) for i in members):
            continue
        try:
            cols = min(plan_bands(ops[i], act_depth).band_out_shape[2] for i in members)
        except ValueError:
            continue
        out.update(dict.fromkeys(members, cols))
    return out


def _fits(layers, act_depth):
    try:
        place_maps(layers, act_depth)
    except ValueError:
        return False
    return True


def _padded(shape, pad):
    c, h, w = shape
    return c, h + 2 * pad[0], w + 2 * pad[1]


def _band_choices(ops, act_depth):
    """Band widths to lay ``ops`` out with, in turn: each layer's own; then, where a conv1d
    is applied more than once, one width for its applications. The narrower bands cost
    cycles and link bytes, so they are taken only where the memories need them."""
    yield None
    shared = _shared_band_columns(ops, act_depth)
    if shared:
        yield shared


def _lay_out(ops, hello, first_index=0):
    """Segments and engine image of ``ops`` for the device of ``hello``, and every way they
    do not fit it: ``(segments, image, problems)``, each problem a sentence naming the
    memory or register and both amounts (image None when it cannot be laid out)."""
    lanes = int(hello["lanes"])
    width = int(hello["width"])
    lane_words = int(hello["lane_words"])
    act_depth = int(hello["act_depth"])
    word_addr_width = (lane_words - 1).bit_length()
    config_words = spec.config_words_per_layer(lanes, word_addr_width)
    if int(hello.get("config_words", config_words)) != config_words:
        raise InputError(f"device HELLO: config_words = {hello['config_words']}, but "
                         f"{lanes} lanes of {lane_words} words take {config_words} "
                         f"configuration words a layer (sw.spec.config_words_per_layer)")
    for band_columns in _band_choices(ops, act_depth):
        try:
            segments = segment_program(ops, act_depth, first_index, band_columns)
        except InputError as exc:
            return None, None, [str(exc)]
        items = [item for seg in segments if seg.kind != "host"
                 for item in (seg.hw if seg.kind == "run" else [seg.tiled])]
        try:
            image, error = EngineImage.build(items, lanes, width=width, lane_words=lane_words,
                                             act_depth=act_depth), None
            break
        except ValueError as exc:
            error = exc
    problems = []
    if error is not None:
        # Lay it out with the fewest copied words to say by how much it overflows.
        try:
            image = EngineImage._build(items, lanes, width, True, float("inf"), act_depth)
        except ValueError:
            return segments, None, [str(error)]
        most = max(image.lane_words_used())
        if most > lane_words:
            problems.append(f"weight memory: a lane needs at least {most} words (no "
                            f"word copied to a second lane), the device has {lane_words} "
                            f"a lane ({most - lane_words} too many)")
        if not problems and max(len(c) for c in image.channels) <= spec.MAX_CHANNELS \
                and len(image.params) <= 1 << spec.PARAM_ADDR_WIDTH:
            problems.append(str(error))
    most = max(len(c) for c in image.channels)
    if most > int(hello["chan_depth"]):
        problems.append(f"channel table: a lane needs {most} entries, the device has "
                        f"{hello['chan_depth']} ({most - int(hello['chan_depth'])} too "
                        f"many)")
    if len(image.params) > int(hello["param_depth"]):
        problems.append(f"parameter memory: the program has {len(image.params)} output "
                        f"channels, the device holds {hello['param_depth']} "
                        f"({len(image.params) - int(hello['param_depth'])} too many)")
    need = len(image.layers) * config_words
    if need > int(hello["config_depth"]):
        problems.append(f"configuration memory: {len(image.layers)} layers of "
                        f"{config_words} words need {need} words, the device has "
                        f"{hello['config_depth']} ({need - int(hello['config_depth'])} "
                        f"too many)")
    if len(image.layers) > 255:
        problems.append(f"the program has {len(image.layers)} engine layers; a RUN "
                        f"addresses at most 255")
    return segments, image, problems


def fit_problems(program, hello):
    """Every way ``program`` does not fit the device whose HELLO is ``hello``, layer by layer.

    Each engine layer is checked alone first (its fields against the layer registers' widths,
    then its maps in the activation memory or in bands, its weight words, channel
    tables, parameters and register entries); when every layer fits alone, the whole
    program is laid out (the memories its layers fill together).

    Returns
    -------
    list of (str or None, str)
        ``(layer name, problem)``, the name None for the whole program; empty when it fits.
    """
    out, alone = [], []
    for index, op in enumerate(program.ops):
        if isinstance(op, EngineLayer):
            prefix = f"layer {op.name!r} (op {index}): "
            _, image, problems = _lay_out([op], hello, index)
            alone.append((op.name, image))
            out += [(op.name, p.removeprefix(prefix)) for p in problems]
    if not out:
        problems = _lay_out(program.ops, hello)[2]
        if problems:
            need = [(name, max(image.lane_words_used())) for name, image in alone]
            problems = [p + (" (words a lane, layer by layer: " + ", ".join(
                f"{name} {words}" for name, words in need) + ")"
                if p.startswith("weight memory") else "") for p in problems]
        out += [(None, p) for p in problems]
    return out


class ProgramDoesNotFit(InputError):
    """The program does not fit a memory of the device; ``problems`` lists each way.

    The driver's handshake (:meth:`sw.device.Driver.check_compatible`) adds ``problems``
    to its own list, so that its message says "does not fit" once.
    """

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("the program does not fit the device: " + "; ".join(self.problems))


@dataclasses.dataclass
class DevicePlan:
    """A program laid out for one device (see the module docstring).

    Attributes
    ----------
    program : sw.program.ir.Program
    hello : dict
        The device's HELLO fields.
    image : EngineImage
        Every engine layer (and band) of the program, for ``hello["lanes"]`` lanes.
    config : list of int
        The configuration memory's words: entry ``i``'s register image at
        ``i * hello["config_words"]``.
    steps : list of HostStep, RunStep or BandStep
        One inference, in order.
    """
    program: object
    hello: dict
    image: EngineImage
    config: list
    steps: list

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def build(cls, program, hello):
        """Lay ``program`` out for the device whose HELLO is ``hello``.

        Raises
        ------
        ProgramDoesNotFit
            When the program does not fit a memory of the device, naming the memory, the
            layer where it matters and by how much.
        """
        segments, image, problems = _lay_out(program.ops, hello)
        if problems:
            raise ProgramDoesNotFit(problems)
        word_addr_width = (int(hello["lane_words"]) - 1).bit_length()
        config = []
        for entry in image.layers:
            config += spec.pack_layer_config(entry["cfg"], entry["lane_cfg"],
                                             word_addr_width)
        groups = image.groups
        steps, g = [], 0
        for seg in segments:
            if seg.kind == "host":
                steps.append(HostStep(seg.op))
            elif seg.kind == "run":
                layers, hw = seg.layers, seg.hw
                first = groups[g][0]
                g += len(hw)
                steps.append(RunStep(first, len(hw), [layer.name for layer in layers],
                                     hw[0].in_base, tuple(layers[0].in_shape), layers[0].pad,
                                     hw[-1].out_base, tuple(layers[-1].out_shape),
                                     layers[-1].out_pad))
            else:
                layer = seg.layers[0]
                steps.append(BandStep(seg.tiled, list(groups[g]), layer.pad, layer.out_pad))
                g += 1
        return cls(program, dict(hello), image, config, steps)

    # -- what it sends ----------------------------------------------------------------------
    @property
    def config_words(self):
        return spec.config_words_per_layer(int(self.hello["lanes"]), self.word_addr_width)

    @property
    def word_addr_width(self):
        return (int(self.hello["lane_words"]) - 1).bit_length()

    def load_writes(self):
        """``(mem, lane, addr, words)`` writes that load the image: ``words`` as ints (the
        packed :data:`~sw.spec.WEIGHT_WORD_FIELDS`, channel numbers,
        :data:`~sw.spec.PARAM_WORD_FIELDS`, configuration words)."""
        out = []
        for k in range(self.image.lanes):
            if self.image.words[k]:
                out.append((spec.Mem.WEIGHT, k, 0, [spec.pack_fields(spec.WEIGHT_WORD_FIELDS, w)
                                                    for w in self.image.words[k]]))
            if self.image.channels[k]:
                out.append((spec.Mem.CHAN, k, 0, [int(c) for c in self.image.channels[k]]))
        out.append((spec.Mem.PARAM, 0, 0, [spec.pack_fields(spec.PARAM_WORD_FIELDS, p)
                                           for p in self.image.params]))
        out.append((spec.Mem.CONFIG, 0, 0, list(self.config)))
        return out

    def load_bytes(self):
        """Payload bytes of the image (what :meth:`load_writes` sends, without framing)."""
        return sum(len(words) * spec.MEM_WORD_BYTES[mem]
                   for mem, _, _, words in self.load_writes())

    def entry_cycles(self, index):
        """Cycles image entry ``index`` takes in a RUN: the cycle model's busy cycles plus
        the sequencer's configuration load, start and end (``config_words +
        sw.spec.SEQUENCER_LAYER_OVERHEAD``)."""
        cache = self.__dict__.setdefault("_cycles", {})
        if index not in cache:
            model = layer_cycles(*lane_words_and_steps(self.image.layers[index]["lanes"]))
            cache[index] = (model["busy_cycles"] + self.config_words
                            + spec.SEQUENCER_LAYER_OVERHEAD)
        return cache[index]

    def expected_cycles(self, entries):
        """Cycles a RUN of ``entries`` (image entry indices) should report."""
        return sum(self.entry_cycles(i) for i in entries)

    def link_bytes(self):
        """Payload bytes one inference moves: ``{"written": ..., "read": ...}`` (maps only)."""
        written = read = 0
        for step in self.steps:
            if isinstance(step, RunStep):
                written += int(np.prod(step.in_shape))
                read += int(np.prod(step.out_shape))
            elif isinstance(step, BandStep):
                moved = step.tiled.link_bytes()
                written += moved["written"]
                read += moved["read"]
        return {"written": written, "read": read}

    def summary(self):
        """One line per step."""
        lines = []
        for step in self.steps:
            if isinstance(step, HostStep):
                lines.append(f"host  {step.op.kind:26s} {step.op.name}")
            elif isinstance(step, RunStep):
                lines.append(f"RUN   layers {step.first}..{step.first + step.count - 1} "
                             f"({step.name}): write {int(np.prod(step.in_shape))} bytes at "
                             f"{step.in_base}, read {int(np.prod(step.out_shape))} at "
                             f"{step.out_base}")
            else:
                lines.append(f"bands {step.name}: entries {step.entries}")
        return "\n".join(lines)

    def padded_in_shape(self, step):
        return _padded(step.in_shape, step.in_pad)
