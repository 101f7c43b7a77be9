"""Result files of the experiments: mean ± std tables (provenance: :mod:`sw.results`)."""

import numpy as np

__all__ = ["summarize", "markdown_table", "TABLE2_COLUMNS"]

#: Table 2's columns: (key in the per-method results, heading). The hardware-encoding
#: CR_G^Q is this project's addition.
TABLE2_COLUMNS = (
    ("mcc", "MCC"), ("srqw", "SRQW"), ("cr_g_t", "CR_G^T"), ("cr_g_q", "CR_G^Q"),
    ("ec_g_t", "EC_G^T"), ("cr_g_q_hw", "CR_G^Q (FPGA enc.)"),
)

METHOD_NAMES = {"fp": "FP", "dorefa": "DoReFa", "ttq": "TTQ", "attq": "aTTQ"}


def summarize(reps, methods):
    """``{method: {metric: {"mean", "std", "n"}}}`` over repetitions (std with ddof = 0)."""
    out = {}
    for m in methods:
        rows = [r["methods"][m] for r in reps if m in r["methods"]]
        keys = rows[0].keys() if rows else []
        out[m] = {}
        for k in keys:
            v = np.array([row[k] for row in rows], dtype=float)
            out[m][k] = dict(mean=float(v.mean()), std=float(v.std()), n=len(v))
    return out


def markdown_table(summary, methods, columns=TABLE2_COLUMNS, percent=True):
    """Markdown table, one row a method, cells ``mean ± std`` (in % by default)."""
    scale = 100.0 if percent else 1.0
    head = "| Method | " + " | ".join(h + (" (%)" if percent else "") for _, h in columns) + " |"
    lines = [head, "|" + "---|" * (len(columns) + 1)]
    for m in methods:
        cells = []
        for k, _ in columns:
            s = summary[m].get(k)
            cells.append("–" if s is None else
                         f"{s['mean'] * scale:.2f} ± {s['std'] * scale:.2f}")
        lines.append(f"| {METHOD_NAMES.get(m, m)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
