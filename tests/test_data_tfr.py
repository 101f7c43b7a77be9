"""Time-frequency representation against hand computations (numpy FFT, Blackman sums)."""

import numpy as np
import pytest
import torch

from sw.data.tfr import EPS, tfr, tfr_frequencies, tfr_shape
from sw.errors import InputError

N_FFT, HOP = 32, 4
WINDOW = np.blackman(N_FFT)         # the symmetric Blackman window, independently


def _tone(bin_, length=178, amplitude=1.0, phase=0.3):
    n = np.arange(length)
    return amplitude * np.exp(1j * (2 * np.pi * bin_ * n / N_FFT + phase))


def _iq(z):
    return np.stack([z.real, z.imag])[None].astype(np.float64)


def test_shapes():
    assert tfr(np.zeros((3, 1, 178)) + 1.0).shape == (3, 1, 32, 37)     # the paper's 32 x 37
    assert tfr_shape(2048) == (32, 505)
    assert tfr_shape(2048, hop=32) == (32, 64)        # the HITS default model's input
    assert tfr(np.ones((2, 2, 2048)), iq=False).shape == (2, 2, 32, 505)
    assert tfr(np.ones((2, 2, 2048))).shape == (2, 1, 32, 505)          # I/Q by default
    assert tfr(np.ones((1, 1, 64)), n_fft=16, hop=8).shape == (1, 1, 16, 7)


@pytest.mark.parametrize("bin_", [5, -3, 1, -15])
def test_complex_exponential_lands_in_its_bin(bin_):
    out = tfr(_iq(_tone(bin_)), clip=False)
    assert out.shape == (1, 1, 32, 37)
    # fft-shifted: row 16 is 0 Hz, row 16 + k is +k bins (flow toward the probe).
    assert (out[0, 0].argmax(axis=0) == 16 + bin_).all()
    # The same through a complex dtype.
    assert np.allclose(tfr(_tone(bin_)[None, None], clip=False), out)


def test_positive_frequency_row_is_a_positive_frequency():
    fs = 4400.0
    freqs = tfr_frequencies(N_FFT, fs)
    assert freqs[16] == 0.0 and freqs[16 + 5] == pytest.approx(5 * fs / 32)
    assert freqs[16 - 3] == pytest.approx(-3 * fs / 32)
    # Q lagging I by a quarter period (I = cos, Q = sin) is a positive frequency.
    n = np.arange(2048)
    i, q = np.cos(2 * np.pi * 550.0 * n / fs), np.sin(2 * np.pi * 550.0 * n / fs)
    out = tfr(np.stack([i, q])[None], clip=False)
    assert freqs[out[0, 0].argmax(axis=0)] == pytest.approx(np.full(505, 550.0))


def test_known_db_value_for_known_amplitude():
    amplitude = 0.25
    out = tfr(_iq(_tone(4, amplitude=amplitude)), clip=False)
    # |S| at the tone's bin is amplitude * sum(window); the TFR is 20*log10(|S|^2).
    expected = 20 * np.log10((amplitude * WINDOW.sum()) ** 2)
    assert np.allclose(out[0, 0, 16 + 4], expected, atol=1e-3)
    # Proper magnitude: every frame has the same value, whatever the tone's phase at the
    # frame start (the authors' real-part-only power would oscillate from frame to frame).
    assert np.ptp(out[0, 0, 16 + 4]) < 1e-3


def test_real_cosine_gives_mirrored_bins():
    n = np.arange(178)
    x = np.cos(2 * np.pi * 4 * n / N_FFT)[None, None]
    out = tfr(x, clip=False)[0, 0]
    assert np.allclose(out[16 + 4], out[16 - 4], atol=1e-4)
    expected = 20 * np.log10((0.5 * WINDOW.sum()) ** 2)
    # The mirrored half leaks a little into this bin (the symmetric window's spectrum is
    # not exactly zero 8 bins away): a few thousandths of a dB.
    assert np.allclose(out[16 + 4], expected, atol=1e-2)


def test_every_frame_matches_a_hand_fft():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(2, 1, 178))
    out = tfr(x, clip=False)
    for s in range(2):
        for t in (0, 5, 36):
            frame = x[s, 0, t * HOP:t * HOP + N_FFT] * WINDOW
            spectrum = np.fft.fftshift(np.fft.fft(frame))
            expected = 20 * np.log10(np.abs(spectrum) ** 2 + EPS)
            assert np.allclose(out[s, 0, :, t], expected, atol=2e-3)


def test_clipping_per_sample_to_mean_and_nine_std():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1, (1, 1, 178)),
                        100 * rng.normal(0, 1, (1, 1, 178)) ** 3,
                        np.r_[np.zeros(100), np.ones(78)][None, None]])
    raw = tfr(x, clip=False).astype(np.float64)
    clipped = tfr(x, clip=True)
    for s in range(3):
        mean, std = raw[s, 0].mean(), raw[s, 0].std()
        expected = np.clip(raw[s, 0], mean, mean + 9 * std)
        assert np.allclose(clipped[s, 0], expected, atol=1e-3)
        assert clipped[s, 0].min() >= mean - 1e-3


def test_torch_input_and_float32_output():
    x = torch.rand(2, 1, 100)
    out = tfr(x)
    assert out.dtype == np.float32
    assert np.allclose(out, tfr(x.numpy()))


def test_bad_input():
    with pytest.raises(InputError, match="expected at least n_fft = 32"):
        tfr(np.zeros((1, 1, 20)))
    with pytest.raises(InputError, match=r"expected shape \[N, C, L\]"):
        tfr(np.zeros((4, 178)))
    with pytest.raises(InputError, match="expected 2 channels"):
        tfr(np.zeros((1, 3, 178)), iq=True)


def test_png_of_maps(tmp_path):
    import matplotlib.image

    from sw.data.tfr_plot import save_tfr_png

    n = np.arange(2048)
    z = np.exp(2j * np.pi * 500.0 * n / 4400.0)
    maps = tfr(np.stack([_iq(z)[0], _iq(-z)[0]]))
    path = save_tfr_png(maps, tmp_path / "maps.png", sample_rate_hz=4400, titles=["a", "b"])
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 200
    assert not list(tmp_path.glob(".*.tmp*"))


def test_batches_larger_than_one_chunk_match_single_samples():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1030, 2, 40))                 # > the 1024-sample STFT batch
    out = tfr(x)
    for s in (0, 1023, 1024, 1029):
        assert np.array_equal(out[s], tfr(x[s:s + 1])[0])
