"""Loader of the labelled HITS segment dataset (layout: docs/data.md, "HITS").

``attq-fpga data make hits`` writes this layout from the Doppler simulator; a user's own
labelled recordings in the same layout load the same way::

    DIR/dataset.json      format "attq-hits-segments", version 1, sample_rate_hz,
                          segment_samples, classes, source, description
    DIR/labels.csv        header exactly: file,class,subject,split
    DIR/segments/...wav   stereo (I, Q), sample_rate_hz, segment_samples frames,
                          16-bit PCM or 32-bit float
"""

import csv
import json
import warnings
from pathlib import Path

import numpy as np

from ..errors import InputError
from . import Split

__all__ = ["load_hits", "read_hits_dataset", "subject_split", "LABELS_HEADER",
           "FORMAT", "VERSION", "TRAIN_FRACTION"]

FORMAT = "attq-hits-segments"
VERSION = 1
LABELS_HEADER = ["file", "class", "subject", "split"]
#: Share of the samples in the training set when labels.csv leaves the split empty: the
#: paper's 63 % / 37 % subject-wise split.
TRAIN_FRACTION = 0.63


def _read_meta(directory):
    meta_path = directory / "dataset.json"
    if not meta_path.is_file():
        raise InputError(f"{meta_path}: file not found (expected the HITS dataset "
                         f"description; is {directory} a dataset written by "
                         "'attq-fpga data make hits'?)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{meta_path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{meta_path}: expected a JSON object")
    if meta.get("format") != FORMAT:
        raise InputError(f"{meta_path}: field 'format': expected {FORMAT!r}, "
                         f"got {meta.get('format')!r}")
    if meta.get("version") != VERSION:
        raise InputError(f"{meta_path}: field 'version': expected {VERSION}, "
                         f"got {meta.get('version')!r}")
    for key in ("sample_rate_hz", "segment_samples"):
        value = meta.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise InputError(f"{meta_path}: field {key!r}: expected a positive integer, "
                             f"got {value!r}")
    classes = meta.get("classes")
    if (not isinstance(classes, list) or len(classes) < 2
            or not all(isinstance(c, str) and c for c in classes)
            or len(set(classes)) != len(classes)):
        raise InputError(f"{meta_path}: field 'classes': expected a list of at least two "
                         f"distinct non-empty names, got {classes!r}")
    if meta.get("source") not in ("simulated", "recorded"):
        raise InputError(f"{meta_path}: field 'source': expected 'simulated' or "
                         f"'recorded', got {meta.get('source')!r}")
    return meta


def _read_labels(directory, classes):
    labels_path = directory / "labels.csv"
    if not labels_path.is_file():
        raise InputError(f"{labels_path}: file not found (expected the segment labels, "
                         "header file,class,subject,split)")
    try:
        return labels_path, _parse_labels(labels_path, classes)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputError(f"{labels_path}: not a valid UTF-8 CSV file ({exc})") from None


