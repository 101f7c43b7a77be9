"""Estimated energy of one inference from a compiled program: EC_T (Eq. 3) and EC_G^T (Eq. 4).

Eq. 3 of the paper, applied to what the program actually stores and computes, with the
constants of :mod:`sw.metrics` (3.7 pJ per mult-add, 1 nJ per 32-bit transfer):

* mult-adds ``N_MA`` = sum over engine layers of ``nnz * positions`` (one add per nonzero
  ternary weight, one mult-add per nonzero int8 weight, per output position, as the engine
  counts them) plus ``nonzero biases * positions`` (the paper counts a bias as a mult-add
  per output value, :func:`sw.metrics.count_mult_adds`);
* transfers of layer i = ``ceil(nnz_i * B_i / 32) + N_SF_i + nonzero biases_i``: ``B_i`` = 2
  bits and ``N_SF_i`` = 2 (W_r, W_l) for a ternary layer, as in the paper; ``B_i`` = 8 and
  ``N_SF_i`` = C_out (one scale per channel) for an int8 layer; each nonzero bias one
  transfer (the authors' count for full-precision tensors). ``rounding="floor"`` gives the
  authors' code variant of the ceiling (see :func:`sw.metrics.memory_transfers`).

EC_G^T compares with the full-precision PyTorch model's EC_T from
:func:`sw.metrics.energy`, computed with the same rounding.
"""

import numpy as np

from .. import metrics

__all__ = ["layer_energy", "program_energy", "energy_gain"]


def layer_energy(layer, *, rounding="ceil"):
    """Mult-adds, transfers and EC_T (J) of one engine layer for one inference."""
    if rounding not in ("floor", "ceil"):
        raise ValueError(f"rounding must be 'floor' or 'ceil', not {rounding!r}")
    bits, n_sf = (2, 2) if layer.mode == "ternary" else (8, layer.out_channels)
    nz_bias = int(np.count_nonzero(layer.epilogue.bias))
    num = layer.nnz * bits
    words = -(-num // 32) if rounding == "ceil" else num // 32
    mult_adds = (layer.nnz + nz_bias) * layer.positions
    transfers = words + n_sf + nz_bias
    return {"name": layer.name, "mode": layer.mode, "mult_adds": int(mult_adds),
            "transfers": int(transfers),
            "ec_t_j": mult_adds * metrics.PJ_PER_MULT_ADD + transfers * metrics.J_PER_TRANSFER}


def program_energy(program, *, rounding="ceil"):
    """EC_T of the program (Eq. 3) with its per-layer terms.

    Returns
    -------
    dict
        ``mult_adds``, ``transfers``, ``ec_t_j`` and ``layers`` (one dict per engine layer).
    """
    layers = [layer_energy(layer, rounding=rounding) for layer in program.engine_layers]
    mult_adds = sum(d["mult_adds"] for d in layers)
    transfers = sum(d["transfers"] for d in layers)
    return {"mult_adds": mult_adds, "transfers": transfers,
            "ec_t_j": mult_adds * metrics.PJ_PER_MULT_ADD + transfers * metrics.J_PER_TRANSFER,
            "rounding": rounding, "layers": layers}


def energy_gain(program, model_fp, example, *, rounding="ceil"):
    """EC_G^T (Eq. 4) of the program against the full-precision model.

    Parameters
    ----------
    program : sw.program.Program
    model_fp : torch.nn.Module
        The full-precision model the quantized one was trained from.
    example : torch.Tensor
        One input (batch of 1) for :func:`sw.metrics.energy`.

    Returns
    -------
    dict
        ``ec_t_fp_j``, ``ec_t_program_j`` and ``ec_g_t``.
    """
    e_fp = metrics.energy(model_fp, example, rounding=rounding)
    e_prog = program_energy(program, rounding=rounding)["ec_t_j"]
    return {"ec_t_fp_j": e_fp, "ec_t_program_j": e_prog,
            "ec_g_t": abs(e_fp - e_prog) / e_fp}
