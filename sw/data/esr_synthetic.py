"""A small generated stand-in for the ESR CSV, written in the real file's format.

The real Epileptic Seizure Recognition CSV cannot be downloaded here. Tests and the ESR
model's path to hardware use this file instead. It is SYNTHETIC: the rows are not EEG,
every id starts with "synthetic" (so :func:`sw.data.esr.load_esr` labels the split
``source="synthetic"``), and no accuracy is claimed on it.

What is generated (one second at 178 Hz per row, integers as in the real file):

- y in 2..5 (non-seizure): an AR(1) background (pole 0.9, a 1/f-like spectrum) plus an
  alpha-band sinusoid at 8..12 Hz, amplitudes of tens of microvolt-like units.
- y == 1 (seizure): a rhythmic spike-and-wave train at 2.5..4.5 Hz, spikes several times
  larger than the background, on top of the same kind of background.

Because the loader min-max scales each row, the amplitude alone would be lost; the
rhythmic sharp spikes keep the classes separable by shape.
"""

import csv
import io
from pathlib import Path

import numpy as np

from ..atomic import write_text
from .esr import ESR_HEADER, N_SAMPLES

__all__ = ["write_synthetic_esr", "FS_HZ"]

#: Sample rate of the ESR rows (178 samples are one second).
FS_HZ = 178.0


def _background(rng, n):
    noise = rng.normal(0.0, 1.0, size=N_SAMPLES + 100)
    ar = np.empty_like(noise)
    ar[0] = noise[0]
    for i in range(1, len(noise)):
        ar[i] = 0.9 * ar[i - 1] + noise[i]
    ar = ar[100:] / ar[100:].std()
    t = np.arange(N_SAMPLES) / FS_HZ
    alpha = np.sin(2 * np.pi * rng.uniform(8.0, 12.0) * t + rng.uniform(0, 2 * np.pi))
    return n * (ar + rng.uniform(0.3, 1.0) * alpha)


def _seizure(rng):
    t = np.arange(N_SAMPLES) / FS_HZ
    rate = rng.uniform(2.5, 4.5)
    phase = rng.uniform(0.0, 1.0 / rate)
    spikes = np.zeros(N_SAMPLES)
    for t0 in np.arange(phase - 1.0 / rate, 1.0 + 1.0 / rate, 1.0 / rate):
        # A sharp spike (a few ms wide) followed by a slow wave of opposite sign.
        spikes += -np.exp(-0.5 * ((t - t0) / 0.012) ** 2)
        spikes += 0.4 * np.exp(-0.5 * ((t - t0 - 0.08) / 0.04) ** 2)
    return rng.uniform(300.0, 700.0) * spikes + _background(rng, rng.uniform(20.0, 60.0))


def write_synthetic_esr(path, *, n_rows=1150, seed=0):
    """Write a synthetic CSV in the ESR format (header "", X1..X178, y).

    Parameters
    ----------
    path : path-like
        Output CSV; written atomically.
    n_rows : int
        Number of rows; spread evenly over y = 1..5 as in the real file (one fifth is
        seizure). The default is a tenth of the real 11500.
    seed : int
        Seed of the generator; the same seed writes the same file.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    if n_rows < 5:
        raise ValueError(f"n_rows: expected at least 5 (one per label), got {n_rows}")
    rng = np.random.default_rng(seed)
    labels = np.arange(n_rows) % 5 + 1
    rng.shuffle(labels)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([""] + ESR_HEADER)
    for i, y in enumerate(labels, start=1):
        if y == 1:
            signal = _seizure(rng)
        else:
            signal = _background(rng, rng.uniform(20.0, 60.0))
        # Ids mimic the real "X21.V1.791" (chunk, patient, row) with "synthetic" in front.
        writer.writerow([f"synthetic.V{y}.{i}"] + [int(v) for v in np.rint(signal)] + [int(y)])
    path = Path(path)
    write_text(path, out.getvalue())
    return path
