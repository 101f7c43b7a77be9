"""Energy report of ``attq-fpga infer``: estimated against measured, and against full precision.

Three figures per inference, side by side:

* **estimated**: the paper's EC_T (Eq. 3) of the compiled program
  (:func:`sw.power.estimate.program_energy`): nonzero mult-adds x 3.7 pJ plus 32-bit
  transfers x 1 nJ. It does not depend on the input.
* **full precision**: the same Eq. 3 for the program's layers with every weight nonzero and
  32 bits wide (:func:`full_precision_energy`): the dense model of the same shape, which is
  what aTTQ is measured against (EC_G^T, Eq. 4).
* **measured**: on the board, the XADC energy of each RUN above idle on the VCCINT rail
  (``driver.power()``, turned into joules by :mod:`sw.power.energy` with the board's
  calibration file; the 5 V board input is reported beside it); on the virtual board and the golden device, which
  have no power meter, the engine counters times per-event energies, labelled
  **simulated** (:func:`counter_energy`): every add (``adds_plus + adds_minus``) x 3.7 pJ,
  every on-chip memory access (``weight_words + act_reads + act_writes``) x
  :data:`J_PER_SRAM_ACCESS`.

Constants
---------
3.7 pJ per mult-add and 1 nJ per 32-bit transfer are the paper's (sw/metrics.py); both
come from M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC
2014, whose 45 nm table gives 3.7 pJ for a 32-bit float multiply. The same table gives
10 pJ for a 64-bit read of an 8 KB SRAM (20 pJ at 32 KB, 100 pJ at 1 MB): the engine's
memories are 6 KB of activations and 15 KB of weight words per lane, so 10 pJ per access is
used, an upper bound for accesses 8 to 40 bits wide. Neither number is a measurement of
this FPGA; that is why the counter figure is labelled simulated.
"""

import io
import math

from .. import metrics

__all__ = ["J_PER_ADD", "J_PER_SRAM_ACCESS", "CONSTANT_SOURCES", "counter_energy",
           "full_precision_energy", "power_energy", "energy_report", "energy_png"]

#: Energy of one add/mult-add of the engine (the paper's per mult-add figure).
J_PER_ADD = metrics.PJ_PER_MULT_ADD
#: Energy of one on-chip memory access (Horowitz, ISSCC 2014: 64-bit read, 8 KB SRAM).
J_PER_SRAM_ACCESS = 10e-12

CONSTANT_SOURCES = {
    "j_per_mult_add": "the paper's Eq. 3 constant (Horowitz, ISSCC 2014, 45 nm: 32-bit "
                      "float multiply 3.7 pJ)",
    "j_per_transfer": "the paper's Eq. 3 constant (1 nJ per 32-bit memory transfer)",
    "j_per_sram_access": "Horowitz, 'Computing's energy problem (and what we can do about "
                         "it)', ISSCC 2014, 45 nm: 64-bit read of an 8 KB SRAM, 10 pJ",
}


def counter_energy(counters, *, j_per_add=J_PER_ADD, j_per_access=J_PER_SRAM_ACCESS):
    """Simulated energy of one inference from the engine counters.

    Returns
    -------
    dict
        ``adds``, ``memory_accesses``, ``compute_j``, ``memory_j``, ``total_j``.
    """
    adds = int(counters["adds_plus"]) + int(counters["adds_minus"])
    accesses = (int(counters["weight_words"]) + int(counters["act_reads"])
                + int(counters["act_writes"]))
    compute, memory = adds * j_per_add, accesses * j_per_access
    return {"adds": adds, "memory_accesses": accesses, "compute_j": compute,
            "memory_j": memory, "total_j": compute + memory}


def full_precision_energy(program):
    """Eq. 3 for the program's layers with every weight and bias nonzero, 32 bits wide.

    Per engine layer: weights ``C_out * C_in * k_h * k_w``, biases ``C_out``; mult-adds
    ``(weights + biases) * positions``; transfers ``weights + biases`` (one 32-bit word
    each, no scale factors).
    """
    layers = []
    for layer in program.engine_layers:
        weights = layer.out_channels * layer.in_shape[0] * layer.kernel[0] * layer.kernel[1]
        biases = layer.out_channels
        mult_adds = (weights + biases) * layer.positions
        transfers = weights + biases
        layers.append({"name": layer.name, "weights": int(weights),
                       "mult_adds": int(mult_adds), "transfers": int(transfers),
                       "ec_t_j": mult_adds * metrics.PJ_PER_MULT_ADD
                       + transfers * metrics.J_PER_TRANSFER})
    mult_adds = sum(d["mult_adds"] for d in layers)
    transfers = sum(d["transfers"] for d in layers)
    return {"mult_adds": mult_adds, "transfers": transfers,
            "ec_t_j": mult_adds * metrics.PJ_PER_MULT_ADD
            + transfers * metrics.J_PER_TRANSFER, "layers": layers}


