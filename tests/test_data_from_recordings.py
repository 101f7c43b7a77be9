"""data from-recordings: a folder of labelled recordings -> the HITS segment data set.

The recordings are simulated and written as a user would hand them over (stereo I/Q WAV,
one .npz), with a labels CSV made from the simulator's truth. What each segment must hold
is worked out here from the recording file itself: the front end's detection of the
labelled event (or the label) gives the centre, and the 2048 samples around it, read
from the recording, must be the segment's samples.
"""

import contextlib
import csv
import io
import json

import numpy as np
import pytest
from scipy.io import wavfile

from sw.cli import main
from sw.data.hits import load_hits
from sw.doppler.detector import detect
from sw.doppler.recording import write_npz, write_wav
from sw.doppler.simulator import simulate_recording

FS = 4400
HALF = 1024
COUNTS = {"artefact": 1, "gaseous": 2, "solid": 2}
#: Recording -> (subject, simulator seed). p1 has two recordings.
RECORDINGS = {"a.wav": ("p1", 0), "b.wav": ("p2", 1), "c.npz": ("p3", 2),
              "d.wav": ("p1", 3)}
HEADER = ["recording", "onset_s", "duration_s", "class", "subject"]


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """The recordings folder and the labels of every simulated event, in file order."""
    folder = tmp_path_factory.mktemp("recs") / "recordings"
    rows = []
    for name, (subject, k) in RECORDINGS.items():
        rec = simulate_recording(None, seed=[2024, k], counts=COUNTS)
        if name.endswith(".npz"):
            write_npz(folder / name, rec.iq, FS)
        else:
            write_wav(folder / name, rec.iq, FS)
        found = detect(iq_of(folder / name))
        # What the expectations below stand on: the front end finds each simulated event
        # once and nothing else in these recordings.
        assert len(found) == len(rec.events), (name, found)
        for ev in rec.events:
            rows.append([name, f"{ev.onset_s:.4f}", f"{ev.duration_s:.4f}", ev.cls,
                         subject])
    # A recording that no label names.
    write_wav(folder / "spare.wav", rec.iq[:5 * FS], FS)
    return folder, rows


def iq_of(path):
    """The recording's complex samples, read here with scipy / numpy."""
    if path.suffix == ".npz":
        with np.load(path) as npz:
            return npz["iq"].astype(np.complex64)
    _, data = wavfile.read(path)
    return ((data[:, 0] + 1j * data[:, 1]) / 32768.0).astype(np.complex64)


def as_pcm16(iq):
    return np.round(np.stack([iq.real, iq.imag], axis=1) * 32768.0).astype(np.int16)


def detection_around(path, onset, duration, slack=0.05):
    """The front end's detection overlapping the labelled event, or None."""
    hits = [d for d in detect(iq_of(path))
            if d.onset_s <= onset + duration + slack and onset - slack <= d.offset_s]
    assert len(hits) <= 1
    return hits[0] if hits else None


def expected_segment(path, centre_s):
    start = int(round(centre_s * FS)) - HALF
    iq = iq_of(path)
    assert 0 <= start and start + 2 * HALF <= len(iq)
    return as_pcm16(iq[start:start + 2 * HALF])


