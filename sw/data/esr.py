"""Loader of the Epileptic Seizure Recognition (ESR) CSV, binary seizure versus rest.

The public file (UCI / Kaggle "Epileptic Seizure Recognition") has a header and 11500
rows: an id column whose header is empty or "Unnamed: 0" (ids such as "X21.V1.791"),
178 EEG samples X1..X178 (one second) and the label y in 1..5, where 1 is seizure
activity. The file cannot be downloaded here: the user gives its path.
"""

import csv
from pathlib import Path

import numpy as np

from ..errors import InputError
from . import Split
from ..program.transform import InputTransform, MinMax
from .transform import apply_transform

__all__ = ["load_esr", "read_esr_csv", "per_class_split",
           "ESR_CLASSES", "ESR_HEADER", "N_SAMPLES", "ROW_SCALING"]

N_SAMPLES = 178

#: The authors' ESR scaling, each row to [0, 1] on its own: the first step of every ESR
#: model's input transform (``sw.models.registry.PRESET_INPUTS``), and what
#: :func:`load_esr` gives unless ``raw=True``.
ROW_SCALING = InputTransform((MinMax(),))
#: Header of the public file after the id column.
ESR_HEADER = [f"X{i}" for i in range(1, N_SAMPLES + 1)] + ["y"]
#: Accepted headers of the id column (empty in the original, "Unnamed: 0" once pandas
#: has re-saved it).
ID_HEADERS = ("", "Unnamed", "Unnamed: 0")
#: Binary classes: y == 1 is class 0, y in 2..5 is class 1 (as the authors' code).
ESR_CLASSES = ["seizure", "non-seizure"]


def read_esr_csv(path):
    """Read and check an ESR CSV.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    ids : list of str
    signals : numpy.ndarray
        float64 ``[N, 178]`` as written in the file.
    y : numpy.ndarray
        int64 ``[N]``, the original labels 1..5.

    Raises
    ------
    InputError
        A missing file, a wrong header, a row with the wrong number of columns, a cell
        that is not a finite number, or y outside 1..5: the message names the file, the
        row (data rows count from 1 after the header; the file line is given too) and
        the column.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found (expected the Epileptic Seizure "
                         "Recognition CSV: id, X1..X178, y)")
    n_cols = 1 + len(ESR_HEADER)
    ids, rows, labels = [], [], []
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc
    with fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise InputError(f"{path}: empty file (expected a header: id, X1..X178, y)") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: line 1: not a CSV header ({exc})") from None
        header = [h.strip() for h in header]
        if len(header) != n_cols:
            raise InputError(f"{path}: header (line 1): expected {n_cols} columns "
                             f"(id, X1..X178, y), found {len(header)}")
        if header[0] not in ID_HEADERS:
            raise InputError(f"{path}: header (line 1), column 1: expected the id column "
                             f"named '' or 'Unnamed' or 'Unnamed: 0', got {header[0]!r}")
        for col, (got, want) in enumerate(zip(header[1:], ESR_HEADER), start=2):
            if got != want:
                raise InputError(f"{path}: header (line 1), column {col}: expected "
                                 f"{want!r}, got {got!r}")
        row_no = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except (csv.Error, UnicodeDecodeError) as exc:
                raise InputError(f"{path}: line {reader.line_num}: not valid CSV ({exc})") from None
            if not cells or all(not c.strip() for c in cells):
                continue
            row_no += 1
            where = f"{path}: row {row_no} (line {reader.line_num})"
            if len(cells) != n_cols:
                raise InputError(f"{where}: expected {n_cols} columns (id, X1..X178, y), "
                                 f"found {len(cells)}")
            values = np.empty(len(ESR_HEADER), dtype=np.float64)
            for j, cell in enumerate(cells[1:]):
                try:
                    values[j] = float(cell)
                except ValueError:
                    raise InputError(f"{where}, column {j + 2} ({ESR_HEADER[j]}): expected "
                                     f"a number, got {cell!r}") from None
                if not np.isfinite(values[j]):
                    raise InputError(f"{where}, column {j + 2} ({ESR_HEADER[j]}): expected "
                                     f"a finite number, got {cell!r}")
            y = values[-1]
            if y != int(y) or not 1 <= y <= 5:
                raise InputError(f"{where}, column {n_cols} (y): expected a label 1..5, "
                                 f"got {cells[-1]!r}")
            ids.append(cells[0])
            rows.append(values[:-1])
            labels.append(int(y))
    if not rows:
        raise InputError(f"{path}: no data rows after the header")
    return ids, np.stack(rows), np.asarray(labels, dtype=np.int64)


def per_class_split(y, test_fraction, seed):
    """Split indices class by class: ``round(n_c * test_fraction)`` of each class to test.

    Returns sorted ``(train_idx, test_idx)``; seeded with ``numpy.random.default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(len(idx) * test_fraction))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def load_esr(path, *, seed=0, test_fraction=0.2, source=None, raw=False):
    """Load the ESR CSV as a binary seizure-versus-rest split.

    Parameters
    ----------
    path : path-like
        The CSV (the real public file, or a stand-in written by
        :func:`sw.data.esr_synthetic.write_synthetic_esr`).
    seed : int
        Seed of the per-class split.
    test_fraction : float
        Share of each class put in the test set (0.2 as the authors' code; the paper's
        text says 10 %).
    source : str, optional
        "real" or "synthetic"; by default "synthetic" when every id starts with
        "synthetic" (as the generated stand-in writes them), else "real".
    raw : bool
        True: ``x`` holds the rows as the CSV gives them (float64), for a model's input
        transform (:func:`sw.data.transform.apply_transform`) to scale.

    Returns
    -------
    Split
        ``x`` float32 ``[N, 1, 178]``, each row min-max scaled to [0, 1]
        (:data:`ROW_SCALING`); ``y`` 0 for seizure (y == 1) and 1 for the rest (y in
        2..5); classes ``ESR_CLASSES``.
    """
    if not 0.0 < test_fraction < 1.0:
        raise InputError(f"test_fraction: expected a value in (0, 1), got {test_fraction}")
    path = Path(path)
    ids, signals, y5 = read_esr_csv(path)
    if source is None:
        source = "synthetic" if all(i.startswith("synthetic") for i in ids) else "real"
    x = signals[:, None, :]
    if not raw:
        x = apply_transform(ROW_SCALING, x)
    y = np.where(y5 == 1, 0, 1).astype(np.int64)
    idx_train, idx_test = per_class_split(y, test_fraction, seed)
    kind = ("SYNTHETIC stand-in (generated, not EEG; no accuracy is claimed on it)"
            if source == "synthetic" else "Epileptic Seizure Recognition EEG")
    counts = np.bincount(y, minlength=2)
    return Split(
        x_train=x[idx_train], y_train=y[idx_train],
        x_test=x[idx_test], y_test=y[idx_test],
        classes=list(ESR_CLASSES), source=source,
        description=(f"ESR {kind} from {path.name}: {len(y)} rows ({counts[0]} seizure, "
                     f"{counts[1]} non-seizure), "
                     f"{'unscaled' if raw else 'per-sample min-max to [0, 1]'}; per-class "
                     f"{1 - test_fraction:.0%}/{test_fraction:.0%} train/test split, seed {seed}"))
