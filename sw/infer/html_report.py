"""The HTML report of ``attq-fpga infer``: one self-contained page per recording, and the
index page of a batch.

:func:`html_report` makes ``report.html`` from what the run wrote in ``results.json`` and
``energy.json`` (the same document, so the page and the files cannot disagree) and the
front end's event segments. The page needs no network and no other file: images are PNG
``data:`` URIs, the timeline is inline SVG, the style sheet is in the page, there is no
script, and no ``src``/``href`` points anywhere but into the page itself (``#event-12``)
or to a ``data:`` image. Every text that comes from the user or a file (the recording's
name, class names, error messages) is escaped.

What the page holds:

* a title with the recording's name, the program, the device (board, lanes, clock) and
  the date;
* the summary: the number of events (``<span id="event-count">``, for a machine to read),
  the count per class, failures, and with a truth: its events, matched, missed, false
  alarms, accuracy, MCC and the confusion matrix;
* the timeline of the whole recording (recordings only): each truth event on one track,
  each detected HITS on the next, coloured by class, linked to its row, and the
  disagreements (wrong class, false alarm, failed inference) marked on a third;
* the energy panel: the energy report's figures and its PNG;
* one row per event (``<tr class="event" id="event-N" data-class="...">``): onset and
  duration, a spectrogram thumbnail of the front end's segment
  (:func:`sw.doppler.spectrogram.spectrogram_columns`), the class probabilities as bars,
  the class, the truth and whether they agree, and the device latency (cycles, µs).

Size: a thumbnail is a PNG of the segment's spectrogram at its own resolution (31 time
columns x 64 frequency rows, 4 to 5 KB) that the page draws 160 x 80 px, so a 30-minute
recording with some 340 events gives a page of about 2 MB. Past
:data:`MAX_THUMBNAILS` events the rows go on without a thumbnail, and the page says so.

The ESR mode (``infer --dataset esr``) gets the same page without the timeline and the
thumbnails: its rows are CSV rows, not moments of a recording.
"""

import base64
import html
import io
import math

import numpy as np

__all__ = ["html_report", "batch_index_html", "class_colours", "event_thumbnail_png",
           "MAX_THUMBNAILS", "THUMB_SIZE"]

#: Events given a spectrogram thumbnail; the rows after them have none (the page says so).
MAX_THUMBNAILS = 500
#: How large the page draws a thumbnail (CSS pixels, width x height).
THUMB_SIZE = (160, 80)
#: Colours of classes the HITS colour table (sw.doppler.spectrogram) does not name.
_PALETTE = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f")
#: The colour range of a thumbnail below its brightest point (dB).
_THUMB_RANGE_DB = 50.0

_STYLE = """
body { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; margin: 16px 24px;
       color: #222; background: #fff; font-size: 14px; }
h1 { font-size: 22px; margin: 0 0 4px 0; }
h2 { font-size: 17px; margin: 22px 0 8px 0; border-bottom: 1px solid #ccc; }
.meta { color: #555; margin: 2px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid #ccc; border-radius: 6px; padding: 8px 12px; min-width: 120px; }
.card .v { font-size: 22px; font-weight: bold; }
.card .k { color: #555; font-size: 12px; }
.chip { display: inline-block; width: 12px; height: 12px; border-radius: 2px;
        vertical-align: middle; margin-right: 4px; }
.legend span.item { margin-right: 14px; }
table { border-collapse: collapse; }
td, th { padding: 3px 8px; border-bottom: 1px solid #e4e4e4; text-align: left;
         vertical-align: middle; }
th { background: #f3f3f3; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.confusion td.diag { background: #dff0d8; font-weight: bold; }
tr.event td.swatch { width: 6px; padding: 0; }
tr.event.wrong { background: #fdecea; }
tr.event.failed { background: #eee; color: #777; }
img.thumb { width: 160px; height: 80px; image-rendering: pixelated; display: block; }
.probs { width: 220px; }
.p { display: flex; align-items: center; font-size: 12px; line-height: 15px; }
.p .pl { width: 70px; overflow: hidden; white-space: nowrap; }
.p .bar { flex: 1; background: #eee; height: 10px; margin: 0 6px; }
.p .bar span { display: block; height: 10px; }
.p .pv { width: 42px; text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #2a7d2a; font-weight: bold; }
.bad { color: #c0392b; font-weight: bold; }
.note { background: #fff8e1; border: 1px solid #f0d98c; padding: 6px 10px; margin: 8px 0; }
.err { color: #c0392b; font-size: 12px; max-width: 300px; }
svg text { font-family: inherit; font-size: 11px; fill: #333; }
footer { color: #777; font-size: 12px; margin-top: 24px; }
"""


