"""``data from-recordings``: the labelled segment data set from a user's own recordings.

Input: a folder of recordings (stereo I/Q WAV or ``.npz``, docs/recording-format.md) and
a labels CSV with one row per labelled event::

    recording,onset_s,duration_s,class,subject[,split]

Output: the data set layout of :mod:`sw.doppler.dataset` (the one ``train hits DIR`` and
``data check hits DIR`` read), ``source`` "recorded", plus ``mismatches.csv``.

Every label row is checked before any recording is read; a label that runs past the end
of its recording is found when that recording is read (only then is its length known),
still before anything is written to the output. Each recording then goes through the
HITS front end (:func:`~sw.doppler.detector.detect`) and its labelled events are matched
to the detections with :func:`~sw.doppler.detector.match_events` (intervals overlapping
once widened by ``tolerance_s``, one to one, largest overlap first). A matched event is
cut by :func:`~sw.doppler.detector.cut_segments` centred on its detection's midpoint, as
``data make hits`` does and as ``attq-fpga infer`` cuts what it classifies.

Mismatches (kind: what happens), each one a row of ``mismatches.csv``:

``label_not_detected``
    A labelled event that no detection matches: cut centred on the label's own midpoint
    (``centred_on`` "label" in events.csv), or left out with ``require_detection``.
``detection_not_labelled``
    A detection that matches no label: not in the data set.
``too_near_edge``
    The 2048-sample segment would run past the recording's start or end: left out,
    rather than zero-padded - padding puts a step into the segment that no other training
    segment has.
``recording_not_labelled``
    A recording in the folder that no label row names: not read.

The split is subject-wise: the labels' ``split`` column when given, else whole subjects
go to the test set until it holds about ``test_fraction`` of the labelled events
(:func:`~sw.doppler.dataset.split_subjects`, decided from the labels before any
recording is read).
"""

import csv
import io
import math
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from tqdm import tqdm

from ..errors import InputError
from .dataset import (SAMPLE_RATE_HZ, SEGMENT_SAMPLES, SegmentDatasetWriter,
                      check_new_dataset_dir, split_subjects)
from .detector import Detection, DetectorParams, cut_segments, detect, match_events
from .recording import CLASSES, TruthEvent, read_recording

__all__ = ["LABEL_COLUMNS", "MISMATCH_KINDS", "MISMATCH_COLUMNS", "LabelRow",
           "read_labels", "dataset_from_recordings"]

#: Required columns of the labels CSV, in their usual order; ``split`` is optional.
LABEL_COLUMNS = ("recording", "onset_s", "duration_s", "class", "subject")
#: The kinds of mismatch reported in mismatches.csv.
MISMATCH_KINDS = ("label_not_detected", "detection_not_labelled", "too_near_edge",
                  "recording_not_labelled")
#: Columns of mismatches.csv.
MISMATCH_COLUMNS = ("kind", "recording", "subject", "label_row", "class", "onset_s",
                    "duration_s", "detection_onset_s", "detection_duration_s", "action")
#: Default widening of the intervals when detections are matched to labels (s): hand
#: labels are placed by eye on a spectrogram, tens of milliseconds off the detector's
#: threshold crossings.
DEFAULT_TOLERANCE_S = 0.05
_RECORDING_SUFFIXES = (".wav", ".npz")
_SPLITS = ("train", "test")
# A label may end this far past the recording's last sample (rounding of hand-typed times),
# as the truth CSV reader allows.
_END_SLACK_S = 1e-3


@dataclass(frozen=True)
class LabelRow:
    """One checked row of the labels CSV."""

    row: int            # data row, from 1
    line: int           # line of the file (header = 1)
    recording: str      # relative to the recordings folder, with '/' (normalised)
    onset_s: float
    duration_s: float
    cls: str
    subject: str
    split: str          # "train", "test" or "" (no split column)

    @property
    def offset_s(self):
        """End of the event in seconds."""
        return self.onset_s + self.duration_s

    @property
    def where(self):
        """``row R (line L)``, for messages."""
        return f"row {self.row} (line {self.line})"


# --------------------------------------------------------------------------- labels CSV


