"""Pictures of time-frequency representations, saved as PNG (matplotlib, Agg)."""

import numpy as np

from ..atomic import atomic_path
from .tfr import tfr_frequencies

__all__ = ["save_tfr_png"]


def save_tfr_png(maps, path, *, sample_rate_hz=None, hop=4, titles=None, ncols=4):
    """Draw TFR maps side by side and save them as a PNG, atomically.

    Parameters
    ----------
    maps : array_like
        ``[F, T]``, ``[K, F, T]`` or ``[K, 1, F, T]`` dB maps as :func:`sw.data.tfr.tfr`
        returns (fft-shifted rows).
    path : path-like
        Output PNG.
    sample_rate_hz : float, optional
        With it the axes are in Hz and seconds; without it, in bins and frames.
    hop : int
        Hop of the STFT, for the time axis.
    titles : list of str, optional
        One title per map (e.g. the class).
    ncols : int
        Maps per row of the figure.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .. import plots

    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 4:
        maps = maps[:, 0]
    elif maps.ndim == 2:
        maps = maps[None]
    if maps.ndim != 3:
        raise ValueError(f"maps: expected [F, T], [K, F, T] or [K, 1, F, T], got {maps.shape}")
    k, f_bins, t_frames = maps.shape
    if sample_rate_hz:
        freqs = tfr_frequencies(f_bins, sample_rate_hz)
        step = sample_rate_hz / f_bins
        extent = (0.0, t_frames * hop / sample_rate_hz,
                  freqs[0] - step / 2, freqs[-1] + step / 2)
        xlabel, ylabel = "time (s)", "frequency (Hz)"
    else:
        extent = (-0.5, t_frames - 0.5, -f_bins // 2 - 0.5, f_bins - f_bins // 2 - 0.5)
        xlabel, ylabel = "frame", "frequency bin"
    ncols = max(1, min(ncols, k))
    nrows = -(-k // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows),
                             squeeze=False, constrained_layout=True)
    for i, ax in enumerate(axes.ravel()):
        if i >= k:
            ax.axis("off")
            continue
        image = ax.imshow(maps[i], origin="lower", aspect="auto", extent=extent,
                          cmap="magma", interpolation="nearest")
        fig.colorbar(image, ax=ax, label="dB")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if titles is not None:
            plots.set_title(ax, str(titles[i]))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path
