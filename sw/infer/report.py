"""The results of ``attq-fpga infer``: rows, CSV and JSON text, the printed table, the summary.

One row per item (detected event or ESR row), whether its inference succeeded or not:

====================  ===================================================================
column                content
====================  ===================================================================
index                 0, 1, ... in time (file) order
onset_s ... consensus the front end's event (recordings): onset, offset, duration (s),
                      peak intensity over the background (dB), direction index (dB),
                      consensus (lasts at most 300 ms)
row, id               the CSV row (1 = first data row) and its id (ESR)
class_index, class    arg-max of the program's output and its name; empty on error
p_<class>             probability of each class (softmax of the output)
cycles, latency_us    device clock cycles of the inference and the same in µs at the
                      device's clock (HELLO ``clk_hz``)
<counter>             the engine counters (:data:`sw.spec.ENGINE_COUNTERS`)
truth_class           the matched truth event's class (empty: a false alarm), when a
                      truth is known
error                 empty, or why the inference failed
====================  ===================================================================
"""

import csv
import io
import json
import math

import numpy as np

from .. import spec

__all__ = ["build_rows", "csv_text", "json_text", "summary", "table_text",
           "summary_text", "confusion_png", "jsonable", "RUN_VARYING", "comparable"]

_RECORDING_COLUMNS = ("onset_s", "offset_s", "duration_s", "peak_db", "direction_db",
                      "consensus")
_ESR_COLUMNS = ("row", "id")


def build_rows(inputs, inferences, classes, clk_hz):
    """One dict per item: its description, the device's answer, the truth, the error."""
    rows = []
    for i, (item, inf) in enumerate(zip(inputs.items, inferences)):
        row = {"index": i, **item}
        ok = not inf.error
        row["class_index"] = inf.class_index if ok else None
        row["class"] = classes[inf.class_index] if ok else None
        row["probabilities"] = ({c: float(p) for c, p in zip(classes, inf.probabilities)}
                                if ok else None)
        row["cycles"] = inf.cycles if ok else None
        row["latency_us"] = (inf.cycles / clk_hz * 1e6
                             if ok and inf.cycles is not None and clk_hz else None)
        row["counters"] = inf.counters if ok else None
        row["host_s"] = inf.host_s
        if inputs.truth is not None:
            row["truth_class"] = inputs.truth[i]
        row["error"] = inf.error
        rows.append(row)
    return rows


def _fmt(value, digits=None):
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and digits is not None:
        return f"{value:.{digits}f}"
    return value


def csv_text(rows, classes, kind, with_truth):
    """The CSV of the rows (header first)."""
    item_cols = _RECORDING_COLUMNS if kind == "recording" else _ESR_COLUMNS
    header = (["index", *item_cols, "class_index", "class"] + [f"p_{c}" for c in classes]
              + ["cycles", "latency_us", *spec.ENGINE_COUNTERS]
              + (["truth_class"] if with_truth else []) + ["error"])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    digits = {"onset_s": 4, "offset_s": 4, "duration_s": 4, "peak_db": 2,
              "direction_db": 2}
    for r in rows:
        line = [r["index"]] + [_fmt(r[c], digits.get(c)) for c in item_cols]
        line += [_fmt(r["class_index"]), _fmt(r["class"])]
        probs = r["probabilities"] or {}
        line += [f"{probs[c]:.6f}" if c in probs else "" for c in classes]
        line += [_fmt(r["cycles"]), _fmt(r["latency_us"], 2)]
        counters = r["counters"] or {}
        line += [counters.get(c, "") for c in spec.ENGINE_COUNTERS]
        if with_truth:
            line.append(_fmt(r.get("truth_class")))
        line.append(r["error"])
        w.writerow(line)
    return buf.getvalue()


def summary(rows, classes, inputs):
    """Counts per class, failures, latency, and (with a truth) accuracy, MCC, confusion."""
    from sklearn.metrics import confusion_matrix, matthews_corrcoef

    ok = [r for r in rows if not r["error"]]
    counts = {c: sum(1 for r in ok if r["class"] == c) for c in classes}
    cycles = [r["cycles"] for r in ok if r["cycles"] is not None]
    lat = [r["latency_us"] for r in ok if r["latency_us"] is not None]
    out = {"items": len(rows), "classified": len(ok), "failed": len(rows) - len(ok),
           "class_counts": counts,
           "cycles_mean": float(np.mean(cycles)) if cycles else None,
           "latency_us_mean": float(np.mean(lat)) if lat else None,
           "host_s_total": float(sum(r["host_s"] for r in rows)),
           **inputs.info}
    if inputs.truth is not None:
        scored = [r for r in ok if r.get("truth_class") is not None]
        y_true = [r["truth_class"] for r in scored]
        y_pred = [r["class"] for r in scored]
        out["scored"] = len(scored)
        out["unscored_failed"] = sum(1 for r in rows
                                     if r["error"] and r.get("truth_class") is not None)
        if scored:
            out["accuracy"] = float(np.mean([t == p for t, p in zip(y_true, y_pred)]))
            out["mcc"] = float(matthews_corrcoef(y_true, y_pred))
            out["confusion"] = {"labels": list(classes),
                                "matrix": confusion_matrix(y_true, y_pred,
                                                           labels=list(classes)).tolist()}
        else:
            out["accuracy"] = out["mcc"] = None
        out["truth_source"] = inputs.truth_source
    return out


#: What two runs on the same inputs and equal devices may differ in: wall times, the
#: command line, the link's retries (an interrupted and resumed run against a whole one;
#: the virtual board with link faults against the golden device).
RUN_VARYING = frozenset({"host_s", "host_s_total", "argv", "link"})


