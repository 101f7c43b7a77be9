"""Cycle models of the engine's blocks, shared by the golden model and the RTL benches."""

__all__ = ["ElasticPipeline"]


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