def write_labels(path, rows, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def run(folder, labels, out, *extra):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        status = main(["data", "from-recordings", str(folder), "--labels", str(labels),
                       "--out", str(out), "--no-progress", *extra])
    return status, buf.getvalue()


@pytest.fixture(scope="module")
def built(recordings, tmp_path_factory):
    folder, rows = recordings
    work = tmp_path_factory.mktemp("built")
    labels = write_labels(work / "labels.csv", rows)
    status, text = run(folder, labels, work / "set")
    return work / "set", status, text


def test_end_to_end_writes_a_data_set_the_loader_reads(recordings, built):
    _, rows = recordings
    out, status, text = built
    assert status == 0, text
    labelled = {c: sum(r[3] == c for r in rows) for c in COUNTS}
    written = read_csv(out / "labels.csv")
    assert {c: sum(r["class"] == c for r in written) for c in COUNTS} == labelled
    assert f"wrote {out}: {len(rows)} segments" in text
    assert "1 recording_not_labelled" in text

    split_of = {}
    for r in written:
        assert r["split"] in ("train", "test")
        assert split_of.setdefault(r["subject"], r["split"]) == r["split"]
    assert set(split_of) == {"p1", "p2", "p3"} and set(split_of.values()) == {"train",
                                                                              "test"}
    split = load_hits(out)
    assert split.source == "recorded"
    assert len(split.y_train) + len(split.y_test) == len(rows)
    assert split.x_train.shape[1:] == (2, 2048)
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["generator"]["recordings_not_labelled"] == ["spare.wav"]
    (spare,) = read_csv(out / "mismatches.csv")
    assert (spare["kind"], spare["recording"], spare["action"]) == \
        ("recording_not_labelled", "spare.wav", "not read")


def test_each_segment_is_the_recording_around_its_detection(recordings, built):
    folder, rows = recordings
    out, status, _ = built
    assert status == 0
    label_rows = []
    classes = {r["file"]: r["class"] for r in read_csv(out / "labels.csv")}
    for ev in read_csv(out / "events.csv"):
        row = int(ev["label_row"])
        name, onset, duration, cls, subject = rows[row - 1]
        assert (ev["recording"], ev["subject"], classes[ev["file"]]) == (name, subject, cls)
        d = detection_around(folder / name, float(onset), float(duration))
        centre = 0.5 * (d.onset_s + d.offset_s)
        # The detection's midpoint lies within the event's own span (+- 40 ms).
        assert float(onset) - 0.04 <= centre <= float(onset) + float(duration) + 0.04
        _, data = wavfile.read(out / ev["file"])
        np.testing.assert_array_equal(data, expected_segment(folder / name, centre))
        label_rows.append(row)
    assert sorted(label_rows) == list(range(1, len(rows) + 1))


def test_a_split_column_is_taken_as_given(recordings, tmp_path):
    folder, rows = recordings
    given = {"p1": "test", "p2": "train", "p3": "train"}
    labels = write_labels(tmp_path / "l.csv", [r + [given[r[4]]] for r in rows],
                          HEADER + ["split"])
    status, text = run(folder, labels, tmp_path / "set")
    assert status == 0, text
    assert {r["subject"]: r["split"] for r in read_csv(tmp_path / "set/labels.csv")} == \
        given


def test_no_split_leaves_the_column_empty(recordings, tmp_path):
    folder, rows = recordings
    status, text = run(folder, write_labels(tmp_path / "l.csv", rows), tmp_path / "set",
                       "--no-split")
    assert status == 0, text
    assert {r["split"] for r in read_csv(tmp_path / "set/labels.csv")} == {""}
    split = load_hits(tmp_path / "set")
    assert len(split.y_train) + len(split.y_test) == len(rows)


@pytest.mark.parametrize("require", [False, True], ids=["centred-on-label", "left-out"])
def test_a_label_with_no_event_is_reported(recordings, tmp_path, require):
    folder, rows = recordings
    first = min(float(r[1]) for r in rows if r[0] == "a.wav")
    onset, duration = 2.0, 0.05
    assert onset + duration + 0.5 < first    # quiet flow, before a.wav's first event
    assert detection_around(folder / "a.wav", onset, duration) is None
    labels = write_labels(tmp_path / "l.csv",
                          rows + [["a.wav", f"{onset}", f"{duration}", "solid", "p1"]])
    status, text = run(folder, labels, tmp_path / "set",
                       *(["--require-detection"] if require else []))
    assert status == 0, text
    extra_row = len(rows) + 1
    (m,) = [m for m in read_csv(tmp_path / "set/mismatches.csv")
            if m["kind"] == "label_not_detected"]
    assert (m["recording"], m["label_row"], m["class"]) == ("a.wav", str(extra_row),
                                                            "solid")
    assert "label_not_detected" in text
    events = {int(e["label_row"]): e for e in read_csv(tmp_path / "set/events.csv")}
    if require:
        assert m["action"].startswith("left out")
        assert extra_row not in events and len(events) == len(rows)
    else:
        assert m["action"] == "centred on the label"
        ev = events[extra_row]
        assert ev["centred_on"] == "label"
        _, data = wavfile.read(tmp_path / "set" / ev["file"])
        np.testing.assert_array_equal(
            data, expected_segment(folder / "a.wav", onset + duration / 2))


def test_an_event_missing_from_the_labels_is_an_unlabelled_detection(recordings,
                                                                     tmp_path):
    folder, rows = recordings
    k = next(i for i, r in enumerate(rows) if r[0] == "b.wav" and r[3] == "gaseous")
    name, onset, duration = rows[k][:3]
    d = detection_around(folder / name, float(onset), float(duration))
    labels = write_labels(tmp_path / "l.csv", rows[:k] + rows[k + 1:])
    status, text = run(folder, labels, tmp_path / "set")
    assert status == 0, text
    (m,) = [m for m in read_csv(tmp_path / "set/mismatches.csv")
            if m["kind"] == "detection_not_labelled"]
    assert (m["recording"], m["subject"], m["label_row"]) == ("b.wav", "p2", "")
    assert float(m["detection_onset_s"]) == pytest.approx(d.onset_s, abs=1e-4)
    assert float(m["detection_duration_s"]) == pytest.approx(d.duration_s, abs=1e-4)
    assert len(read_csv(tmp_path / "set/labels.csv")) == len(rows) - 1


def test_an_event_too_near_the_end_is_left_out(recordings, tmp_path):
    folder, rows = recordings
    mine = [r for r in rows if r[0] == "b.wav"]
    last = mine[-1]
    end = float(last[1]) + float(last[2]) + 0.1        # 0.1 s < half a segment (0.23 s)
    cut = tmp_path / "recs"
    write_wav(cut / "b.wav", iq_of(folder / "b.wav")[:int(end * FS)], FS)
    labels = write_labels(tmp_path / "l.csv", mine)
    status, text = run(cut, labels, tmp_path / "set", "--no-split")
    assert status == 0, text
    near = [m for m in read_csv(tmp_path / "set/mismatches.csv")
            if m["kind"] == "too_near_edge"]
    assert [(m["label_row"], m["action"]) for m in near] == [(str(len(mine)), "left out")]
    assert sorted(int(e["label_row"]) for e in read_csv(tmp_path / "set/events.csv")) == \
        list(range(1, len(mine)))
    assert "one subject" in text


def _with_cell(rows, row, col, value):
    changed = [list(r) for r in rows]
    changed[row - 1][col - 1] = value
    return changed


def _first_row_of(rows, name):
    return next(i for i, r in enumerate(rows) if r[0] == name) + 1


def _last_row_of(rows, name):
    return max(i for i, r in enumerate(rows) if r[0] == name) + 1


def _overlapping(rows):
    changed = [list(r) for r in rows]
    changed.insert(3, [rows[1][0], f"{float(rows[1][1]) + 0.005:.4f}", "0.02", "solid",
                       rows[1][4]])
    return changed


_SPLIT = {"a.wav": "train", "b.wav": "train", "c.npz": "test", "d.wav": "test"}

#: name -> rows -> (labels rows or None for a 0-byte file, header, what the message names)
BAD = {
    "missing recording": lambda rows: (
        _with_cell(rows, 2, 1, "gone.wav"), HEADER,
        ["row 2 (line 3), column 1 (recording)", "gone.wav", "no such file"]),
    "not a number": lambda rows: (
        _with_cell(rows, 3, 2, "abc"), HEADER,
        ["row 3 (line 4), column 2 (onset_s)", "expected a number", "'abc'"]),
    "negative onset": lambda rows: (
        _with_cell(rows, 3, 2, "-1.5"), HEADER,
        ["row 3 (line 4), column 2 (onset_s)", ">= 0", "'-1.5'"]),
    "non-finite onset": lambda rows: (
        _with_cell(rows, 1, 2, "nan"), HEADER,
        ["row 1 (line 2), column 2 (onset_s)", "finite", "'nan'"]),
    "zero duration": lambda rows: (
        _with_cell(rows, 4, 3, "0"), HEADER,
        ["row 4 (line 5), column 3 (duration_s)", "> 0", "'0'"]),
    "infinite duration": lambda rows: (
        _with_cell(rows, 4, 3, "inf"), HEADER,
        ["row 4 (line 5), column 3 (duration_s)", "finite", "'inf'"]),
    # c.npz is read after a.wav and b.wav: their segments are already in the temporary
    # folder when the error comes, and must not be left behind.
    "starts past the end": lambda rows: (
        _with_cell(rows, _first_row_of(rows, "c.npz"), 2, "3000"), HEADER,
        [f"row {_first_row_of(rows, 'c.npz')} (line {_first_row_of(rows, 'c.npz') + 1}), "
         f"column 2 (onset_s)", "starts at", "after the end of recording 'c.npz'"]),
    "ends past the end": lambda rows: (
        _with_cell(rows, _last_row_of(rows, "c.npz"), 3, "3000"), HEADER,
        [f"row {_last_row_of(rows, 'c.npz')} (line {_last_row_of(rows, 'c.npz') + 1}), "
         f"column 3 (duration_s)", "ends at", "after the end of recording 'c.npz'"]),
    "unknown class": lambda rows: (
        _with_cell(rows, 5, 4, "bubble"), HEADER,
        ["row 5 (line 6), column 4 (class)", "'bubble'", "artefact, gaseous, solid"]),
    "overlapping events": lambda rows: (
        _overlapping(rows), HEADER,
        ["rows 2 (line 3) and 4 (line 5), column 2 (onset_s)", "overlap",
         f"recording '{rows[1][0]}'"]),
    "two subjects for a recording": lambda rows: (
        _with_cell(rows, 2, 5, "p9"), HEADER,
        ["rows 1 (line 2) and 2 (line 3), column 5 (subject)", "'p1'", "'p9'",
         "one subject per recording"]),
    "one recording named two ways": lambda rows: (
        _with_cell(_with_cell(rows, 2, 1, "./a.wav"), 2, 5, "p9"), HEADER,
        ["rows 1 (line 2) and 2 (line 3), column 5 (subject)", "'p1'", "'p9'"]),
    "subject in both splits": lambda rows: (
        [r + [_SPLIT[r[0]]] for r in rows], HEADER + ["split"],
        [f"rows 1 (line 2) and {_first_row_of(rows, 'd.wav')} "
         f"(line {_first_row_of(rows, 'd.wav') + 1}), column 6 (split)",
         "subject 'p1'", "'train'", "'test'"]),
    "empty file": lambda rows: (None, None, ["header (line 1)", "empty file"]),
    "no rows": lambda rows: ([], HEADER, ["no label rows"]),
    "missing column": lambda rows: (
        [r[:4] for r in rows], HEADER[:4],
        ["header (line 1)", "missing column(s) ['subject']"]),
    "unknown column": lambda rows: (
        [r + ["x"] for r in rows], HEADER + ["Split"],
        ["header (line 1)", "unknown column(s) ['Split']"]),
    "one subject with a split": lambda rows: (
        [r for r in rows if r[4] == "p1"], HEADER,
        ["column 5 (subject)", "one subject ('p1')", "--no-split"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_labels_exit_2_naming_row_and_column_and_write_nothing(recordings, tmp_path,
                                                                   capsys, case):
    folder, rows = recordings
    bad_rows, header, expected = BAD[case](rows)
    labels = tmp_path / "in" / "labels.csv"
    labels.parent.mkdir()
    if header is None:
        labels.write_text("")
    else:
        write_labels(labels, bad_rows, header)
    out_parent = tmp_path / "outputs"
    out_parent.mkdir()
    status = main(["data", "from-recordings", str(folder), "--labels", str(labels),
                   "--out", str(out_parent / "set"), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.startswith(f"attq-fpga: error: {labels}") and err.count("\n") == 1, err
    for part in expected:
        assert part in err, (part, err)
    assert list(out_parent.iterdir()) == []      # no data set, no temporary left behind


def test_a_non_empty_output_folder_is_refused(recordings, tmp_path, capsys):
    folder, rows = recordings
    out = tmp_path / "set"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    status, _ = run(folder, write_labels(tmp_path / "l.csv", rows), out)
    assert status == 2
    assert "not an empty directory" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
