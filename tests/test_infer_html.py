"""``report.html`` of ``attq-fpga infer``: rendered by headless Chromium, self-contained,
escaped, and with the truth comparison only when there is a truth.

The recording is simulated here (five HITS of known classes, with their truth CSV) and
run on the golden device. What the page must show is taken from the run's other files
(results.json), from the truth CSV the test wrote, and from what Chromium rendered (the
DOM after layout, the screenshot's pixels), not from the module that writes the page.
"""

import json
import re
import io
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

from sw.cli import main
from sw.toolchain import chromium_path

CLASSES = ("artefact", "gaseous", "solid")


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """Five simulated HITS (one artefact, two gaseous, two solid) on the golden device."""
    from sw.doppler.recording import write_truth_csv, write_wav
    from sw.doppler.simulator import simulate_recording

    base = tmp_path_factory.mktemp("html")
    rec = simulate_recording(None, seed=3, counts={"artefact": 1, "gaseous": 2, "solid": 2})
    wav = base / "short.wav"
    write_wav(wav, rec.iq, rec.sample_rate_hz)
    write_truth_csv(wav.with_suffix(".truth.csv"), rec.events)
    out = base / "out"
    status = main(["infer", str(wav), "--device", "golden", "--out", str(out),
                   "--no-progress", "--table-rows", "0"])
    doc = json.loads((out / "results.json").read_text())
    return status, wav, out, doc, rec.events


class _Dom(HTMLParser):
    """The parts of a page the tests read: the event count, the event rows, the timeline
    marks, every src/href, every element id."""

    def __init__(self):
        super().__init__()
        self.count_text, self._in_count = "", False
        self.events, self.swatches, self.marks, self.refs, self.ids = [], [], [], [], []
        self.thumbnails = 0
        self._row = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if a.get("id"):
            self.ids.append(a["id"])
        if a.get("id") == "event-count":
            self._in_count = True
        for key in ("src", "href"):
            if key in a:
                self.refs.append(a[key])
        if tag == "tr" and "event" in classes:
            self._row = {"id": a.get("id"), "class": a.get("data-class"), "kinds": classes}
            self.events.append(self._row)
        if tag == "td" and "swatch" in classes and self._row is not None:
            m = re.search(r"background:\s*(#[0-9a-fA-F]{6})", a.get("style", ""))
            self._row["colour"] = m.group(1).lower() if m else None
        if tag == "img" and "thumb" in classes:
            self.thumbnails += 1
        if tag == "rect" and classes and classes[0] in ("event-mark", "truth-mark"):
            self.marks.append((classes[0], a.get("fill", "").lower()))

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._in_count:
            self.count_text += data
            self._in_count = False


def _dom(text):
    parser = _Dom()
    parser.feed(text)
    return parser


def _rgb(hex_colour):
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def _assert_self_contained(text):
    assert not re.search(r"https?:", text, re.IGNORECASE)
    assert not re.search(r"<(script|link|iframe|object|embed)\b", text, re.IGNORECASE)
    assert "@import" not in text and "url(" not in text
    for ref in _dom(text).refs:
        assert ref.startswith("data:image/png;base64,") or re.fullmatch(r"#[\w-]+", ref), ref


