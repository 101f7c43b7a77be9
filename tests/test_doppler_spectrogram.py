"""Spectrogram PNG: long views keep short transients, times and frequencies are right."""

import numpy as np
import pytest

from sw.doppler.detector import Detection
from sw.doppler.recording import TruthEvent
from sw.doppler.spectrogram import plot_spectrogram, spectrogram_columns

FS = 4400


def test_pooled_columns_keep_a_short_burst_at_its_time_and_frequency():
    rng = np.random.default_rng(0)
    n = 70 * FS
    z = 0.01 * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
    t = np.arange(n) / FS
    burst = (t >= 41.0) & (t < 41.02)                  # 20 ms at +750 Hz
    z[burst] += np.exp(2j * np.pi * 750 * t[burst])
    times, freqs, psd = spectrogram_columns(z, FS, 0.0, 70.0, max_columns=300)
    assert len(times) <= 300 + 2 and np.all(np.diff(times) > 0)
    assert np.all(np.diff(freqs) > 0) and freqs[0] == pytest.approx(-FS / 2)
    col = np.argmax(psd.max(axis=0))
    row = np.argmax(psd[:, col])
    # Pooled columns are 70 s / 300 = 0.23 s wide: the burst lands in the right one.
    assert times[col] == pytest.approx(41.01, abs=0.25)
    assert freqs[row] == pytest.approx(750, abs=FS / 128)
    # Max pooling keeps it far above the noise columns (a mean would dilute it 14 x).
    assert psd[row, col] > 100 * np.median(psd[row])


def test_view_window_times_are_absolute():
    z = np.exp(2j * np.pi * 300 * np.arange(20 * FS) / FS)
    times, _, _ = spectrogram_columns(z, FS, 5.0, 8.0)
    assert times[0] == pytest.approx(5.0 + 64 / FS, abs=1e-6)
    assert times[-1] <= 8.0


def test_png_written(tmp_path):
    z = np.exp(2j * np.pi * 300 * np.arange(10 * FS) / FS).astype(np.complex64)
    plot_spectrogram(tmp_path / "s.png", z, FS,
                     detections=[Detection(2.0, 2.05, 2.02, 9.0, 30.0, True)],
                     truth=[TruthEvent(2.0, 0.04, "solid")])
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_view_is_clipped_to_the_recording():
    z = np.exp(2j * np.pi * 300 * np.arange(5 * FS) / FS)
    times, _, _ = spectrogram_columns(z, FS, -2.0, 9.0)
    assert times[0] == pytest.approx(64 / FS) and times[-1] <= 5.0