def power_energy(power, clk_hz, calibration=None):
    """Joules of the last RUN above idle from a POWER dict (:mod:`sw.power.energy`).

    Parameters
    ----------
    power : dict
        The POWER fields (:data:`sw.spec.POWER_FIELDS`).
    clk_hz : int
    calibration : sw.power.xadc_scale.Calibration, optional
        Default: the board's calibration file (:func:`sw.power.xadc_scale.load_calibration`).

    Returns
    -------
    dict
        ``vccint_j`` (the FPGA core rail, what the engine's logic draws), ``board_j`` (the
        board's 5 V input, regulators included), ``rails`` (joules per rail); or ``error``
        saying why there is no figure (no :mod:`sw.power`, an uncalibrated factor, a
        payload that makes no sense).
    """
    from ..errors import InputError
    try:
        from ..power.energy import power_report
        from ..power.xadc_scale import load_calibration
    except ImportError as exc:
        return {"error": f"sw.power is not installed ({exc})"}
    try:
        cal = calibration if calibration is not None else load_calibration()
        report = power_report(power, int(clk_hz), cal)
    except InputError as exc:
        return {"error": str(exc)}
    rails = {name: float(r.energy_j) for name, r in report.rails.items()}
    return {"vccint_j": rails.get("vccint"), "board_j": rails.get("board_5v0"),
            "rails": rails, "t_run_s": report.t_run_s}


def _mean(values):
    return sum(values) / len(values) if values else math.nan