def read_labels(labels_csv, recordings_dir):
    """Read and check the labels CSV against the recordings folder.

    Checks, each failure an :class:`~sw.errors.InputError` naming the file, the row
    (data rows from 1, and the file line) and the column: the header (the columns of
    :data:`LABEL_COLUMNS`, optionally ``split``, nothing else, none twice); every
    ``recording`` a ``.wav`` or ``.npz`` file inside ``recordings_dir``; ``onset_s`` a
    finite number >= 0 and ``duration_s`` a finite number > 0; ``class`` one of
    :data:`~sw.doppler.recording.CLASSES`; a non-empty ``subject``, one per recording;
    ``split`` "train" or "test" on every row or empty on every row, one per subject;
    events of one recording not overlapping; at least one row.

    Returns
    -------
    rows : list of LabelRow
        In the file's order.
    columns : dict
        Column name -> its number in the file (from 1), for messages.
    """
    labels_csv, recordings_dir = Path(labels_csv), Path(recordings_dir)
    if not labels_csv.is_file():
        raise InputError(f"{labels_csv}: no such labels CSV; expected a header "
                         f"{','.join(LABEL_COLUMNS)}[,split] and one row per event")
    if not recordings_dir.is_dir():
        raise InputError(f"{recordings_dir}: no such directory; expected the folder of "
                         f"recordings (.wav or .npz) that the labels name")
    try:
        # utf-8-sig: spreadsheet programs often start a CSV with a byte-order mark.
        with open(labels_csv, newline="", encoding="utf-8-sig") as fh:
            rows, columns = _read_rows(labels_csv, recordings_dir, csv.reader(fh))
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputError(f"{labels_csv}: not a valid UTF-8 CSV file ({exc}); expected a "
                         f"header {','.join(LABEL_COLUMNS)}[,split] and one row per "
                         f"event") from None
    _check_across_rows(labels_csv, rows, columns)
    return rows, columns


def _read_rows(path, recordings_dir, reader):
    header = next(reader, None)
    expected = f"{','.join(LABEL_COLUMNS)} and optionally split"
    if header is None:
        raise InputError(f"{path}: header (line 1): empty file; expected {expected}")
    header = [h.strip() for h in header]
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise InputError(f"{path}: header (line 1): column(s) {twice} given twice; "
                         f"expected {expected}")
    missing = [c for c in LABEL_COLUMNS if c not in header]
    if missing:
        raise InputError(f"{path}: header (line 1): missing column(s) {missing}; expected "
                         f"{expected}")
    unknown = [h for h in header if h not in (*LABEL_COLUMNS, "split")]
    if unknown:
        raise InputError(f"{path}: header (line 1): unknown column(s) {unknown}; expected "
                         f"{expected}")
    col = {name: header.index(name) for name in header}
    rows = []
    for cells in reader:
        if not cells or all(not c.strip() for c in cells):
            continue
        rows.append(_label_row(path, recordings_dir, len(rows) + 1, reader.line_num,
                               cells, header, col))
    if not rows:
        raise InputError(f"{path}: no label rows after the header; expected one row per "
                         f"labelled event")
    return rows, {name: k + 1 for name, k in col.items()}


def _label_row(path, recordings_dir, row_no, line, cells, header, col):
    where = f"{path}: row {row_no} (line {line})"
    if len(cells) != len(header):
        raise InputError(f"{where}: {len(cells)} cells; expected {len(header)} "
                         f"({','.join(header)})")

    def cell(name):
        return cells[col[name]].strip()

    def at(name):
        return f"{where}, column {col[name] + 1} ({name})"

    recording = _check_recording_name(cell("recording"), recordings_dir, at("recording"))

    def number(name):
        text = cell(name)
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"{at(name)}: expected a number (seconds), got "
                             f"{text!r}") from None
        if not math.isfinite(value):
            raise InputError(f"{at(name)}: expected a finite number (seconds), got "
                             f"{text!r}")
        return value
    onset, duration = number("onset_s"), number("duration_s")
    if onset < 0:
        raise InputError(f"{at('onset_s')}: expected a time >= 0 s from the recording's "
                         f"start, got {cell('onset_s')!r}")
    if duration <= 0:
        raise InputError(f"{at('duration_s')}: expected a duration > 0 s, got "
                         f"{cell('duration_s')!r}")
    cls = cell("class")
    if cls not in CLASSES:
        raise InputError(f"{at('class')}: expected one of {', '.join(CLASSES)}, got "
                         f"{cls!r}")
    subject = cell("subject")
    if not subject:
        raise InputError(f"{at('subject')}: expected a subject id, got ''")
    split = cell("split") if "split" in col else ""
    if split not in (*_SPLITS, ""):
        raise InputError(f"{at('split')}: expected 'train' or 'test', got {split!r}")
    return LabelRow(row_no, line, recording, onset, duration, cls, subject, split)