def comparable(doc):
    """``doc`` (rows, or a results or energy document) without the :data:`RUN_VARYING`
    fields, at any depth."""
    if isinstance(doc, dict):
        return {k: comparable(v) for k, v in doc.items() if k not in RUN_VARYING}
    if isinstance(doc, list):
        return [comparable(v) for v in doc]
    return doc


def jsonable(value):
    """``value`` with numpy scalars as Python numbers, NaN/inf as None, bytes as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: jsonable(x) for k, x in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(x) for x in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return jsonable(float(value))
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return value


def json_text(document):
    """``document`` as indented JSON text (through :func:`jsonable`)."""
    return json.dumps(jsonable(document), indent=1) + "\n"


def table_text(rows, classes, kind, limit=None):
    """A fixed-width table of the rows for the terminal."""
    with_truth = any("truth_class" in r for r in rows)
    first = ("onset s", "dur ms") if kind == "recording" else ("row", "id")
    head = ["#", *first, "class", "p", "latency us"] + (["truth"] if with_truth else []) \
        + ["error"]
    lines = []
    shown = rows if limit is None else rows[:limit]
    for r in shown:
        if kind == "recording":
            a, b = f"{r['onset_s']:.3f}", f"{1000 * r['duration_s']:.0f}"
        else:
            a, b = str(r["row"]), str(r["id"])[:16]
        if r["error"]:
            cls, p, lat = "-", "-", "-"
        else:
            cls = r["class"]
            p = f"{r['probabilities'][cls]:.3f}"
            lat = "-" if r["latency_us"] is None else f"{r['latency_us']:.1f}"
        cells = [str(r["index"]), a, b, cls, p, lat]
        if with_truth:
            t = r.get("truth_class")
            cells.append("(none)" if t is None else t + ("" if r["error"] or t == cls
                                                         else " *"))
        cells.append(r["error"][:60])
        lines.append(cells)
    widths = [max(len(h), *(len(c[k]) for c in lines)) if lines else len(h)
              for k, h in enumerate(head)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip()]
    out += ["  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() for cells in lines]
    if limit is not None and len(rows) > limit:
        out.append(f"... {len(rows) - limit} more rows in results.csv")
    return "\n".join(out) + "\n"


def summary_text(summ, classes, energy=None):
    """Summary lines for the terminal."""
    if summ["items"]:
        lines = [f"{summ['classified']} of {summ['items']} classified"
                 + (f", {summ['failed']} FAILED (see the error column)" if summ["failed"]
                    else "")
                 + ": " + ", ".join(f"{c} {summ['class_counts'][c]}" for c in classes)]
    elif "detections" in summ:
        lines = [f"no HITS detected in the recording ({summ['duration_s']:.1f} s): "
                 f"nothing to classify"]
    else:
        lines = ["no rows: nothing to classify"]
    if "truth_events" in summ:
        lines.append(f"truth {summ['truth_source']}: {summ['truth_events']} events, "
                     f"{summ['matched']} detected, {summ['missed']} missed, "
                     f"{summ['false_alarms']} false alarms")
    if "accuracy" in summ and summ["items"]:
        if summ["accuracy"] is None:
            lines.append("accuracy: no classified event has a truth class")
        else:
            lines.append(f"accuracy {100 * summ['accuracy']:.1f} % "
                         f"({summ['scored']} events with a truth class), MCC "
                         f"{summ['mcc']:.3f}")
    if summ.get("latency_us_mean") is not None:
        lines.append(f"device latency {summ['cycles_mean']:.0f} cycles = "
                     f"{summ['latency_us_mean']:.1f} µs per inference (mean)")
    if energy is not None:
        lines += _energy_lines(energy)
    return "\n".join(lines) + "\n"


def _energy_lines(energy):
    """The energy report in a few lines; what a figure lacks, in one short line (the whole
    reason is in energy.json)."""
    e, f, m = energy["estimated"], energy["full_precision"], energy["measured"]
    first = (f"energy per inference: estimated (Eq. 3) {e['per_inference_j'] * 1e9:.1f} nJ; "
             f"full precision (Eq. 3) {f['per_inference_j'] * 1e9:.1f} nJ (EC_G^T "
             f"{100 * f['ec_g_t']:.1f} %)")
    if not energy["inferences"]:
        return [first]
    mean = m["per_inference_mean_j"]
    kind = m["label"].split(" (")[0]
    if mean is None or math.isnan(mean):
        first += f"; {kind}: none (no inference succeeded)"
    else:
        first += f"; {kind} {mean * 1e9:.1f} nJ (x{m['ratio_to_estimated']:.2f} the estimate)"
    lines = [first, f"energy in total ({energy['succeeded']} inferences): estimated "
             f"{e['total_j'] * 1e6:.2f} µJ, full precision {f['total_j'] * 1e6:.2f} µJ, "
             f"{m['kind']} {m['total_j'] * 1e6:.2f} µJ"]
    if m.get("unavailable"):
        lines.append("board energy: needs the board's calibration (docs/power.md; "
                     "energy.json says why)")
    x = energy.get("xadc_model")
    if x is not None and "per_inference_mean_j" in x:
        lines.append(f"{x['label']}: {x['per_inference_mean_j'] * 1e9:.1f} nJ per "
                     f"inference")
    elif x is not None:
        lines.append("board energy: needs a board and its calibration (docs/power.md)")
    return lines


def confusion_png(summ, title):
    """The confusion matrix as PNG bytes (rows: truth, columns: predicted)."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    from .. import plots

    conf = summ["confusion"]
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ConfusionMatrixDisplay(np.asarray(conf["matrix"]), display_labels=conf["labels"]).plot(
        ax=ax, colorbar=False)
    plots.set_title(ax, title, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