def energy_report(program, inferences, hello, *, fp_model_energy_j=None, calibration=None):
    """The energy report as a JSON-able dict.

    Parameters
    ----------
    program : sw.program.Program
    inferences : list of sw.infer.classify.Inference
    hello : dict
        The device's HELLO (``caps``, ``clk_hz``, ``board``).
    fp_model_energy_j : float, optional
        EC_T of the full-precision PyTorch model (:func:`sw.metrics.energy`), when known.
    calibration : sw.power.xadc_scale.Calibration, optional
        Board factors for POWER payloads (default: the calibration file).

    With a power meter, "measured" is the VCCINT rail's energy above idle (the FPGA core,
    where the engine's logic draws); the board's 5 V input is reported beside it. When no
    POWER payload gives a figure (e.g. an uncalibrated factor), the report says why under
    ``measured.unavailable`` and "measured" falls back to the simulated figure.
    """
    from ..power.estimate import program_energy
    from .device import POWER_MEASURED, POWER_MODELLED

    est = program_energy(program)
    fp = full_precision_energy(program)
    caps = int(hello.get("caps", 0))
    clk_hz = int(hello.get("clk_hz", 0)) or None
    rows, simulated, metered, metered_board, meter_errors = [], [], [], [], []
    meter_kind = ("xadc" if caps & POWER_MEASURED else
                  "xadc_model" if caps & POWER_MODELLED else None)
    for i, inf in enumerate(inferences):
        row = {"index": i, "estimated_j": est["ec_t_j"], "full_precision_j": fp["ec_t_j"],
               "simulated_j": None, "metered_j": None, "error": inf.error}
        if not inf.error and inf.counters is not None:
            sim = counter_energy(inf.counters)
            row.update(simulated_j=sim["total_j"], simulated_compute_j=sim["compute_j"],
                       simulated_memory_j=sim["memory_j"])
            simulated.append(sim["total_j"])
        if not inf.error and meter_kind and inf.power is not None and clk_hz:
            got = power_energy(inf.power, clk_hz, calibration)
            if "error" in got:
                row["metered_error"] = got["error"]
                meter_errors.append(got["error"])
            else:
                row.update(metered_j=got["vccint_j"], metered_board_j=got["board_j"],
                           metered_rails_j=got["rails"])
                metered.append(got["vccint_j"])
                metered_board.append(got["board_j"])
        rows.append(row)
    ok = sum(1 for inf in inferences if not inf.error)
    if meter_kind == "xadc" and metered:
        measured = {"kind": "measured", "label": "measured (board XADC: VCCINT energy of "
                    "each RUN above idle)", "values": metered}
    else:
        measured = {"kind": "simulated", "label": "simulated (engine counters x per-event "
                    "energies; no power meter)", "values": simulated}
    mean_measured = _mean(measured["values"])
    report = {
        "inferences": len(inferences), "succeeded": ok,
        "constants": {"j_per_mult_add": metrics.PJ_PER_MULT_ADD,
                      "j_per_transfer": metrics.J_PER_TRANSFER,
                      "j_per_add_simulated": J_PER_ADD,
                      "j_per_sram_access": J_PER_SRAM_ACCESS,
                      "sources": CONSTANT_SOURCES},
        "estimated": {"label": "estimated (paper Eq. 3, EC_T of the compiled program)",
                      "per_inference_j": est["ec_t_j"], "mult_adds": est["mult_adds"],
                      "transfers": est["transfers"], "total_j": est["ec_t_j"] * ok,
                      "layers": est["layers"]},
        "full_precision": {"label": "full precision (Eq. 3, every weight nonzero, 32-bit)",
                           "per_inference_j": fp["ec_t_j"], "mult_adds": fp["mult_adds"],
                           "transfers": fp["transfers"], "total_j": fp["ec_t_j"] * ok,
                           "ec_g_t": abs(fp["ec_t_j"] - est["ec_t_j"]) / fp["ec_t_j"],
                           "layers": fp["layers"]},
        "measured": {"kind": measured["kind"], "label": measured["label"],
                     "per_inference_mean_j": mean_measured,
                     "total_j": sum(measured["values"]),
                     "ratio_to_estimated": mean_measured / est["ec_t_j"]},
        "per_inference": rows,
    }
    if meter_kind == "xadc" and metered_board:
        report["measured"]["board_5v0_per_inference_mean_j"] = _mean(metered_board)
        report["measured"]["board_5v0_total_j"] = sum(metered_board)
    if meter_kind and meter_errors:
        why = (f"{len(meter_errors)} of {ok} POWER readings gave no energy; first: "
               f"{meter_errors[0]}")
        if meter_kind == "xadc":
            report["measured"]["unavailable"] = why
        else:
            report["xadc_model"] = {
                "label": "simulated XADC model of the virtual board (not a measurement)",
                "unavailable": why}
    if simulated:
        report["simulated"] = {
            "label": "simulated (engine counters x per-event energies)",
            "per_inference_mean_j": _mean(simulated), "total_j": sum(simulated),
            "ratio_to_estimated": _mean(simulated) / est["ec_t_j"]}
    if meter_kind == "xadc_model" and metered:
        report["xadc_model"] = {
            "label": "simulated XADC model of the virtual board (not a measurement): "
                     "VCCINT energy above idle",
            "per_inference_mean_j": _mean(metered), "total_j": sum(metered),
            "board_5v0_per_inference_mean_j": _mean(metered_board)}
    if fp_model_energy_j is not None:
        report["full_precision"]["pytorch_model_j"] = float(fp_model_energy_j)
    return report


def energy_png(report, title="Energy per inference"):
    """Bar chart of the report (PNG bytes): estimated, full precision, measured/simulated."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from .. import plots

    # A linear axis: the bars are compared by their ratio, which a log axis hides.
    bars = [("aTTQ program\nestimated (Eq. 3)", report["estimated"]["per_inference_j"],
             "tab:blue"),
            ("full precision\nestimated (Eq. 3)", report["full_precision"]["per_inference_j"],
             "tab:gray")]
    m = report["measured"]
    if not math.isnan(m["per_inference_mean_j"]):
        bars.append((f"{m['kind']}\n(mean)", m["per_inference_mean_j"],
                     "tab:orange" if m["kind"] == "simulated" else "tab:green"))
    if "per_inference_mean_j" in report.get("xadc_model", {}):
        bars.append(("XADC model\n(simulated)", report["xadc_model"]["per_inference_mean_j"],
                     "tab:olive"))
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    labels = [b[0] for b in bars]
    values = [b[1] * 1e6 for b in bars]
    ax.bar(labels, values, color=[b[2] for b in bars])
    for k, v in enumerate(values):
        ax.annotate(f"{v:.3g} µJ", (k, v), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("energy per inference (µJ)")
    plots.set_title(ax, f"{title} ({report['succeeded']} inferences)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
