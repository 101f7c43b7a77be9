"""Time-frequency representation (TFR) of the paper's 2D CNN input.

As the authors' code: a short-time Fourier transform with a Blackman window of ``n_fft``
samples and hop ``hop``, no padding at the edges (178 ESR samples give 32 x 37), all
``n_fft`` frequency bins (two-sided) re-ordered by ``fftshift`` so that frequency rises
with the row index, then ``20*log10(|S|^2 + eps)`` in dB, then each sample's map clipped to
``[mean, mean + 9*std]`` of its own dB values.

One difference from the authors' code, on purpose: their STFT is written into a real
array, so only the real part ``Re(S)`` of each FFT bin is kept and the "power" is
``Re(S)^2``. Here the power is the proper ``|S|^2 = Re(S)^2 + Im(S)^2``. See docs/data.md.

Complex I/Q input (transcranial Doppler) gives one map of the analytic signal
``z = I + jQ``: the upper half of the rows (positive frequencies) is flow toward the
probe, the lower half flow away from it.
"""

import numpy as np

from ..errors import InputError

__all__ = ["tfr", "tfr_shape", "tfr_frequencies", "EPS"]

#: Added to the power before the logarithm so that an exact zero gives a finite floor
#: (-240 dB) instead of -inf.
EPS = 1e-12

#: Samples per STFT batch; bounds the memory of the complex intermediate.
_CHUNK = 1024


def tfr_shape(length, *, n_fft=32, hop=4):
    """``(F, T)`` of the TFR of a signal of ``length`` samples: ``(n_fft, 1 + (length - n_fft) // hop)``."""
    if length < n_fft:
        raise InputError(f"signal length {length}: expected at least n_fft = {n_fft} samples")
    return n_fft, 1 + (length - n_fft) // hop


def tfr_frequencies(n_fft=32, sample_rate_hz=1.0):
    """Frequency of each TFR row in Hz (fft-shifted: from -fs/2 up to fs/2 - fs/n_fft)."""
    return np.fft.fftshift(np.fft.fftfreq(n_fft, d=1.0 / sample_rate_hz))


def tfr(x, *, n_fft=32, hop=4, clip=True, iq=None, eps=EPS):
    """Time-frequency representation in dB of a batch of signals.

    Parameters
    ----------
    x : array_like
        ``[N, C, L]`` real signals, or complex signals (a complex dtype), or I/Q pairs as
        real ``[N, 2, L]`` (channel 0 = I, channel 1 = Q). A numpy array or torch tensor.
    n_fft : int
        Window length and number of frequency bins (32 as the paper).
    hop : int
        Hop between windows in samples (4 as the paper).
    clip : bool
        Clip each sample's map (each channel) to ``[mean, mean + 9*std]`` of its dB values,
        as the authors do.
    iq : bool or None
        True: ``x`` is ``[N, 2, L]`` I/Q and gives one channel of ``z = I + jQ``.
        False: every channel is an independent real signal.
        None (default): I/Q exactly when ``x`` is real with 2 channels, as the HITS
        segments are (the project has no other 2-channel real input).
    eps : float
        Added to ``|S|^2`` before the logarithm.

    Returns
    -------
    numpy.ndarray
        float32 ``[N, C', F, T]`` with ``F = n_fft``, ``T = 1 + (L - n_fft) // hop``,
        ``C' = 1`` for I/Q input and ``C`` otherwise. Row ``F // 2`` is 0 Hz; row
        ``F // 2 + k`` is ``+k`` bins, row ``F // 2 - k`` is ``-k`` bins.
    """
    import torch

    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim != 3:
        raise InputError(f"tfr input: expected shape [N, C, L], got {list(x.shape)}")
    if n_fft < 2 or hop < 1:
        raise InputError(f"tfr: expected n_fft >= 2 and hop >= 1, got n_fft={n_fft}, hop={hop}")
    if np.iscomplexobj(x):
        z = x.astype(np.complex128)
    else:
        if iq is None:
            iq = x.shape[1] == 2
        if iq:
            if x.shape[1] != 2:
                raise InputError(f"tfr I/Q input: expected 2 channels (I, Q), got {x.shape[1]}")
            z = (x[:, 0].astype(np.float64) + 1j * x[:, 1].astype(np.float64))[:, None]
        else:
            z = x.astype(np.float64)
    n, c, length = z.shape
    f_bins, t_frames = tfr_shape(length, n_fft=n_fft, hop=hop)
    # Symmetric Blackman window (numpy.blackman), as the authors' scipy/numpy code.
    window = torch.blackman_window(n_fft, periodic=False, dtype=torch.float64)
    flat = z.reshape(n * c, length)
    out = np.empty((n * c, f_bins, t_frames), dtype=np.float32)
    for start in range(0, n * c, _CHUNK):
        chunk = torch.from_numpy(np.ascontiguousarray(flat[start:start + _CHUNK]))
        spec = torch.stft(chunk, n_fft=n_fft, hop_length=hop, win_length=n_fft,
                          window=window, center=False, onesided=False,
                          return_complex=True)
        spec = torch.fft.fftshift(spec, dim=-2)
        power = spec.real ** 2 + spec.imag ** 2
        db = 20.0 * torch.log10(power + eps)
        if clip:
            mean = db.mean(dim=(-2, -1), keepdim=True)
            std = db.std(dim=(-2, -1), keepdim=True, unbiased=False)
            db = torch.minimum(torch.maximum(db, mean), mean + 9.0 * std)
        out[start:start + _CHUNK] = db.numpy()
    return out.reshape(n, c, f_bins, t_frames)