def _e(value):
    """``value`` as escaped HTML text."""
    return html.escape("" if value is None else str(value), quote=True)


def class_colours(classes):
    """``{class name: "#rrggbb"}``: the HITS classes in the colours the spectrogram plots
    use (:data:`sw.doppler.spectrogram.CLASS_COLOURS`), any other class from a palette."""
    from matplotlib.colors import to_hex

    from ..doppler.spectrogram import CLASS_COLOURS

    known = {c: to_hex(CLASS_COLOURS[c]) for c in classes if c in CLASS_COLOURS}
    spare = [p for p in _PALETTE if p not in known.values()]
    out = {}
    for c in classes:
        out[c] = known.get(c) or spare[len(out) % len(spare)]
    return out


def event_thumbnail_png(iq, sample_rate_hz):
    """PNG bytes of the spectrogram of one event's segment ``iq`` (complex).

    The two-sided spectrogram of :func:`sw.doppler.spectrogram.spectrogram_columns`
    (128-sample frames every 64), pairs of frequency rows reduced to their maximum (so a
    narrow embolic line stays visible), positive frequencies up, in dB from the segment's
    brightest point down :data:`_THUMB_RANGE_DB`, viridis.
    """
    from matplotlib import colormaps
    from matplotlib import image as mimage

    from ..doppler.spectrogram import spectrogram_columns

    iq = np.asarray(iq)
    # Half a sample beyond the end, so that int(stop_s * fs) keeps the last sample.
    _, _, sxx = spectrogram_columns(iq, sample_rate_hz, 0.0, (len(iq) + 0.5) / sample_rate_hz)
    sxx = sxx[: sxx.shape[0] // 2 * 2].reshape(-1, 2, sxx.shape[1]).max(axis=1)
    db = 10 * np.log10(sxx + 1e-20)
    top = float(db.max())
    level = np.clip((db - (top - _THUMB_RANGE_DB)) / _THUMB_RANGE_DB, 0.0, 1.0)
    rgb = colormaps["viridis"](level[::-1])[..., :3]
    buf = io.BytesIO()
    mimage.imsave(buf, rgb, format="png")
    return buf.getvalue()


def _data_uri(png):
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _fmt(value, spec, none="–"):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return none
    return format(value, spec)


def _clock_text(device):
    clk = device.get("clk_hz")
    return f"{clk / 1e6:g} MHz" if clk else "clock unknown"


def _header(doc, name, created):
    device = doc.get("device", {})
    kind = "HITS" if doc.get("kind") == "recording" else "ESR rows"
    model = doc.get("model", "")
    return (f"<h1>{_e(kind)} report: {_e(name)}</h1>\n"
            f"<p class=\"meta\">input <b>{_e(doc.get('input'))}</b> · model "
            f"<b>{_e(model.replace(chr(92), '/').rsplit('/', 1)[-1])}</b> "
            f"(hash {_e(str(doc.get('model_hash', ''))[:12])})</p>\n"
            f"<p class=\"meta\">device <b>{_e(device.get('spec'))}</b>: "
            f"{_e(device.get('board_name'))}, {_e(device.get('lanes'))} lanes, "
            f"{_e(_clock_text(device))} · {_e(created)}</p>\n")


def _legend(classes, colours):
    return "<p class=\"legend\">" + "".join(
        f"<span class=\"item\"><span class=\"chip\" style=\"background:{colours[c]}\">"
        f"</span>{_e(c)}</span>" for c in classes) + "</p>\n"


def _card(value, label, ident=None):
    idattr = f" id=\"{ident}\"" if ident else ""
    return (f"<div class=\"card\"><div class=\"v\"><span{idattr}>{value}</span></div>"
            f"<div class=\"k\">{label}</div></div>")


def _summary(doc, classes, colours, noun):
    s = doc["summary"]
    cards = [_card(s["items"], _e(noun), ident="event-count")]
    for c in classes:
        cards.append(_card(s["class_counts"].get(c, 0),
                           f"<span class=\"chip\" style=\"background:{colours[c]}\"></span>"
                           f"{_e(c)}"))
    if s.get("failed"):
        cards.append(_card(f"<span class=\"bad\">{s['failed']}</span>", "failed"))
    if s.get("duration_s") is not None:
        cards.append(_card(_fmt(s["duration_s"], ".1f"), "recording (s)"))
    if s.get("latency_us_mean") is not None:
        cards.append(_card(_fmt(s["latency_us_mean"], ".1f"),
                           f"µs per inference ({_fmt(s['cycles_mean'], ',.0f')} cycles)"))
    if "accuracy" in s:
        cards.append(_card(_fmt(None if s["accuracy"] is None else 100 * s["accuracy"],
                                ".1f"), "accuracy (%)"))
        cards.append(_card(_fmt(s.get("mcc"), ".3f"), "MCC"))
    out = "<h2>Summary</h2>\n<div class=\"cards\">" + "".join(cards) + "</div>\n"
    if s.get("truncation"):
        out += f"<p class=\"note\">{_e(s['truncation'])}</p>\n"
    if "truth_events" in s:
        out += (f"<p>truth <b>{_e(s.get('truth_source'))}</b>: {s['truth_events']} events, "
                f"{s['matched']} detected, {s['missed']} missed, {s['false_alarms']} false "
                f"alarms; accuracy and MCC over the {s.get('scored', 0)} classified events "
                f"with a truth class.</p>\n")
    elif doc.get("kind") == "recording":
        out += "<p>no truth given: nothing to compare with.</p>\n"
    if not s["items"]:
        what = ("no HITS detected in the recording" if doc.get("kind") == "recording"
                else "no rows")
        out += f"<p class=\"note\">{what}: nothing to classify.</p>\n"
    return out


def _confusion(summ):
    conf = summ.get("confusion")
    if conf is None:
        return ""
    labels, matrix = conf["labels"], conf["matrix"]
    head = "".join(f"<th class=\"num\">{_e(c)}</th>" for c in labels)
    body = ""
    for i, (c, row) in enumerate(zip(labels, matrix)):
        cells = "".join(f"<td class=\"num{' diag' if i == j else ''}\">{v}</td>"
                        for j, v in enumerate(row))
        body += f"<tr><th>{_e(c)}</th>{cells}</tr>\n"
    return ("<h2>Truth comparison</h2>\n<p>rows: truth class, columns: predicted class "
            "(events both the front end and the truth have).</p>\n"
            f"<table class=\"confusion\" id=\"confusion\"><tr><th>truth \\ predicted</th>"
            f"{head}</tr>\n{body}</table>\n")


def _tick_step(duration_s):
    for step in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200):
        if duration_s / step <= 12:
            return step
    return 10800


