"""Cycle models of the engine's blocks, shared by the golden model and the RTL benches."""

__all__ = ["ElasticPipeline", "layer_cycles", "lane_words_and_steps", "layer_bound",
           "program_cycles"]


class ElasticPipeline:
    """Cycle model of a valid/ready pipeline of ``depth`` registers.

    Each register takes a new item (or a bubble) whenever it is empty or the register
    after it moves on, so bubbles never block: ``in_ready`` is low only when every
    register is full and the output is stalled. Items leave in order, ``depth`` cycles
    after they enter when the output is always ready.

    Call :meth:`outputs` to read what the hardware shows during a cycle, then
    :meth:`step` with what happened at the clock edge that ends it.
    """

    def __init__(self, depth):
        if depth < 1:
            raise ValueError(f"depth = {depth} is out of range: allowed [1, ...)")
        self.stages = [None] * depth

    def outputs(self, out_ready):
        """Return ``(in_ready, out_valid, out_item)`` for this cycle."""
        ready = out_ready
        for item in reversed(self.stages):
            ready = item is None or ready
        last = self.stages[-1]
        return ready, last is not None, last

    def step(self, in_valid, in_item, out_ready):
        """Advance one clock edge; return the item that left, or None."""
        in_ready, out_valid, out_item = self.outputs(out_ready)
        left = out_item if out_valid and out_ready else None
        # Walk from the output back, moving each item on where the next stage frees up.
        ready = out_ready
        moves = []
        for k in reversed(range(len(self.stages))):
            ready = self.stages[k] is None or ready
            moves.append((k, ready))
        for k, stage_ready in moves:  # k descending: later stages first
            if stage_ready:
                self.stages[k] = self.stages[k - 1] if k > 0 else (
                    in_item if in_valid else None)
        return left


def layer_cycles(lane_words, steps, *, fifo_depth=None, latency=None, stall=None):
    """Exact cycle count of one layer on the engine (``hw.engine.LayerEngine``).

    Parameters
    ----------
    lane_words : list of list of bool
        For each lane, its weight words for one step, as ``last`` flags (True ends a
        channel's words). An empty list is an idle lane.
    steps : int or list of int
        Steps each lane takes (passes over its words, each for up to V positions), one
        for all lanes or one a lane.
    stall : sequence of bool, optional
        The engine's ``stall`` input in each busy cycle (cycle 0 is the first after
        ``start``); cycles past its end are not stalled.

    Returns
    -------
    dict
        ``busy_cycles`` (cycles the engine is busy, from the cycle after ``start`` to the
        one in which it sees itself drained), ``weight_words``, ``lane_stall_cycles``,
        and ``results`` (lane results through the epilogue).

    The model steps the engine's control cycle by cycle: each lane issues a word when
    active and its queue plus its :data:`~sw.spec.LANE_STAGES` pipeline stages leave room
    for a result; the last word of a channel pushes a result ``LANE_STAGES`` cycles after
    its issue; a round-robin arbiter pops one result a cycle (the first non-empty queue
    after the last granted lane); the epilogue takes
    :data:`~sw.spec.ENGINE_EPILOGUE_STAGES` + ``latency`` cycles; the engine drops
    ``busy`` in the first cycle in which every lane, queue and epilogue stage is empty.
    """
    from .. import spec
    depth = spec.LANE_FIFO_DEPTH if fifo_depth is None else fifo_depth
    latency = spec.EPILOGUE_LATENCY if latency is None else latency
    n = len(lane_words)
    per_lane = list(steps) if hasattr(steps, "__len__") else [steps] * n
    ptr = [0] * n
    done = [0] * n
    active = [bool(w) and p > 0 for w, p in zip(lane_words, per_lane)]
    pipe = [[None] * spec.LANE_STAGES for _ in range(n)]   # per stage: None or last flag
    level = [0] * n
    last_grant = n - 1
    epi = [False] * (spec.ENGINE_EPILOGUE_STAGES + latency)
    words = stalls = results = 0
    cycle = 0
    while True:
        # What the hardware shows during this cycle.
        grant = None
        stalled = stall is not None and cycle < len(stall) and stall[cycle]
        for d in range(n if not stalled else 0):
            k = (last_grant + 1 + d) % n
            if level[k]:
                grant = k
                break
        drained = (not any(active) and not any(any(v is not None for v in p) for p in pipe)
                   and not any(level) and not any(epi))
        if drained:
            break
        issued = [None] * n
        for k in range(n):
            if active[k]:
                in_flight = sum(v is not None for v in pipe[k])
                if level[k] + in_flight < depth:
                    issued[k] = ptr[k]
                    words += 1
                else:
                    stalls += 1
        # The clock edge.
        for k in range(n):
            push = bool(pipe[k][-1])
            pop = grant == k
            level[k] += int(push) - int(pop)
            new = None
            if issued[k] is not None:
                seq = lane_words[k]
                new = seq[ptr[k]]
                if ptr[k] == len(seq) - 1:
                    ptr[k] = 0
                    done[k] += 1
                    if done[k] == per_lane[k]:
                        active[k] = False
                else:
                    ptr[k] += 1
            pipe[k] = [new] + pipe[k][:-1]
        if grant is not None:
            last_grant = grant
            results += 1
        epi = [grant is not None] + epi[:-1]
        cycle += 1
    return {"busy_cycles": cycle + 1, "weight_words": words, "lane_stall_cycles": stalls,
            "results": results}


def lane_words_and_steps(lane_program):
    """``layer_cycles``'s inputs from ``HardwareLayer.lane_program``'s output."""
    return ([[bool(w["last"]) for w in lane["words"]] for lane in lane_program],
            [lane["steps"] for lane in lane_program])


def layer_bound(hw, lanes, width):
    """The engine's bound for a layer: ``steps x ceil(nonzero words / P)``."""
    return hw.steps(width) * -(-sum(hw.words_per_channel()) // lanes)


def program_cycles(program, lanes, width):
    """:func:`layer_cycles` of each engine layer of a program (``sw.program.ir.Program``)
    on ``lanes`` lanes of ``width``.

    Returns one dict a layer, with its ``name`` and ``bound`` (:func:`layer_bound`) added,
    in program order.
    """
    from .hardware_layer import HardwareLayer
    rows = []
    for layer in program.engine_layers:
        hw = HardwareLayer.from_program(layer, for_counts=True)
        words, steps = lane_words_and_steps(hw.lane_program(lanes, width=width))
        rows.append({"name": layer.name, "bound": layer_bound(hw, lanes, width),
                     **layer_cycles(words, steps)})
    return rows