def _parse_labels(labels_path, classes):
    rows = []
    with open(labels_path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != LABELS_HEADER:
            raise InputError(f"{labels_path}: header (line 1): expected exactly "
                             f"{','.join(LABELS_HEADER)}, got "
                             f"{'(empty file)' if header is None else ','.join(header)}")
        row_no = 0
        seen = {}
        for cells in reader:
            if not cells or all(not c.strip() for c in cells):
                continue
            row_no += 1
            where = f"{labels_path}: row {row_no} (line {reader.line_num})"
            if len(cells) != len(LABELS_HEADER):
                raise InputError(f"{where}: expected 4 columns (file,class,subject,split), "
                                 f"found {len(cells)}")
            file, cls, subject, split = (c.strip() for c in cells)
            if not file:
                raise InputError(f"{where}, column 1 (file): expected a WAV path, got ''")
            if file in seen:
                raise InputError(f"{where}, column 1 (file): {file!r} is listed twice "
                                 f"(first in row {seen[file]})")
            seen[file] = row_no
            if cls not in classes:
                raise InputError(f"{where}, column 2 (class): expected one of "
                                 f"{classes} (dataset.json 'classes'), got {cls!r}")
            if not subject:
                raise InputError(f"{where}, column 3 (subject): expected a subject id, got ''")
            if split not in ("train", "test", ""):
                raise InputError(f"{where}, column 4 (split): expected 'train', 'test' or "
                                 f"empty, got {split!r}")
            rows.append((row_no, reader.line_num, file, cls, subject, split))
    if not rows:
        raise InputError(f"{labels_path}: no segments listed after the header")
    given = {r[5] != "" for r in rows}
    if len(given) == 2:
        first_empty = next(r for r in rows if r[5] == "")
        raise InputError(f"{labels_path}: row {first_empty[0]} (line {first_empty[1]}), "
                         "column 4 (split): empty, but other rows give a split: expected "
                         "'train'/'test' on every row, or on none (then a subject-wise "
                         "split is made)")
    return rows


def _read_wav(path, where, rate, n_frames):
    from scipy.io import wavfile

    if not path.is_file():
        raise InputError(f"{where}, column 1 (file): {path}: file not found (expected a "
                         "stereo I/Q WAV)")
    try:
        with warnings.catch_warnings():
            # scipy warns about unknown chunks (e.g. LIST metadata); they are harmless.
            warnings.simplefilter("ignore", wavfile.WavFileWarning)
            file_rate, data = wavfile.read(path)
    # scipy's reader fails on a damaged header with whatever its unpacking and arithmetic
    # raise (struct.error, ZeroDivisionError for 0 channels, UnboundLocalError without a
    # 'fmt ' chunk...): any failure there means the file is not a readable WAV.
    except Exception as exc:
        raise InputError(f"{where}, column 1 (file): {path}: not a readable WAV "
                         f"({type(exc).__name__}: {exc})") from None
    if file_rate != rate:
        raise InputError(f"{path}: sample rate {file_rate} Hz: expected {rate} Hz "
                         f"(dataset.json sample_rate_hz; listed in {where})")
    channels = 1 if data.ndim == 1 else data.shape[1]
    if channels != 2:
        raise InputError(f"{path}: {channels} channel(s): expected 2 (channel 0 = I, "
                         f"channel 1 = Q; listed in {where})")
    if data.shape[0] != n_frames:
        raise InputError(f"{path}: {data.shape[0]} frames: expected {n_frames} "
                         f"(dataset.json segment_samples; listed in {where})")
    if data.dtype == np.int16:
        return data.T.astype(np.float32) / np.float32(32768.0)
    if data.dtype == np.float32:
        if not np.all(np.isfinite(data)):
            raise InputError(f"{path}: non-finite samples (NaN or inf): expected finite "
                             f"I/Q values (listed in {where})")
        return np.ascontiguousarray(data.T)
    raise InputError(f"{path}: sample format {data.dtype}: expected 16-bit PCM or 32-bit "
                     f"float (listed in {where})")


def read_hits_dataset(directory):
    """Read and check a HITS segment dataset.

    Returns
    -------
    meta : dict
        dataset.json.
    x : numpy.ndarray
        float32 ``[N, 2, segment_samples]`` (I, Q); 16-bit PCM is scaled by 1/32768.
    y : numpy.ndarray
        int64 class indices into ``meta["classes"]``.
    subjects : numpy.ndarray
        str, the subject of each segment.
    splits : numpy.ndarray
        str, "train", "test" or "" per segment, as written.

    Raises
    ------
    InputError
        Naming the file and, for labels.csv, the row and column of the problem.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"{directory}: directory not found (expected a HITS dataset "
                         "with dataset.json, labels.csv and segments/)")
    meta = _read_meta(directory)
    classes = meta["classes"]
    labels_path, rows = _read_labels(directory, classes)
    from tqdm import tqdm

    x = np.empty((len(rows), 2, meta["segment_samples"]), dtype=np.float32)
    for i, (row_no, line_no, file, _, _, _) in enumerate(
            tqdm(rows, desc=f"reading {directory.name}", unit="seg", leave=False,
                 disable=len(rows) < 500)):
        where = f"{labels_path}: row {row_no} (line {line_no})"
        x[i] = _read_wav(directory / file, where, meta["sample_rate_hz"],
                         meta["segment_samples"])
    y = np.array([classes.index(r[3]) for r in rows], dtype=np.int64)
    subjects = np.array([r[4] for r in rows])
    splits = np.array([r[5] for r in rows])
    return meta, x, y, subjects, splits


def subject_split(subjects, *, seed=0, train_fraction=TRAIN_FRACTION):
    """Split samples by subject: no subject has samples on both sides.

    The distinct subjects are put in a seeded random order; the training set takes the
    first subjects of that order, as many as bring its share of the *samples* closest to
    ``train_fraction`` while leaving at least one subject for the test set.

    Parameters
    ----------
    subjects : array_like of str
        Subject id of each sample.

    Returns
    -------
    train_idx, test_idx : numpy.ndarray
        Sorted sample indices.
    """
    subjects = np.asarray(subjects)
    names, inverse, counts = np.unique(subjects, return_inverse=True, return_counts=True)
    if len(names) < 2:
        raise InputError(f"subject-wise split: expected at least 2 subjects, got "
                         f"{len(names)} ({', '.join(map(str, names))}); give the split "
                         "column in labels.csv instead")
    order = np.random.default_rng(seed).permutation(len(names))
    cumulative = np.cumsum(counts[order])[:-1]          # at least one subject left for test
    k = int(np.argmin(np.abs(cumulative - train_fraction * len(subjects)))) + 1
    in_train = np.zeros(len(names), dtype=bool)
    in_train[order[:k]] = True
    mask = in_train[inverse]
    return np.flatnonzero(mask), np.flatnonzero(~mask)


def load_hits(directory, *, seed=0):
    """Load a labelled HITS segment dataset as a train/test :class:`~sw.data.Split`.

    Parameters
    ----------
    directory : path-like
        The dataset folder (dataset.json, labels.csv, segments/).
    seed : int
        Seed of the subject-wise split; used only when labels.csv leaves ``split`` empty.

    Returns
    -------
    Split
        ``x`` float32 ``[N, 2, segment_samples]`` (I, Q), ``y`` indices into
        dataset.json ``classes``, ``source`` from dataset.json ("simulated" or
        "recorded"). The split is labels.csv's ``split`` column when given, else a
        subject-wise ~63 % / 37 % split (:func:`subject_split`).
    """
    directory = Path(directory)
    meta, x, y, subjects, splits = read_hits_dataset(directory)
    if splits[0]:
        idx_train, idx_test = np.flatnonzero(splits == "train"), np.flatnonzero(splits == "test")
        rule = "split column of labels.csv"
    else:
        idx_train, idx_test = subject_split(subjects, seed=seed)
        rule = f"subject-wise {TRAIN_FRACTION:.0%}/{1 - TRAIN_FRACTION:.0%} split, seed {seed}"
    counts = ", ".join(f"{n} {c}" for c, n in zip(meta["classes"],
                                                   np.bincount(y, minlength=len(meta["classes"]))))
    description = (f"HITS {meta['source']} segments from {directory.name}: {len(y)} "
                   f"({counts}), {len(np.unique(subjects))} subjects, "
                   f"{meta['segment_samples']} I/Q samples at {meta['sample_rate_hz']} Hz; "
                   f"{rule}")
    if meta.get("description"):
        description += f". {meta['description']}"
    return Split(x_train=x[idx_train], y_train=y[idx_train],
                 x_test=x[idx_test], y_test=y[idx_test],
                 classes=list(meta["classes"]), source=meta["source"],
                 description=description)