def _check_recording_name(name, recordings_dir, where):
    """``name`` normalised (``./a.wav`` and ``a.wav`` are one recording), checked."""
    if not name:
        raise InputError(f"{where}: expected a recording file name, got ''")
    # Names are relative to the folder and written with '/', so that one labels CSV
    # serves on every system; nothing outside the folder is read.
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or ":" in pure.parts[0]:
        raise InputError(f"{where}: expected a file name relative to {recordings_dir} "
                         f"(no absolute path, no '..'), got {name!r}")
    if pure.suffix.lower() not in _RECORDING_SUFFIXES:
        raise InputError(f"{where}: expected a .wav or .npz recording, got {name!r}")
    if not (recordings_dir / pure).is_file():
        raise InputError(f"{where}: {recordings_dir / pure}: no such file; expected a "
                         f"recording in {recordings_dir}")
    return pure.as_posix()


def _two_rows(a, b):
    return f"rows {a.row} (line {a.line}) and {b.row} (line {b.line})"


def _check_across_rows(path, rows, columns):
    def column(name):
        return f"column {columns[name]} ({name})"
    first_subject = {}
    for r in rows:
        first = first_subject.setdefault(r.recording, r)
        if first.subject != r.subject:
            raise InputError(
                f"{path}: {_two_rows(first, r)}, {column('subject')}: recording "
                f"{r.recording!r} has subject {first.subject!r} in row {first.row} and "
                f"{r.subject!r} in row {r.row}; expected one subject per recording")
    given = {r.split != "" for r in rows}
    if len(given) == 2:
        empty = next(r for r in rows if r.split == "")
        raise InputError(f"{path}: {empty.where}, {column('split')}: empty, but other rows "
                         f"give a split; expected 'train' or 'test' on every row, or an "
                         f"empty split column (then a subject-wise split is made)")
    first_split = {}
    for r in rows:
        first = first_split.setdefault(r.subject, r)
        if first.split != r.split:
            raise InputError(
                f"{path}: {_two_rows(first, r)}, {column('split')}: subject "
                f"{r.subject!r} is in {first.split!r} in row {first.row} and in "
                f"{r.split!r} in row {r.row}; expected each subject in one split "
                f"(a subject-wise split)")
    by_recording = {}
    for r in rows:
        by_recording.setdefault(r.recording, []).append(r)
    for name, events in by_recording.items():
        events = sorted(events, key=lambda r: (r.onset_s, r.row))
        for a, b in zip(events, events[1:]):
            if b.onset_s < a.offset_s:
                first, second = sorted((a, b), key=lambda r: r.row)
                raise InputError(
                    f"{path}: {_two_rows(first, second)}, {column('onset_s')} and "
                    f"{column('duration_s')}: the events overlap in recording {name!r} "
                    f"({a.onset_s:.3f}-{a.offset_s:.3f} s and {b.onset_s:.3f}-"
                    f"{b.offset_s:.3f} s); expected one row per event, events not "
                    f"overlapping")


def _unlabelled_recordings(recordings_dir, named, out_dir):
    """Recordings under ``recordings_dir`` that no label row names (hidden paths and the
    output folder left aside)."""
    out_dir = Path(out_dir).resolve()
    found = []
    for p in sorted(recordings_dir.rglob("*")):
        rel = p.relative_to(recordings_dir)
        if not p.is_file() or p.suffix.lower() not in _RECORDING_SUFFIXES or \
                any(part.startswith(".") for part in rel.parts):
            continue
        if p.resolve().is_relative_to(out_dir):
            continue
        if rel.as_posix() not in named:
            found.append(rel.as_posix())
    return found


