"""The HITS front end: find high-intensity transient signals and cut them out.

Detection follows the consensus definition of microembolic signals (Ringelstein et al.
1998, see :mod:`sw.doppler.params`): a transient whose intensity is at least 3 dB above the
background blood-flow signal, lasting less than 300 ms.

1. Short-time power: ``|z|^2`` averaged over a sliding window (25 ms by default), taken
   every hop (2.5 ms).
2. Running background estimate: the median of the short-time power over a centred window
   of several cardiac cycles (4 s). The median ignores the transients themselves as long as
   they cover less than half of the window.
3. Threshold: hops where the power is at least ``threshold_db`` above the background.
   Runs separated by less than ``merge_gap_s`` are one event (the power of an artefact
   fades and returns); runs shorter than ``min_duration_s`` are fluctuations of the
   Gaussian background and are dropped.
4. Duration rule: events up to ``max_duration_s`` (300 ms) satisfy the consensus duration
   criterion (``consensus`` column); longer ones are kept (flagged) because the classifier
   must see artefacts too, unless ``keep_long`` is False.
5. Each event gives one segment of ``segment_samples`` (2048) samples at 4400 Hz centred on
   the event's midpoint, zero-padded at the recording's ends - the same length and centring
   as the training segments of ``data make hits``.

Each event also carries its peak intensity over the background (dB) and a direction index:
the energy at positive over negative Doppler frequencies during the event (dB); emboli are
unidirectional (large index), artefacts bidirectional (near 0 dB).
"""

import csv
import io
import math
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["DetectorParams", "Detection", "Segments", "detect", "cut_segments",
           "match_events", "detections_csv_text", "params_dict", "front_end"]


@dataclass(frozen=True)
class DetectorParams:
    """Settings of the HITS front end (defaults: the consensus criteria)."""

    #: Window of the short-time power (s): about the length of the shorter emboli. Longer
    #: windows smooth the background's Gaussian fluctuations (fewer false alarms) but
    #: dilute the shortest, weakest emboli.
    window_s: float = 0.025
    #: Step between short-time power values (s).
    hop_s: float = 0.0025
    #: Length of the running-median background window (s): several cardiac cycles.
    background_s: float = 4.0
    #: Detection threshold above the background (dB) [Ringelstein 1998: >= 3 dB].
    threshold_db: float = 3.0
    #: Shortest event kept (s); shorter runs are fluctuations of the background.
    min_duration_s: float = 0.015
    #: Longest event meeting the consensus duration criterion (s) [< 300 ms].
    max_duration_s: float = 0.300
    #: Runs closer than this are merged into one event (s).
    merge_gap_s: float = 0.040
    #: Keep events longer than ``max_duration_s`` (flagged), for the classifier's artefacts.
    keep_long: bool = True
    #: Samples per segment handed to the classifier.
    segment_samples: int = 2048
    #: Rate the models expect (Hz).
    sample_rate_hz: int = 4400


@dataclass
class Detection:
    """One detected event."""

    onset_s: float
    offset_s: float
    peak_s: float
    peak_db: float
    direction_db: float
    consensus: bool

    @property
    def duration_s(self):
        """Length in seconds."""
        return self.offset_s - self.onset_s

    @property
    def centre_s(self):
        """Midpoint in seconds."""
        return 0.5 * (self.onset_s + self.offset_s)


@dataclass
class Segments:
    """The front end's output: detections and their samples."""

    detections: list
    samples: np.ndarray          # complex64, shape (n_events, segment_samples)
    start_index: np.ndarray      # first sample of each segment in the recording (may be < 0)
    sample_rate_hz: int

    def channels(self):
        """float32 ``(n, 2, segment_samples)``: I and Q, the layout of the HITS loader."""
        return np.ascontiguousarray(
            np.stack([self.samples.real, self.samples.imag], axis=1), dtype=np.float32)