def _tick_label(t, duration_s):
    if duration_s < 120:
        return f"{t:g} s"
    return f"{int(t) // 60}:{int(t) % 60:02d}"


def _timeline(doc, colours, truth_events):
    """Inline SVG of the whole recording: truth, detections (linked), disagreements."""
    s = doc["summary"]
    duration = s.get("duration_s")
    if not duration:
        return ""
    rows = doc["events"]
    with_truth = "truth_events" in s
    width, left, right = 1100, 92, 12
    plot = width - left - right
    tracks = (["truth"] if with_truth else []) + ["detected", "disagrees"]
    track_h, top = 26, 6
    height = top + track_h * len(tracks) + 26
    min_w = 2.5

    def x(t):
        return left + plot * min(max(t, 0.0), duration) / duration

    def y(track):
        return top + track_h * tracks.index(track)

    parts = [f"<svg id=\"timeline\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" "
             f"height=\"{height}\" role=\"img\" aria-label=\"timeline of the recording\">"]
    for name in tracks:
        parts.append(f"<rect x=\"{left}\" y=\"{y(name) + 3}\" width=\"{plot}\" "
                     f"height=\"{track_h - 6}\" fill=\"#f4f4f4\"/>"
                     f"<text x=\"{left - 6}\" y=\"{y(name) + track_h / 2 + 4}\" "
                     f"text-anchor=\"end\">{name}</text>")
    step = _tick_step(duration)
    axis_y = top + track_h * len(tracks)
    t = 0.0
    while t <= duration + 1e-9:
        parts.append(f"<line x1=\"{x(t):.1f}\" y1=\"{top}\" x2=\"{x(t):.1f}\" "
                     f"y2=\"{axis_y + 4}\" stroke=\"#ccc\" stroke-width=\"0.5\"/>"
                     f"<text x=\"{x(t):.1f}\" y=\"{axis_y + 16}\" text-anchor=\"middle\">"
                     f"{_tick_label(t, duration)}</text>")
        t += step
    for ev in truth_events or ():
        w = max(min_w, x(ev.offset_s) - x(ev.onset_s))
        parts.append(f"<rect class=\"truth-mark\" x=\"{x(ev.onset_s):.2f}\" "
                     f"y=\"{y('truth') + 4}\" width=\"{w:.2f}\" height=\"{track_h - 8}\" "
                     f"fill=\"{colours.get(ev.cls, '#999999')}\"><title>truth "
                     f"{_e(ev.cls)} at {ev.onset_s:.3f} s</title></rect>")
    for r in rows:
        on, off = r["onset_s"], r["offset_s"]
        w = max(min_w, x(off) - x(on))
        cls = r["class"]
        fill = colours.get(cls, "#bbbbbb") if cls is not None else "#bbbbbb"
        label = (f"#{r['index']} at {on:.3f} s: "
                 + (f"{cls} (p {r['probabilities'][cls]:.3f})" if cls is not None
                    else f"failed: {r['error']}"))
        parts.append(f"<a href=\"#event-{r['index']}\"><rect class=\"event-mark\" "
                     f"x=\"{x(on):.2f}\" y=\"{y('detected') + 4}\" width=\"{w:.2f}\" "
                     f"height=\"{track_h - 8}\" fill=\"{fill}\"><title>{_e(label)}</title>"
                     f"</rect></a>")
        why = _disagreement(r, with_truth)
        if why:
            cx = x(0.5 * (on + off))
            yy = y("disagrees") + track_h / 2
            colour = "#c0392b" if why == "wrong class" else "#555555"
            parts.append(f"<a href=\"#event-{r['index']}\"><path d=\"M {cx - 5:.1f} "
                         f"{yy - 6:.1f} L {cx + 5:.1f} {yy - 6:.1f} L {cx:.1f} {yy + 5:.1f} "
                         f"Z\" fill=\"{colour}\"><title>#{r['index']}: {_e(why)}</title>"
                         f"</path></a>")
    parts.append("</svg>")
    note = ("each event links to its row; the third track marks a wrong class (red), a "
            "false alarm or a failed inference (grey)" if with_truth else
            "each event links to its row; the third track marks failed inferences")
    return ("<h2>Timeline</h2>\n" + "".join(parts) + f"\n<p class=\"meta\">{note}.</p>\n")


