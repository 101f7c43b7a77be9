"""ESR loader and its synthetic stand-in, on fixtures written in the real CSV format."""

import csv

import numpy as np
import pytest

from sw.data.esr import load_esr, read_esr_csv
from sw.data.esr_synthetic import write_synthetic_esr
from sw.errors import InputError

HEADER = [""] + [f"X{i}" for i in range(1, 179)] + ["y"]


def _signal(k):
    """Row k's 178 values: a ramp from -50 to 127 with a spike of 1000 at position k.

    The spike makes each row identifiable after scaling (its argmax is k).
    """
    values = list(range(-50, 128))
    values[k] = 1000
    return values


def _write(path, rows, header=HEADER):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _fixture_rows(n_per_label=10):
    rows, labels = [], []
    for k in range(5 * n_per_label):
        y = k % 5 + 1
        rows.append([f"X{k}.V1.{k}"] + _signal(k) + [y])
        labels.append(y)
    return rows, labels


def test_loader_on_small_fixture_mapping_scaling_and_per_class_split(tmp_path):
    path = tmp_path / "esr.csv"
    rows, labels = _fixture_rows()
    _write(path, rows)
    split = load_esr(path, seed=0, test_fraction=0.2)
    assert split.classes == ["seizure", "non-seizure"]
    assert split.source == "real"
    assert split.x_train.shape == (40, 1, 178) and split.x_test.shape == (10, 1, 178)
    # Per class: 10 seizure rows -> 2 test, 40 others -> 8 test.
    assert np.bincount(split.y_test).tolist() == [2, 8]
    assert np.bincount(split.y_train).tolist() == [8, 32]
    seen = []
    for x, y in ((split.x_train, split.y_train), (split.x_test, split.y_test)):
        for sample, label in zip(x[:, 0], y):
            k = int(np.argmax(sample))
            seen.append(k)
            # Binary mapping by hand: y == 1 is class 0, y in 2..5 class 1.
            assert label == (0 if labels[k] == 1 else 1)
            # Min-max by hand: the minimum is -50 (-49 when the spike replaced it), the
            # maximum the spike of 1000.
            raw = np.array(_signal(k), dtype=float)
            low = -49.0 if k == 0 else -50.0
            assert np.allclose(sample, (raw - low) / (1000.0 - low), atol=1e-6)
            assert sample.min() == 0.0 and sample.max() == 1.0
    assert sorted(seen) == list(range(50))


def test_split_is_seeded(tmp_path):
    path = tmp_path / "esr.csv"
    _write(path, _fixture_rows()[0])
    a, b, c = (load_esr(path, seed=s) for s in (4, 4, 5))
    assert np.array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_test, c.x_test)


@pytest.mark.parametrize("id_header", ["", "Unnamed", "Unnamed: 0"])
def test_id_header_variants_accepted(tmp_path, id_header):
    path = tmp_path / "esr.csv"
    _write(path, _fixture_rows(1)[0], header=[id_header] + HEADER[1:])
    assert len(read_esr_csv(path)[0]) == 5


def test_constant_row_scales_to_zeros(tmp_path):
    path = tmp_path / "esr.csv"
    rows = [["a"] + [7] * 178 + [1], ["b"] + _signal(3) + [2]]
    _write(path, rows)
    split = load_esr(path, test_fraction=0.5)
    x = np.concatenate([split.x_train, split.x_test])
    assert np.isfinite(x).all()
    assert any((s == 0).all() for s in x[:, 0])


def _bad_file(tmp_path, row_index, column, value):
    path = tmp_path / "bad.csv"
    rows, _ = _fixture_rows(1)
    rows[row_index][column] = value
    _write(path, rows)
    return path