def _short_time_power(iq, params):
    from scipy.ndimage import uniform_filter1d
    fs = params.sample_rate_hz
    hop = max(1, int(round(params.hop_s * fs)))
    win = max(1, int(round(params.window_s * fs)))
    power = iq.real.astype(np.float32) ** 2
    power += iq.imag.astype(np.float32) ** 2
    # Box average centred on each sample, then one value per hop.
    smooth = uniform_filter1d(power, win, mode="nearest")
    del power
    return smooth[hop // 2::hop].astype(np.float64), hop


def _running_background(ps, params, hop):
    from scipy.ndimage import median_filter
    fs = params.sample_rate_hz
    # Median of 50 ms block means over the window: robust and cheap for 3-hour recordings.
    block = max(1, int(round(0.05 * fs / hop)))
    n_blocks = len(ps) // block
    means = ps[:n_blocks * block].reshape(n_blocks, block).mean(axis=1) if n_blocks else \
        np.array([ps.mean()])
    size = max(1, int(round(params.background_s * fs / hop / block)) | 1)
    med = median_filter(means, size=size, mode="nearest")
    centres = (np.arange(len(med)) + 0.5) * block
    return np.interp(np.arange(len(ps)), centres, med)


def detect(iq, params=DetectorParams()):
    """Detect HITS in complex ``iq`` sampled at ``params.sample_rate_hz``.

    Returns
    -------
    list of Detection
        In time order.
    """
    iq = np.asarray(iq)
    fs = params.sample_rate_hz
    if len(iq) == 0:
        return []
    ps, hop = _short_time_power(iq, params)
    bg = _running_background(ps, params, hop)
    ratio = ps / np.maximum(bg, np.finfo(np.float64).tiny)
    above = ratio >= 10 ** (params.threshold_db / 10.0)
    edges = np.diff(np.concatenate([[0], above.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)          # exclusive
    if len(starts) == 0:
        return []
    gap = int(round(params.merge_gap_s * fs / hop))
    keep = np.concatenate([[True], starts[1:] - stops[:-1] > gap])
    stops = np.maximum.reduceat(stops, np.flatnonzero(keep))
    starts = starts[keep]
    hop_s = hop / fs
    detections = []
    for a, b in zip(starts, stops):
        # Times of the hop centres; the event spans from the first to the last hop above.
        onset = (a * hop + hop // 2) / fs - 0.5 * hop_s
        offset = ((b - 1) * hop + hop // 2) / fs + 0.5 * hop_s
        duration = offset - onset
        if duration < params.min_duration_s:
            continue
        consensus = duration <= params.max_duration_s
        if not consensus and not params.keep_long:
            continue
        k = a + int(np.argmax(ratio[a:b]))
        peak_s = (k * hop + hop // 2) / fs
        i0, i1 = int(onset * fs), int(math.ceil(offset * fs))
        detections.append(Detection(onset, offset, peak_s, float(10 * np.log10(ratio[k])),
                                    _direction_db(iq[i0:i1]), bool(consensus)))
    return detections


def _direction_db(x):
    """Energy at positive over negative frequencies of ``x`` (dB)."""
    if len(x) < 2:
        return 0.0
    spec = np.abs(np.fft.fft(x.astype(np.complex128))) ** 2
    freqs = np.fft.fftfreq(len(x))
    pos = spec[freqs > 0].sum()
    neg = spec[freqs < 0].sum()
    tiny = 1e-30
    return float(10 * np.log10((pos + tiny) / (neg + tiny)))


def cut_segments(iq, detections, params=DetectorParams()):
    """Cut one centred ``segment_samples`` window per detection (zero-padded at the ends)."""
    iq = np.asarray(iq, dtype=np.complex64)
    n = params.segment_samples
    fs = params.sample_rate_hz
    starts = np.array([int(round(d.centre_s * fs)) - n // 2 for d in detections],
                      dtype=np.int64)
    out = np.zeros((len(detections), n), dtype=np.complex64)
    for row, s in enumerate(starts):
        lo, hi = max(s, 0), min(s + n, len(iq))
        if hi > lo:
            out[row, lo - s:hi - s] = iq[lo:hi]
    return Segments(detections=list(detections), samples=out, start_index=starts,
                    sample_rate_hz=fs)


def match_events(detections, truth, tolerance_s=0.0):
    """Match detections to truth events by time overlap, one to one.

    A detection and a truth event match when their intervals overlap (widened by
    ``tolerance_s``). Pairs are matched greedily by largest overlap first.

    Returns
    -------
    pairs : list of (detection index, truth index)
    """
    cand = []
    j0 = 0
    truth_sorted = sorted(range(len(truth)), key=lambda j: truth[j].onset_s)
    for i, d in enumerate(detections):
        while j0 < len(truth_sorted) and \
                truth[truth_sorted[j0]].offset_s + tolerance_s < d.onset_s - 5.0:
            j0 += 1
        for j in truth_sorted[j0:]:
            t = truth[j]
            if t.onset_s - tolerance_s > d.offset_s:
                break
            overlap = min(d.offset_s, t.offset_s + tolerance_s) - \
                max(d.onset_s, t.onset_s - tolerance_s)
            if overlap >= 0:
                cand.append((overlap, i, j))
    cand.sort(key=lambda c: -c[0])
    used_d, used_t, pairs = set(), set(), []
    for _, i, j in cand:
        if i not in used_d and j not in used_t:
            used_d.add(i)
            used_t.add(j)
            pairs.append((i, j))
    return sorted(pairs)


def detections_csv_text(detections, labels=None):
    """CSV of detections: index, onset, offset, duration, peak, intensity, direction.

    ``labels`` (optional, one string per detection) adds a ``truth_class`` column.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    header = ["index", "onset_s", "offset_s", "duration_s", "peak_s", "peak_db",
              "direction_db", "consensus"]
    if labels is not None:
        header.append("truth_class")
    w.writerow(header)
    for i, d in enumerate(detections):
        row = [i, f"{d.onset_s:.4f}", f"{d.offset_s:.4f}", f"{d.duration_s:.4f}",
               f"{d.peak_s:.4f}", f"{d.peak_db:.2f}", f"{d.direction_db:.2f}",
               int(d.consensus)]
        if labels is not None:
            row.append(labels[i])
        w.writerow(row)
    return buf.getvalue()


def params_dict(params):
    """Plain-data form of ``params``."""
    return asdict(params)


def front_end(path, params=DetectorParams(), **read_kwargs):
    """Read a recording file, detect its HITS and cut the segments.

    ``read_kwargs`` go to :func:`sw.doppler.recording.read_recording`.

    Returns
    -------
    recording : Recording
    segments : Segments
    """
    from .recording import read_recording
    rec = read_recording(path, target_rate_hz=params.sample_rate_hz, **read_kwargs)
    detections = detect(rec.iq, params)
    return rec, cut_segments(rec.iq, detections, params)
