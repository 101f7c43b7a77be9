"""The Noam learning-rate schedule (Vaswani et al. 2017) with warm-up."""

from torch.optim.lr_scheduler import LambdaLR

__all__ = ["noam_factor", "noam_scheduler"]


def noam_factor(step, d_model, warmup):
    """``d^-0.5 · min(step^-0.5, step · warmup^-1.5)`` with steps counted from 1."""
    step = max(step, 1)
    return d_model ** -0.5 * min(step ** -0.5, step * warmup ** -1.5)


def noam_scheduler(optimizer, d_model, warmup):
    """LambdaLR multiplying each group's base lr (Table 1's factor) by :func:`noam_factor`.

    Call ``step()`` after every optimizer step.
    """
    return LambdaLR(optimizer, lambda i: noam_factor(i + 1, d_model, warmup))