def _disagreement(row, with_truth):
    if row["error"]:
        return "failed inference"
    if not with_truth:
        return ""
    truth = row.get("truth_class")
    if truth is None:
        return "false alarm (no truth event)"
    return "wrong class" if truth != row["class"] else ""


def _energy(energy, energy_png):
    if energy is None:
        return ""
    e, f, m = energy["estimated"], energy["full_precision"], energy["measured"]

    def nj(v):
        return _fmt(None if v is None else v * 1e9, ",.1f")

    def uj(v):
        return _fmt(None if v is None else v * 1e6, ",.2f")

    rows = [(e["label"], nj(e["per_inference_j"]), uj(e["total_j"])),
            (f["label"], nj(f["per_inference_j"]), uj(f["total_j"])),
            (m["label"], nj(m["per_inference_mean_j"]), uj(m["total_j"]))]
    x = energy.get("xadc_model") or {}
    if "per_inference_mean_j" in x:
        rows.append((x["label"], nj(x["per_inference_mean_j"]), uj(x.get("total_j"))))
    body = "".join(f"<tr><td>{_e(a)}</td><td class=\"num\">{b}</td><td class=\"num\">{c}"
                   f"</td></tr>\n" for a, b, c in rows)
    out = ("<h2>Energy</h2>\n<table id=\"energy\"><tr><th>figure</th><th class=\"num\">nJ "
           f"per inference</th><th class=\"num\">µJ in total ({energy['succeeded']} "
           f"inferences)</th></tr>\n{body}</table>\n"
           f"<p>EC<sub>G</sub><sup>T</sup> (Eq. 4), the share of the full-precision "
           f"energy aTTQ saves: <b>{_fmt(100 * f['ec_g_t'], '.1f')} %</b>.")
    ratio = m.get("ratio_to_estimated")
    if ratio is not None and math.isfinite(ratio):
        out += f" {_e(m['kind'])}: {ratio:.2f} × the estimate."
    out += "</p>\n"
    for why in (m.get("unavailable"), x.get("unavailable")):
        if why:
            out += f"<p class=\"note\">{_e(why)}</p>\n"
    if energy_png:
        out += (f"<img src=\"{_data_uri(energy_png)}\" alt=\"energy per inference\" "
                f"width=\"640\">\n")
    return out