def test_report_renders_in_headless_chromium(short_run, tmp_path):
    chromium = chromium_path()
    if chromium is None:
        pytest.skip("chromium is not installed (scripts/_setup.sh installs Debian's "
                    "package when run as root; or apt-get install chromium)")
    from matplotlib import image

    status, _, out, doc, truth = short_run
    assert status == 0
    page = out / "report.html"
    shot = tmp_path / "shot.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={tmp_path / 'profile'}"]
    subprocess.run([chromium, *flags, f"--screenshot={shot}", "--window-size=1200,2000",
                    page.as_uri()], check=True, capture_output=True, timeout=120)
    dom = subprocess.run([chromium, *flags, "--dump-dom", page.as_uri()], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    rendered = _dom(dom)

    # The count Chromium shows, the event rows it laid out, and results.json agree.
    events = doc["events"]
    assert len(events) >= 3, "the simulated HITS should mostly be detected"
    assert int(rendered.count_text) == len(events)
    assert [r["id"] for r in rendered.events] == [f"event-{e['index']}" for e in events]
    assert [r["class"] for r in rendered.events] == [e["class"] for e in events]
    assert rendered.thumbnails == len(events)
    # The timeline: one mark per detection, one per row of the truth CSV the test wrote.
    assert sum(kind == "event-mark" for kind, _ in rendered.marks) == len(events)
    assert sum(kind == "truth-mark" for kind, _ in rendered.marks) == len(truth)

    # Coloured per class: one colour per predicted class, different classes apart, and
    # the timeline's marks in the colour of their row's class.
    colour_of = {}
    for row in rendered.events:
        assert colour_of.setdefault(row["class"], row["colour"]) == row["colour"]
    assert len(colour_of) >= 2
    assert len(set(colour_of.values())) == len(colour_of)
    event_fills = [fill for kind, fill in rendered.marks if kind == "event-mark"]
    assert event_fills == [colour_of[e["class"]] for e in events]

    # Not blank: many colours, a good part of the page not white, and each class colour
    # drawn in the pixels.
    pixels = image.imread(shot)
    assert pixels.shape[:2] == (2000, 1200)
    rgb = np.round(pixels[..., :3] * 255).astype(np.int16)
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 200
    assert np.mean(np.any(rgb < 245, axis=-1)) > 0.05
    for colour in colour_of.values():
        assert np.any(np.all(np.abs(rgb - _rgb(colour)) <= 2, axis=-1)), colour


def test_report_is_self_contained(short_run):
    _, _, out, doc, _ = short_run
    text = (out / "report.html").read_text(encoding="utf-8")
    _assert_self_contained(text)
    dom = _dom(text)
    # Every in-page link has its target: the timeline's marks link their rows.
    for ref in dom.refs:
        if ref.startswith("#"):
            assert ref[1:] in dom.ids, ref
    assert len(dom.events) == len(doc["events"])


def test_a_hostile_name_is_escaped(short_run):
    from sw.infer.html_report import html_report
    _, _, _, doc, _ = short_run
    hostile = '<script>alert("x")</script><img src=https://evil.example/a.png>&.wav'
    doc = {**doc, "input": "recordings/" + hostile,
           "device": {**doc["device"], "spec": "<b>golden</b>"}}
    doc["events"] = [dict(e) for e in doc["events"]]
    doc["events"][0]["error"] = "<i>bad</i>"
    text = html_report(doc, None)
    assert "<script" not in text and "<img src=https" not in text and "<b>golden" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    assert "&lt;i&gt;bad&lt;/i&gt;" in text
    assert "&amp;.wav" in text
    # The name itself names a URL; escaped, it is text, never a src or an href.
    for ref in _dom(text).refs:
        assert ref.startswith("data:") or ref.startswith("#"), ref


def _without_truth(doc):
    """The results document as a run without a truth writes it."""
    summary = {k: v for k, v in doc["summary"].items()
               if k not in ("truth_events", "matched", "missed", "false_alarms", "scored",
                            "unscored_failed", "accuracy", "mcc", "confusion",
                            "truth_source")}
    events = [{k: v for k, v in e.items() if k != "truth_class"} for e in doc["events"]]
    return {**doc, "summary": summary, "events": events}


def test_the_truth_comparison_only_with_a_truth(short_run):
    from sw.infer.html_report import html_report
    _, _, _, doc, truth = short_run
    with_truth = html_report(doc, None, truth_events=truth)
    assert 'id="confusion"' in with_truth and ">truth</th>" in with_truth
    assert "accuracy (%)" in with_truth and "truth-mark" in with_truth
    matrix = doc["summary"]["confusion"]["matrix"]
    assert sum(map(sum, matrix)) == doc["summary"]["matched"] <= len(truth)

    plain = html_report(_without_truth(doc), None)
    assert 'id="confusion"' not in plain and ">truth</th>" not in plain
    assert "accuracy (%)" not in plain and "truth-mark" not in plain
    assert "no truth given" in plain
    assert len(_dom(plain).events) == len(doc["events"])


def test_many_events_keep_every_row_and_thumbnail_the_first(short_run):
    from sw.infer.html_report import html_report
    _, _, _, doc, _ = short_run
    n = len(doc["events"])
    segments = np.zeros((n, 2048), np.complex64)
    segments[:, ::7] = 1.0
    text = html_report(doc, None, segments=segments, sample_rate_hz=4400, max_thumbnails=2)
    dom = _dom(text)
    assert len(dom.events) == n and dom.thumbnails == 2
    assert f"{n} events: the spectrogram thumbnails of the first 2 only" in text
    assert "thumbnail-note" not in html_report(doc, None, segments=segments,
                                               sample_rate_hz=4400, max_thumbnails=n)


def test_esr_rows_get_a_report_without_timeline(short_run):
    """The ESR mode: rows of a CSV, not moments of a recording."""
    from sw.infer.html_report import html_report
    _, _, _, doc, _ = short_run
    events = [{k: v for k, v in e.items() if k not in ("onset_s", "offset_s", "duration_s",
                                                       "peak_db", "direction_db",
                                                       "consensus")}
              | {"row": e["index"] + 1, "id": f"X{e['index']}.V1"} for e in doc["events"]]
    summary = {k: v for k, v in doc["summary"].items() if k not in ("duration_s",)}
    esr = {**doc, "kind": "esr", "input": "esr.csv", "summary": summary, "events": events}
    text = html_report(esr, None)
    _assert_self_contained(text)
    assert 'id="timeline"' not in text and "ESR rows report: esr.csv" in text
    assert len(_dom(text).events) == len(events) and "X0.V1" in text


def test_no_html_removes_the_report(short_run, tmp_path):
    """--no-html: no report.html, and a previous run's is not left beside the new files."""
    _, wav, _, _, _ = short_run
    out = tmp_path / "out"
    argv = ["infer", str(wav), "--device", "golden", "--out", str(out), "--no-progress",
            "--table-rows", "0"]
    assert main(argv) == 0 and (out / "report.html").is_file()
    assert main([*argv, "--no-html"]) == 0
    assert not (out / "report.html").exists() and (out / "results.json").is_file()


def test_doctor_lists_chromium(monkeypatch):
    """``attq-fpga doctor``: Chromium with its version when installed, else the apt
    command that installs it (scripts/_setup.sh runs it as root)."""
    import shutil as shutil_mod

    from sw import doctor, toolchain

    def line(text):
        return next(x for x in text.splitlines() if " chromium " in x)
    out = io.StringIO()
    doctor.run(out=out)
    if shutil_mod.which("chromium") or shutil_mod.which("chromium-browser"):
        assert line(out.getvalue()).lstrip().startswith("ok")
        assert "Chromium " in line(out.getvalue())
    real_which = shutil_mod.which
    monkeypatch.setattr(toolchain.shutil, "which", lambda name, *a, **k: None if name in (
        "chromium", "chromium-browser") else real_which(name, *a, **k))
    out = io.StringIO()
    doctor.run(out=out)
    assert line(out.getvalue()).lstrip().startswith("missing")
    assert "install with: sudo apt-get install chromium" in line(out.getvalue())