# --------------------------------------------------------------------------- the split


def _choose_split(labels_csv, rows, columns, *, write_split, test_fraction, seed):
    """Subject -> "train"/"test" (empty dict without a split), and the rule used."""
    subjects = sorted({r.subject for r in rows})
    column = rows[0].split != ""
    if not write_split:
        if column:
            raise InputError(f"--no-split: {labels_csv}, column {columns['split']} "
                             f"(split): gives a split; expected either the split column "
                             f"or --no-split, not both")
        return {}, "none (--no-split): the loader splits by subject"
    if len(subjects) < 2:
        raise InputError(
            f"{labels_csv}: column {columns['subject']} (subject): one subject "
            f"({subjects[0]!r}) in all {len(rows)} rows; a "
            f"subject-wise train/test split needs at least 2 (no subject may be on both "
            f"sides). Label recordings of more subjects, or give --no-split to write the "
            f"data set without a split (the loader then refuses it too until it holds "
            f"2 subjects)")
    if column:
        splits = {r.subject: r.split for r in rows}
        rule = f"the split column of {labels_csv.name}"
    else:
        sizes = [sum(r.subject == s for r in rows) for s in subjects]
        test = split_subjects(sizes, test_fraction, np.random.default_rng(seed))
        splits = {s: "test" if k in test else "train" for k, s in enumerate(subjects)}
        rule = (f"subject-wise, whole subjects to the test set until it holds about "
                f"{test_fraction:.0%} of the labelled events (seed {seed})")
    for name in _SPLITS:
        if name not in splits.values():
            where = f"column {columns['split']} (split)" if column else \
                "subject-wise split"
            raise InputError(
                f"{labels_csv}: {where}: no subject in {name!r} ({rule}); expected "
                f"subjects in both 'train' and 'test'" +
                ("" if column else "; try another --test-fraction or --seed"))
    return splits, rule


# --------------------------------------------------------------------------- the work


def _mismatch(kind, rec_name, subject, action, label=None, detection=None):
    return {"kind": kind, "recording": rec_name, "subject": subject,
            "label_row": label.row if label else "",
            "class": label.cls if label else "",
            "onset_s": f"{label.onset_s:.4f}" if label else "",
            "duration_s": f"{label.duration_s:.4f}" if label else "",
            "detection_onset_s": f"{detection.onset_s:.4f}" if detection else "",
            "detection_duration_s": f"{detection.duration_s:.4f}" if detection else "",
            "action": action}


def _mismatches_csv_text(mismatches):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=MISMATCH_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(mismatches)
    return buf.getvalue()