@pytest.mark.parametrize("row_index, column, value, message", [
    (2, 7, "abc", "row 3 (line 4), column 8 (X7): expected a number, got 'abc'"),
    (0, 178, "nan", "row 1 (line 2), column 179 (X178): expected a finite number, got 'nan'"),
    (4, 179, "6", "row 5 (line 6), column 180 (y): expected a label 1..5, got '6'"),
    (1, 179, "0", "row 2 (line 3), column 180 (y): expected a label 1..5, got '0'"),
    (1, 179, "2.5", "row 2 (line 3), column 180 (y): expected a label 1..5, got '2.5'"),
])
def test_bad_cells_exact_messages(tmp_path, row_index, column, value, message):
    path = _bad_file(tmp_path, row_index, column, value)
    with pytest.raises(InputError) as err:
        load_esr(path)
    assert str(err.value) == f"{path}: {message}"


def test_wrong_column_count_and_header(tmp_path):
    path = tmp_path / "short.csv"
    rows, _ = _fixture_rows(1)
    rows[3] = rows[3][:-1]
    _write(path, rows)
    with pytest.raises(InputError) as err:
        load_esr(path)
    assert str(err.value) == (f"{path}: row 4 (line 5): expected 180 columns "
                              "(id, X1..X178, y), found 179")

    path = tmp_path / "header.csv"
    _write(path, _fixture_rows(1)[0], header=HEADER[:5] + ["X5b"] + HEADER[6:])
    with pytest.raises(InputError) as err:
        load_esr(path)
    assert str(err.value) == f"{path}: header (line 1), column 6: expected 'X5', got 'X5b'"

    path = tmp_path / "idheader.csv"
    _write(path, _fixture_rows(1)[0], header=["id"] + HEADER[1:])
    with pytest.raises(InputError) as err:
        load_esr(path)
    assert str(err.value).startswith(f"{path}: header (line 1), column 1: expected the id column")

    path = tmp_path / "narrow.csv"
    _write(path, [], header=HEADER[:-1])
    with pytest.raises(InputError, match=r"narrow.csv: header \(line 1\): expected 180 columns"):
        load_esr(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="nothere.csv: file not found"):
        load_esr(tmp_path / "nothere.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty.csv: empty file"):
        load_esr(tmp_path / "empty.csv")
    _write(tmp_path / "headeronly.csv", [])
    with pytest.raises(InputError, match="headeronly.csv: no data rows"):
        load_esr(tmp_path / "headeronly.csv")


def test_synthetic_file_format_labels_and_determinism(tmp_path):
    a = write_synthetic_esr(tmp_path / "a.csv", n_rows=250, seed=7)
    b = write_synthetic_esr(tmp_path / "b.csv", n_rows=250, seed=7)
    c = write_synthetic_esr(tmp_path / "c.csv", n_rows=250, seed=8)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    with open(a, newline="") as fh:
        reader = csv.reader(fh)
        assert next(reader) == HEADER
        rows = list(reader)
    assert len(rows) == 250
    assert all(r[0].startswith("synthetic.V") for r in rows)
    assert sorted(np.bincount([int(r[-1]) for r in rows])[1:].tolist()) == [50] * 5
    # Integers as in the real file.
    assert all(float(v).is_integer() for r in rows[:20] for v in r[1:])
    split = load_esr(a)
    assert split.source == "synthetic"
    assert "SYNTHETIC" in split.description


def test_synthetic_default_size_split_and_learnability(tmp_path):
    from sklearn.linear_model import LogisticRegression

    path = write_synthetic_esr(tmp_path / "syn.csv")
    _, raw, y5 = read_esr_csv(path)
    assert raw.shape == (1150, 178)
    # Seizure rows have a larger amplitude than the rest, as in real ESR data.
    assert raw[y5 == 1].std(axis=1).mean() > 2 * raw[y5 != 1].std(axis=1).mean()
    split = load_esr(path)
    # 230 seizure rows -> 46 test; 920 others -> 184 test.
    assert np.bincount(split.y_test).tolist() == [46, 184]
    assert np.bincount(split.y_train).tolist() == [184, 736]

    def features(x):
        centred = x[:, 0] - x[:, 0].mean(axis=1, keepdims=True)
        return np.abs(np.fft.rfft(centred))

    model = LogisticRegression(max_iter=2000).fit(features(split.x_train), split.y_train)
    assert model.score(features(split.x_test), split.y_test) > 0.9
