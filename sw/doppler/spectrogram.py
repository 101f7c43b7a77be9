"""Spectrogram PNG of a recording with the detected events and the truth marked.

The spectrogram is two-sided (negative frequencies = flow away from the probe, see
:mod:`sw.doppler.recording`). Long views are reduced to at most ``max_columns`` time
columns by taking the maximum of neighbouring columns, so that short transients stay
visible. Below it, an event track shows the truth (upper row, coloured by class) and the
detections (lower row; hatched when longer than the consensus 300 ms).
"""

import numpy as np

from ..atomic import atomic_path

__all__ = ["CLASS_COLOURS", "plot_spectrogram", "spectrogram_columns"]

#: Colours of the classes in the event track.
CLASS_COLOURS = {"artefact": "tab:orange", "gaseous": "tab:cyan", "solid": "tab:red"}


def plot_spectrogram(path, iq, sample_rate_hz, *, detections=(), truth=(), start_s=0.0,
                     length_s=None, max_columns=3000, title=None):
    """Write a PNG spectrogram of ``iq[start_s : start_s + length_s]`` to ``path``.

    Parameters
    ----------
    path : str or Path
        Output PNG (written atomically).
    iq : array of complex
    sample_rate_hz : int
    detections : sequence of :class:`sw.doppler.detector.Detection`
    truth : sequence of :class:`sw.doppler.recording.TruthEvent`
    start_s, length_s : float
        The time window shown (whole recording by default).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from .. import plots

    fs = sample_rate_hz
    total_s = len(iq) / fs
    if length_s is None:
        length_s = total_s - start_s
    stop_s = min(total_s, start_s + length_s)
    t, f, sxx = spectrogram_columns(iq, fs, start_s, stop_s, max_columns)
    db = 10 * np.log10(sxx + 1e-20)
    # The colour scale leaves 10 dB of headroom above the bright end of the flow (99th
    # percentile, mostly background), so that emboli stand out as they do on a TCD screen.
    vmax = np.percentile(db, 99.0) + 10.0

    fig, (ax, track) = plt.subplots(2, 1, figsize=(14, 6), sharex=True,
                                    gridspec_kw={"height_ratios": [5, 1]})
    ax.pcolormesh(t, f, db, shading="auto", cmap="viridis", vmin=vmax - 55,
                  vmax=vmax, rasterized=True)
    ax.set_ylabel("Doppler frequency (Hz)\n+ toward probe")
    plots.set_title(ax, title or f"Doppler spectrogram, {start_s:.1f}-{stop_s:.1f} s")
    track.set_ylim(0, 2)
    track.set_yticks([0.5, 1.5], ["detected", "truth"])
    track.set_xlabel("time (s)")
    for ev in truth:
        if ev.offset_s < start_s or ev.onset_s > stop_s:
            continue
        colour = CLASS_COLOURS.get(ev.cls, "grey")
        track.broken_barh([(ev.onset_s, ev.duration_s)], (1.1, 0.8), color=colour)
        ax.axvspan(ev.onset_s, ev.offset_s, ymin=0.97, ymax=1.0, color=colour)
    for d in detections:
        if d.offset_s < start_s or d.onset_s > stop_s:
            continue
        track.broken_barh([(d.onset_s, d.duration_s)], (0.1, 0.8), color="black",
                          hatch=None if d.consensus else "//", alpha=0.8)
        ax.axvspan(d.onset_s, d.offset_s, ymin=0.0, ymax=0.03, color="white")
    handles = [Patch(color=c, label=f"truth: {k}") for k, c in CLASS_COLOURS.items()]
    handles.append(Patch(color="black", label="detected"))
    track.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.55), ncols=4,
                 fontsize="small", frameon=False)
    track.set_xlim(start_s, stop_s)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def spectrogram_columns(iq, sample_rate_hz, start_s, stop_s, max_columns=3000):
    """Two-sided power spectrogram of ``iq[start_s:stop_s]``, at most ``max_columns`` wide.

    128-sample Hann frames every 64 samples; groups of neighbouring columns are reduced to
    their maximum. Returns ``(times_s, freqs_hz, psd)`` with ascending frequencies and
    absolute times (column centres).
    """
    from scipy.signal import spectrogram
    fs = sample_rate_hz
    first, last = max(0, int(start_s * fs)), min(len(iq), int(stop_s * fs))
    nperseg, hop = 128, 64
    if last - first < nperseg:
        raise ValueError("the spectrogram view holds fewer than 128 samples")
    n_cols = (last - first - nperseg) // hop + 1
    pool = max(1, int(np.ceil(n_cols / max_columns)))
    # Long views in chunks of whole pools (a 3-hour recording has 740 000 columns).
    chunk = pool * max(1, 4096 // pool) * hop
    columns, times = [], []
    for a in range(first, last - nperseg + 1, chunk):
        b = min(last, a + chunk + nperseg - hop)
        f, t, sxx = spectrogram(np.asarray(iq[a:b], dtype=np.complex64), fs=fs,
                                window="hann", nperseg=nperseg, noverlap=nperseg - hop,
                                return_onesided=False, mode="psd")
        cols = int(np.ceil(sxx.shape[1] / pool))
        pad = cols * pool - sxx.shape[1]
        sxx = np.pad(sxx, ((0, 0), (0, pad)), mode="edge")
        t = np.pad(t, (0, pad), mode="edge")
        columns.append(sxx.reshape(len(f), cols, pool).max(axis=2))
        times.append(t.reshape(cols, pool).mean(axis=1) + a / fs)
    return (np.concatenate(times), np.fft.fftshift(f),
            np.fft.fftshift(np.concatenate(columns, axis=1), axes=0))