def _probability_bars(probabilities, classes, colours):
    out = "<div class=\"probs\">"
    for c in classes:
        p = probabilities[c]
        out += (f"<div class=\"p\"><span class=\"pl\">{_e(c)}</span><span class=\"bar\">"
                f"<span style=\"width:{100 * p:.1f}%;background:{colours[c]}\"></span>"
                f"</span><span class=\"pv\">{p:.3f}</span></div>")
    return out + "</div>"


def _events(doc, classes, colours, thumbnails, max_thumbnails):
    rows = doc["events"]
    if not rows:
        return ""
    recording = doc.get("kind") == "recording"
    with_truth = "truth_class" in rows[0]
    head = ["", "#"] + (["onset s", "duration ms", "spectrogram"] if recording
                        else ["row", "id"])
    head += ["probabilities", "class"] + (["truth"] if with_truth else []) \
        + ["cycles", "latency µs", "error"]
    out = "<h2>Events</h2>\n"
    if recording and len(rows) > max_thumbnails:
        out += (f"<p class=\"note\" id=\"thumbnail-note\">{len(rows)} events: the "
                f"spectrogram thumbnails of the first {max_thumbnails} only, to keep the page "
                f"small; every event has its row.</p>\n")
    out += "<table id=\"events\"><tr>" + "".join(
        f"<th>{_e(h)}</th>" for h in head) + "</tr>\n"
    for r in rows:
        i, cls = r["index"], r["class"]
        why = _disagreement(r, with_truth)
        kind = ["event"] + (["failed"] if r["error"] else
                            ["wrong"] if why == "wrong class" else [])
        colour = colours.get(cls, "#bbbbbb") if cls is not None else "#bbbbbb"
        cells = [f"<td class=\"swatch\" style=\"background:{colour}\"></td>",
                 f"<td class=\"num\">{i}</td>"]
        if recording:
            thumb = thumbnails.get(i)
            img = (f"<img class=\"thumb\" src=\"{_data_uri(thumb)}\" alt=\"spectrogram of "
                   f"event {i}\">" if thumb else "–")
            cells += [f"<td class=\"num\">{r['onset_s']:.3f}</td>",
                      f"<td class=\"num\">{1000 * r['duration_s']:.0f}</td>",
                      f"<td>{img}</td>"]
        else:
            cells += [f"<td class=\"num\">{_e(r['row'])}</td>", f"<td>{_e(r['id'])}</td>"]
        cells.append("<td>" + (_probability_bars(r["probabilities"], classes, colours)
                               if r["probabilities"] else "–") + "</td>")
        cells.append(f"<td><b>{_e(cls) if cls is not None else '–'}</b></td>")
        if with_truth:
            truth = r.get("truth_class")
            if truth is None:
                mark = "<span class=\"bad\">false alarm</span>" if recording else "–"
            elif r["error"]:
                mark = _e(truth)
            elif truth == cls:
                mark = f"{_e(truth)} <span class=\"ok\">✓</span>"
            else:
                mark = f"{_e(truth)} <span class=\"bad\">✗</span>"
            cells.append(f"<td>{mark}</td>")
        cells += [f"<td class=\"num\">{_fmt(r['cycles'], ',d')}</td>",
                  f"<td class=\"num\">{_fmt(r['latency_us'], '.1f')}</td>",
                  f"<td class=\"err\">{_e(r['error'])}</td>"]
        out += (f"<tr class=\"{' '.join(kind)}\" id=\"event-{i}\" data-class=\"{_e(cls)}\">"
                + "".join(cells) + "</tr>\n")
    return out + "</table>\n"