def _cut_recording(recordings_dir, name, labels, writer, mismatches, *, labels_csv,
                   columns, detector, tolerance_s, require_detection):
    """Read one recording, match its labels to the front end's detections, add its
    segments to ``writer`` and its mismatches to ``mismatches``; return its summary."""
    labels = sorted(labels, key=lambda r: r.onset_s)
    subject = labels[0].subject
    rec = read_recording(recordings_dir / name, target_rate_hz=detector.sample_rate_hz)
    for r in labels:
        if r.offset_s <= rec.duration_s + _END_SLACK_S:
            continue
        # Blame the onset when the event starts after the end, else its length.
        col = "onset_s" if r.onset_s >= rec.duration_s else "duration_s"
        what = "starts" if col == "onset_s" else "ends"
        time_s = r.onset_s if col == "onset_s" else r.offset_s
        raise InputError(
            f"{labels_csv}: {r.where}, column {columns[col]} ({col}): the event {what} at "
            f"{time_s:.3f} s, after the end of recording {name!r} "
            f"({rec.duration_s:.3f} s); expected events inside the recording")
    detections = detect(rec.iq, detector)
    truth = [TruthEvent(r.onset_s, r.duration_s, r.cls) for r in labels]
    pairs = match_events(detections, truth, tolerance_s)
    matched = {j: detections[i] for i, j in pairs}
    for i in sorted(set(range(len(detections))) - {i for i, _ in pairs}):
        mismatches.append(_mismatch("detection_not_labelled", name, subject,
                                    "not in the data set", detection=detections[i]))
    centres, kept = [], []
    for j, r in enumerate(labels):
        if j in matched:
            centres.append(matched[j])
            kept.append(j)
        elif require_detection:
            mismatches.append(_mismatch("label_not_detected", name, subject,
                                        "left out (--require-detection)", label=r))
        else:
            mismatches.append(_mismatch("label_not_detected", name, subject,
                                        "centred on the label", label=r))
            centres.append(Detection(r.onset_s, r.offset_s, 0.5 * (r.onset_s + r.offset_s),
                                     math.nan, math.nan, True))
            kept.append(j)
    cut = cut_segments(rec.iq, centres, detector)
    written = 0
    for k, j in enumerate(kept):
        r, start = labels[j], int(cut.start_index[k])
        if start < 0 or start + detector.segment_samples > len(rec.iq):
            mismatches.append(_mismatch("too_near_edge", name, subject, "left out",
                                        label=r, detection=matched.get(j)))
            continue
        writer.add(cut.samples[k], r.cls, subject, [
            name, r.row, f"{r.onset_s:.4f}", f"{r.duration_s:.4f}",
            f"{centres[k].centre_s:.4f}", "detection" if j in matched else "label"])
        written += 1
    return {"recording": name, "subject": subject, "duration_s": round(rec.duration_s, 3),
            "source_rate_hz": rec.source_rate_hz, "labels": len(labels),
            "detections": len(detections), "matched": len(pairs), "segments": written}