def html_report(doc, energy=None, *, energy_png=None, segments=None, sample_rate_hz=None,
                truth_events=None, created="", max_thumbnails=MAX_THUMBNAILS):
    """The report of one run as a self-contained HTML document.

    Parameters
    ----------
    doc : dict
        The run's ``results.json`` document: ``kind``, ``input``, ``model``,
        ``model_hash``, ``classes``, ``device``, ``summary``, ``events``
        (:mod:`sw.infer.report`).
    energy : dict, optional
        The energy report (:func:`sw.infer.energy.energy_report`).
    energy_png : bytes, optional
        Its chart (:func:`sw.infer.energy.energy_png`), shown in the energy panel.
    segments : numpy.ndarray, optional
        Recordings: the complex I/Q segment of each event ``[N, samples]``, for the
        thumbnails.
    sample_rate_hz : int, optional
        The segments' rate.
    truth_events : list of sw.doppler.recording.TruthEvent, optional
        Every truth event, drawn on the timeline.
    created : str
        When the run was made, shown in the title.
    max_thumbnails : int
        Events given a thumbnail (the first ones).

    Returns
    -------
    str
    """
    from .report import jsonable

    doc = jsonable(doc)
    classes = list(doc["classes"])
    colours = class_colours(classes)
    source = str(doc.get("input", ""))
    name = source.replace("\\", "/").rsplit("/", 1)[-1]
    recording = doc.get("kind") == "recording"
    noun = "events" if recording else "rows"
    thumbnails = {}
    if recording and segments is not None and sample_rate_hz:
        for i in range(min(len(segments), max_thumbnails)):
            thumbnails[i] = event_thumbnail_png(segments[i], sample_rate_hz)
    parts = ["<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
             f"<title>{_e(name)}: attq-fpga infer report</title>\n",
             f"<style>{_STYLE}</style>\n</head>\n<body>\n",
             _header(doc, name, created),
             _legend(classes, colours),
             _summary(doc, classes, colours, noun)]
    if recording:
        parts.append(_timeline(doc, colours, truth_events))
    parts += [_confusion(doc["summary"]), _energy(energy, energy_png),
              _events(doc, classes, colours, thumbnails, max_thumbnails),
              "<footer>written by attq-fpga infer; this page needs no other file and no "
              "network.</footer>\n</body>\n</html>\n"]
    return "".join(parts)


def batch_index_html(rows, *, title, created="", classes=()):
    """The index page of a batch: one row per recording, linking its report.

    Parameters
    ----------
    rows : list of dict
        The batch summary's rows (:mod:`sw.infer.batch`): ``recording``, ``folder``
        (relative to the page), ``status``, ``device``, ``events``, ``count_<class>``,
        ``failed``, ``accuracy``, ``mcc``, ``latency_us_mean``, ``error``.
    title : str
    created : str
    classes : sequence of str
    """
    colours = class_colours(list(classes))
    done = [r for r in rows if r["status"] in ("done", "skipped")]
    bad = [r for r in rows if r["status"] not in ("done", "skipped")]
    head = (["recording", "status", "device", "events"] + list(classes)
            + ["failed", "accuracy %", "MCC", "latency µs", "error"])
    body = ""
    for r in rows:
        report = r.get("report")
        name = (f"<a href=\"{_e(report)}\">{_e(r['recording'])}</a>" if report
                else _e(r["recording"]))
        acc = r.get("accuracy")
        cells = [name, _e(r["status"]), _e(r.get("device")), _fmt(r.get("events"), "d")]
        cells += [_fmt(r.get(f"count_{c}"), "d") for c in classes]
        cells += [_fmt(r.get("failed"), "d"),
                  _fmt(None if acc is None else 100 * acc, ".1f"),
                  _fmt(r.get("mcc"), ".3f"), _fmt(r.get("latency_us_mean"), ".1f")]
        cls = " class=\"recording\"" + ("" if r["status"] in ("done", "skipped") else
                                         " style=\"background:#fdecea\"")
        body += (f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in cells)
                 + f"<td class=\"err\">{_e(r.get('error'))}</td></tr>\n")
    legend = _legend(list(classes), colours) if classes else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{_e(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{_e(title)}</h1>\n<p class=\"meta\">{_e(created)}</p>\n{legend}"
            f"<div class=\"cards\">{_card(len(rows), 'recordings', ident='recording-count')}"
            f"{_card(len(done), 'reported')}"
            f"{_card(len(bad), 'failed', ident='failure-count')}"
            f"{_card(sum(r.get('events') or 0 for r in done), 'events')}</div>\n"
            "<h2>Recordings</h2>\n<table id=\"recordings\"><tr>"
            + "".join(f"<th>{_e(h)}</th>" for h in head) + f"</tr>\n{body}</table>\n"
            "<footer>written by attq-fpga infer; each report is a page of its own.</footer>\n"
            "</body>\n</html>\n")