def dataset_from_recordings(recordings_dir, labels_csv, out_dir, *, test_fraction=0.37,
                            seed=0, write_split=True, require_detection=False,
                            tolerance_s=DEFAULT_TOLERANCE_S, detector=DetectorParams(),
                            progress=True, command=None):
    """Cut the labelled events of one's own recordings into the HITS segment data set.

    Parameters
    ----------
    recordings_dir : str or Path
        Folder of the recordings (stereo I/Q ``.wav`` or ``.npz``) the labels name.
    labels_csv : str or Path
        ``recording,onset_s,duration_s,class,subject[,split]``, one row per event
        (checked by :func:`read_labels`).
    out_dir : str or Path
        The data set folder: must not exist, or be empty. Written atomically.
    test_fraction : float
        Share of the labelled events the subject-wise test split aims at (without a
        split column).
    seed : int
        Seed of that split.
    write_split : bool
        False: leave labels.csv's split column empty (the loader splits by subject).
    require_detection : bool
        Leave out labelled events that the front end does not detect, instead of
        cutting them centred on the label.
    tolerance_s : float
        Widening of the intervals (s) when detections are matched to labels.
    detector : DetectorParams
        Front-end settings; the defaults are those of ``data make hits`` and ``infer``.
    progress : bool
        Show a progress bar over the recordings.
    command : str, optional
        The command line, kept in dataset.json.

    Returns
    -------
    dict
        ``segments``; ``per_class`` (class -> split -> count, split "" without one);
        ``subjects`` (split -> subject ids); ``recordings`` (per recording: subject,
        length, labels, detections, segments); ``mismatches`` (the rows of
        mismatches.csv, as dicts of :data:`MISMATCH_COLUMNS`); ``mismatch_counts``
        (kind -> count); ``split_rule``.

    Raises
    ------
    InputError
        Bad labels (see :func:`read_labels`), a label past its recording's end, a
        recording the reader refuses, a single subject or an empty split with a split
        asked, an existing non-empty ``out_dir``, or no segment left to write.
    """
    recordings_dir, labels_csv, out_dir = Path(recordings_dir), Path(labels_csv), \
        Path(out_dir)
    if not (0.0 < test_fraction < 1.0):
        raise InputError(f"--test-fraction {test_fraction}: expected 0 < f < 1")
    if not (tolerance_s >= 0.0 and math.isfinite(tolerance_s)):
        raise InputError(f"--tolerance-s {tolerance_s}: expected a number of seconds >= 0")
    check_new_dataset_dir(out_dir)
    if (detector.segment_samples, detector.sample_rate_hz) != (SEGMENT_SAMPLES,
                                                               SAMPLE_RATE_HZ):
        raise ValueError("the data set layout is 2048-sample segments at 4400 Hz; "
                         f"got {detector.segment_samples} at {detector.sample_rate_hz}")
    rows, columns = read_labels(labels_csv, recordings_dir)
    splits, rule = _choose_split(labels_csv, rows, columns, write_split=write_split,
                                 test_fraction=test_fraction, seed=seed)
    by_recording = {}
    for r in rows:
        by_recording.setdefault(r.recording, []).append(r)
    unlisted = _unlabelled_recordings(recordings_dir, by_recording, out_dir)
    mismatches = [_mismatch("recording_not_labelled", name, "", "not read")
                  for name in unlisted]

    per_recording = []
    with SegmentDatasetWriter(out_dir, ["recording", "label_row", "onset_s", "duration_s",
                                        "centre_s", "centred_on"]) as writer:
        names = sorted(by_recording)
        with tqdm(total=len(names), unit="recording", desc="data from-recordings",
                  disable=not progress) as bar:
            for name in names:
                per_recording.append(_cut_recording(
                    recordings_dir, name, by_recording[name], writer, mismatches,
                    labels_csv=labels_csv, columns=columns, detector=detector,
                    tolerance_s=tolerance_s, require_detection=require_detection))
                bar.update(1)

        subject_of = [s for _, _, s in writer.segments]
        class_of = [c for _, c, _ in writer.segments]
        # One table in the order a reader checks it: recording by recording, in time.
        mismatches.sort(key=lambda m: (m["kind"] == "recording_not_labelled",
                                       m["recording"],
                                       float(m["onset_s"] or m["detection_onset_s"] or 0)))
        if not subject_of:
            raise InputError(f"{labels_csv}: no segment could be cut from the "
                             f"{len(rows)} labelled events ({_counts_text(mismatches)}); "
                             f"expected at least one")
        for name in (_SPLITS if splits else ()):
            if not any(splits[s] == name for s in subject_of):
                raise InputError(f"{labels_csv}: no segment left in the {name!r} split "
                                 f"({_counts_text(mismatches)}); expected segments on "
                                 f"both sides")
        counts = {kind: sum(m["kind"] == kind for m in mismatches)
                  for kind in MISMATCH_KINDS}
        per_class = {c: {} for c in CLASSES}
        for cls, s in zip(class_of, subject_of):
            split = splits.get(s, "")
            per_class[cls][split] = per_class[cls].get(split, 0) + 1
        subjects = {}
        for s in sorted(set(subject_of)):
            subjects.setdefault(splits.get(s, ""), []).append(s)
        generator = {"command": command, "recordings": str(recordings_dir),
                     "labels": str(labels_csv), "label_rows": len(rows),
                     "split": rule, "seed": seed, "test_fraction": test_fraction,
                     "tolerance_s": tolerance_s, "require_detection": require_detection,
                     "segments": {c: per_class[c] for c in CLASSES},
                     "subjects": [{"subject": s, "split": splits.get(s, ""),
                                   "segments": subject_of.count(s)}
                                  for s in sorted(set(subject_of))],
                     "recordings_read": per_recording,
                     "recordings_not_labelled": unlisted,
                     "mismatches": counts, "front_end": asdict(detector)}
        writer.commit(
            source="recorded",
            description=(f"Labelled transcranial Doppler recordings ({labels_csv.name}): "
                         f"segments cut by the HITS front end (sw.doppler.detector), "
                         f"centred on the detection matched to each labelled event "
                         f"(on the label where none matched); mismatches in "
                         f"mismatches.csv."),
            generator=generator, splits=splits,
            extra_files={"mismatches.csv": _mismatches_csv_text(mismatches)})
    return {"segments": len(subject_of), "per_class": per_class, "subjects": subjects,
            "recordings": per_recording, "mismatches": mismatches,
            "mismatch_counts": counts, "split_rule": rule}


def _counts_text(mismatches):
    counts = {kind: sum(m["kind"] == kind for m in mismatches) for kind in MISMATCH_KINDS}
    return ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "no mismatches"
