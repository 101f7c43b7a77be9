"""Simulated transcranial Doppler recordings of the middle cerebral artery, with HITS.

The model (parameters and sources in :mod:`sw.doppler.params`):

* **Background** (pulsatile blood flow), after Mo & Cobbold (1989): the Doppler signal of
  many red cells is a complex Gaussian process whose short-time power spectrum is the
  distribution of their Doppler shifts. At each 29 ms frame the maximum velocity
  ``vmax(t)`` comes from a cardiac-cycle waveform; a velocity profile
  ``v(r) = vmax (1 - (r/R)^n)`` across the vessel gives the distribution of velocities
  (see :func:`velocity_pdf`), the Doppler equation maps it to frequencies, and intrinsic
  spectral broadening smooths it. Spectral coefficients with that variance and uniformly
  random phase (complex Gaussian) are inverse-transformed and overlap-added with a
  square-root Hann window whose squares sum to one, so the power is continuous across
  frames. White receiver noise is added and the whole signal passes the instrument's wall
  (high-pass) filter.
* **Emboli**: a Gaussian-windowed complex sinusoid (Gaussian beam and gate profile crossed
  at constant speed). The embolus rides the flow at a fraction of the centre-line velocity,
  so its instantaneous Doppler frequency follows ``vmax(t)``; its duration (full width at
  half amplitude) is the transit time through the sample volume. Gaseous emboli are pushed
  away from the probe by the radiation force in proportion to the beam intensity they
  cross, which lowers their frequency progressively (Girault et al. 2011); solid emboli
  barely move. Both stay on the positive (flow) side of the spectrum: unidirectional.
* **Artefacts**: band-limited complex Gaussian noise on both sides of zero frequency
  (bidirectional, low-frequency), with a smooth rectangular envelope of 0.12-1.5 s.

The embolus-to-blood ratio (EBR) of an event is ``10 log10(A^2 / P_bg)``: the peak power
of the event's own signal over the mean power of the background (flow and noise, after the
wall filter) of the whole recording. The truth onset and duration of an embolus are its
half-amplitude points; of an artefact, the half-amplitude points of its envelope.

Everything is drawn from one :class:`numpy.random.Generator` seeded by the caller, in a
fixed order, so a seed gives the same samples on every run.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from .params import SimulatorParams, doppler_shift_hz
from .recording import CLASSES, TruthEvent

__all__ = [
    "Subject",
    "SimulatedRecording",
    "draw_subject",
    "velocity_pdf",
    "mca_waveform",
    "CardiacClock",
    "schedule_events",
    "synthesize_background",
    "embolus_waveform",
    "artefact_waveform",
    "simulate_recording",
]

#: Normalised MCA velocity waveform over one cardiac cycle: (phase, fraction of the
#: systolic-diastolic range). Rapid systolic upstroke, peak at 10 % of the cycle, dicrotic
#: notch and wave, then a slow diastolic decline - the shape of Aaslid et al. (1982) Fig. 3.
_WAVEFORM_KNOTS = np.array([
    (0.00, 0.00), (0.05, 0.55), (0.10, 1.00), (0.16, 0.88), (0.24, 0.68), (0.30, 0.58),
    (0.36, 0.64), (0.45, 0.56), (0.60, 0.40), (0.75, 0.24), (0.90, 0.09), (1.00, 0.00)])

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


@dataclass(frozen=True)
class Subject:
    """The physiology and instrument settings of one simulated patient."""

    psv_cm_s: float
    edv_cm_s: float
    heart_rate_bpm: float
    angle_deg: float
    profile_exponent: float
    wall_filter_hz: float
    snr_db: float

    def doppler_hz(self, velocity_cm_s, params):
        """Doppler shift (Hz) of ``velocity_cm_s`` for this subject's probe angle."""
        return doppler_shift_hz(np.asarray(velocity_cm_s) / 100.0, params.flow.transmit_hz,
                                math.radians(self.angle_deg))


@dataclass
class SimulatedRecording:
    """A simulated recording: complex samples, the truth and how it was made."""

    iq: np.ndarray
    sample_rate_hz: int
    events: list
    subject: Subject
    seed: object = None
    background_power: float = 1.0
    scale: float = 1.0
    info: dict = field(default_factory=dict)

    @property
    def duration_s(self):
        """Length in seconds."""
        return len(self.iq) / self.sample_rate_hz


def _uniform(rng, bounds):
    return float(rng.uniform(*bounds))


def draw_subject(rng, params=SimulatorParams()):
    """Draw one patient's flow and instrument parameters."""
    f = params.flow
    psv = _uniform(rng, f.psv_cm_s_range)
    return Subject(psv_cm_s=psv, edv_cm_s=psv * _uniform(rng, f.edv_fraction_range),
                   heart_rate_bpm=_uniform(rng, f.heart_rate_bpm_range),
                   angle_deg=_uniform(rng, f.angle_deg_range),
                   profile_exponent=_uniform(rng, f.profile_exponent_range),
                   wall_filter_hz=_uniform(rng, f.wall_filter_hz_range),
                   snr_db=_uniform(rng, f.snr_db_range))


def velocity_pdf(edges_hz, fmax_hz, exponent):
    """Fraction of the vessel's scatterers in each frequency bin.

    For ``v(r) = vmax (1 - (r/R)^n)`` over a circular cross-section uniformly insonated,
    the area moving faster than ``v`` is ``(1 - v/vmax)^(2/n)``, so the cumulative
    distribution of the Doppler frequency is ``F(f) = 1 - (1 - f/fmax)^(2/n)`` on
    ``[0, fmax]`` (uniform for Poiseuille flow, n = 2). Bin probabilities are differences
    of ``F`` at the bin ``edges_hz`` (last axis), exact even where the density is singular.

    Parameters
    ----------
    edges_hz : array, shape (..., K + 1)
    fmax_hz : array broadcastable to edges_hz[..., :1]
    exponent : float
    """
    x = np.clip(np.asarray(edges_hz) / np.asarray(fmax_hz), 0.0, 1.0)
    cdf = 1.0 - (1.0 - x) ** (2.0 / exponent)
    return np.diff(cdf, axis=-1)


def mca_waveform(phase):
    """Normalised MCA velocity (0 at end-diastole, 1 at peak systole) at cycle ``phase``."""
    from scipy.interpolate import PchipInterpolator
    interp = PchipInterpolator(_WAVEFORM_KNOTS[:, 0], _WAVEFORM_KNOTS[:, 1])
    return interp(np.mod(phase, 1.0))


class CardiacClock:
    """Beat times with beat-to-beat jitter; maps time to ``vmax`` (cm/s)."""

    def __init__(self, subject, duration_s, rng, jitter):
        period = 60.0 / subject.heart_rate_bpm
        n = int(duration_s / period * 1.2) + 4
        periods = period * np.clip(1.0 + jitter * rng.standard_normal(n), 0.7, 1.3)
        # The recording starts at a random point of a cycle.
        self.beats = np.concatenate([[0.0], np.cumsum(periods)]) - rng.uniform(0, period)
        self.subject = subject

    def phase(self, t):
        """Cardiac phase in [0, 1) at times ``t`` (s)."""
        t = np.asarray(t, dtype=np.float64)
        k = np.clip(np.searchsorted(self.beats, t, side="right") - 1, 0, len(self.beats) - 2)
        return (t - self.beats[k]) / (self.beats[k + 1] - self.beats[k])

    def vmax_cm_s(self, t):
        """Centre-line velocity at times ``t`` (s)."""
        s = self.subject
        return s.edv_cm_s + (s.psv_cm_s - s.edv_cm_s) * mca_waveform(self.phase(t))


def synthesize_background(n, clock, params, rng, *, chunk_frames=8192, progress=None):
    """Pulsatile blood-flow Doppler signal of ``n`` samples, mean power 1 (before filters).

    Spectral synthesis after Mo & Cobbold (1989); see the module docstring.
    """
    from scipy.ndimage import gaussian_filter1d
    fs = params.sample_rate_hz
    L = params.flow.synthesis_frame
    H = L // 2
    subject = clock.subject
    df = fs / L
    # Bin edges in ascending frequency (-fs/2 ... fs/2); fftshift order.
    edges = (np.arange(L + 1) - L // 2 - 0.5) * df
    # periodic Hann at 50 % overlap sums to one; its square root windows each frame so
    # that the power of independent frames adds to a constant.
    window = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(L) / L))
    n_frames = n // H + 2
    blocks = np.zeros((n_frames + 1, H), dtype=np.complex64)
    fmax_mean = subject.doppler_hz(0.5 * (subject.psv_cm_s + subject.edv_cm_s), params)
    broadening_bins = params.flow.spectral_broadening * fmax_mean / df
    for start in range(0, n_frames, chunk_frames):
        stop = min(start + chunk_frames, n_frames)
        centres = (np.arange(start, stop) * H + H) / fs
        fmax = subject.doppler_hz(clock.vmax_cm_s(centres), params)[:, None]
        p = velocity_pdf(edges[None, :], fmax, subject.profile_exponent)
        # Spectral broadening; 'wrap' because the complex-sampled spectrum is circular.
        p = gaussian_filter1d(p, broadening_bins, axis=1, mode="wrap")
        p = np.fft.ifftshift(p / p.sum(axis=1, keepdims=True), axes=1)
        coeff = (rng.standard_normal(p.shape) + 1j * rng.standard_normal(p.shape)) \
            * np.sqrt(p / 2.0) * L
        frames = np.fft.ifft(coeff, axis=1) * window
        blocks[start:stop] += frames[:, :H]
        blocks[start + 1:stop + 1] += frames[:, H:]
        if progress is not None:
            progress.update(stop - start)
    # Drop the first half-frame, which only one (tapered) frame covers.
    return blocks.reshape(-1)[H:H + n]


def _draw_ebr(rng, p):
    low, high = p.ebr_db_range
    # Gamma(2) with mode at ebr_db_mode_above_min, redrawn until inside the range.
    while True:
        x = low + rng.gamma(2.0, p.ebr_db_mode_above_min)
        if x <= high:
            return float(x)


def _draw_event(cls, t_onset_min, clock, subject, params, rng):
    """Draw one event's parameters; return a TruthEvent placed at or after t_onset_min."""
    fs = params.sample_rate_hz
    if cls == "artefact":
        a = params.artefact
        dur = float(math.exp(rng.uniform(*np.log(a.duration_s_range))))
        ev = TruthEvent(t_onset_min, dur, cls, ebr_db=_uniform(rng, a.abr_db_range))
        ev.extra = {"band_hz": _uniform(rng, a.band_hz_range),
                    "balance_db": _uniform(rng, a.side_balance_db_range)}
        return ev
    p = params.gaseous if cls == "gaseous" else params.solid
    frac = _uniform(rng, p.velocity_fraction_range)
    sv_mm = _uniform(rng, p.sample_volume_mm_range)
    ebr = _draw_ebr(rng, p)
    fm = _uniform(rng, p.fm_excursion_hz_range)
    # Duration: transit time through the sample volume at the embolus velocity at the
    # (provisional) event time; the frequency is evaluated exactly later.
    v = frac * float(clock.vmax_cm_s(t_onset_min)) / 100.0 * math.cos(
        math.radians(subject.angle_deg))
    dur = (sv_mm / 1000.0) / v
    dur = round(dur * fs) / fs
    ev = TruthEvent(t_onset_min, dur, cls, ebr_db=ebr, fm_hz=fm)
    ev.extra = {"velocity_fraction": frac, "sample_volume_mm": sv_mm}
    return ev


def schedule_events(duration_s, clock, subject, params, rng, counts=None):
    """Place events in time: a Poisson process with a dead time between events.

    Parameters
    ----------
    duration_s : float or None
        Recording length. With ``counts`` it may be None: the recording is made as long
        as the events need.
    counts : dict, optional
        Exact number of events per class (in a random order). Without it, classes are
        drawn with ``params.schedule.class_weights`` until the recording is full.

    Returns
    -------
    events : list of TruthEvent
    duration_s : float
    """
    sch = params.schedule
    mean_gap = 60.0 / sch.rate_per_min
    names = list(sch.class_weights)
    weights = np.array([sch.class_weights[c] for c in names], dtype=float)
    weights /= weights.sum()
    if counts is not None:
        order = [c for c in CLASSES for _ in range(int(counts.get(c, 0)))]
        order = [order[i] for i in rng.permutation(len(order))]
    events = []
    t = sch.edge_margin_s
    i = 0
    while True:
        if counts is not None:
            if i >= len(order):
                break
            cls = order[i]
        else:
            cls = names[int(rng.choice(len(names), p=weights))]
        i += 1
        # Poisson arrivals, with a dead time after the previous event.
        t += rng.exponential(mean_gap)
        ev = _draw_event(cls, t, clock, subject, params, rng)
        if duration_s is not None and ev.offset_s > duration_s - sch.edge_margin_s:
            if counts is None:
                break
            raise ValueError("the events do not fit in the recording; make it longer")
        events.append(ev)
        t = ev.offset_s + sch.min_gap_s
    if duration_s is None:
        duration_s = (events[-1].offset_s if events else 0.0) + sch.edge_margin_s + 0.5
    return events, float(duration_s)


def embolus_waveform(ev, clock, subject, params, rng):
    """Complex samples of one embolus, unit peak amplitude; also its mean frequency.

    Returns ``(start_index, samples, mean_frequency_hz)``.
    """
    fs = params.sample_rate_hz
    sigma = ev.duration_s / _FWHM_PER_SIGMA
    centre = ev.centre_s
    start = int(math.floor((centre - 4.5 * sigma) * fs))
    stop = int(math.ceil((centre + 4.5 * sigma) * fs)) + 1
    t = np.arange(start, stop) / fs
    u = (t - centre) / sigma
    env = np.exp(-0.5 * u * u)
    frac = ev.extra["velocity_fraction"]
    f_flow = frac * subject.doppler_hz(clock.vmax_cm_s(t), params)
    # Radiation force ~ beam intensity ~ env^2; the velocity change it causes is its running
    # integral, a normal CDF with standard deviation sigma / sqrt(2) (Girault et al. 2011).
    from scipy.special import ndtr
    f = f_flow - ev.fm_hz * ndtr(math.sqrt(2.0) * u)
    # Unidirectional: the embolus keeps moving toward the probe (consensus criterion).
    f = np.maximum(f, 2.5 * subject.wall_filter_hz)
    phase = 2 * np.pi * np.cumsum(f) / fs + rng.uniform(0, 2 * np.pi)
    weights = env * env
    mean_f = float(np.sum(f * weights) / np.sum(weights))
    return start, (env * np.exp(1j * phase)).astype(np.complex64), mean_f


def artefact_waveform(ev, params, rng):
    """Complex samples of one artefact, unit mean power on its plateau.

    Returns ``(start_index, samples)``.
    """
    from scipy.special import erf
    fs = params.sample_rate_hz
    edge = 0.015  # rise time constant of the envelope (s)
    start = int(math.floor((ev.onset_s - 3 * edge) * fs))
    stop = int(math.ceil((ev.offset_s + 3 * edge) * fs)) + 1
    t = np.arange(start, stop) / fs
    env = 0.5 * (erf((t - ev.onset_s) / edge) - erf((t - ev.offset_s) / edge))
    n = len(t)
    spec = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    freqs = np.fft.fftfreq(n, 1.0 / fs)
    band = ev.extra["band_hz"]
    # Low-pass shape on both sides of zero; the negative side is scaled by the balance.
    shape = np.exp(-0.5 * (freqs / band) ** 2)
    shape[freqs < 0] *= 10 ** (ev.extra["balance_db"] / 20.0)
    noise = np.fft.ifft(spec * shape)
    noise /= np.sqrt(np.mean(np.abs(noise) ** 2))
    return start, (env * noise).astype(np.complex64)


def _add_filtered(out, start, samples, sos, fs):
    """Add ``samples`` at ``start`` after the wall filter, its ringing included."""
    from scipy.signal import sosfilt
    pad = int(0.05 * fs)
    x = np.concatenate([samples, np.zeros(pad, dtype=samples.dtype)])
    y = sosfilt(sos, x)
    lo, hi = max(start, 0), min(start + len(y), len(out))
    if hi > lo:
        out[lo:hi] += y[lo - start:hi - start].astype(out.dtype)


def simulate_recording(duration_s=None, seed=0, params=SimulatorParams(), *, counts=None,
                       subject=None, progress=False):
    """Simulate one recording with its truth.

    Parameters
    ----------
    duration_s : float or None
        Length in seconds; None with ``counts`` makes it as long as the events need.
    seed : int or sequence of int
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same samples.
    params : SimulatorParams
    counts : dict, optional
        Exact event counts per class (see :func:`schedule_events`).
    subject : Subject, optional
        Patient parameters; drawn from the seed when omitted.
    progress : bool
        Show a tqdm bar for the background synthesis.

    Returns
    -------
    SimulatedRecording
        ``iq`` is complex64 scaled so that the largest |I| or |Q| equals
        ``params.peak_level`` of full scale.
    """
    from scipy.signal import butter, sosfilt
    rng = np.random.default_rng(seed)
    fs = params.sample_rate_hz
    if subject is None:
        subject = draw_subject(rng, params)
    horizon = duration_s if duration_s is not None else \
        (sum(counts.values()) * 60.0 / params.schedule.rate_per_min * 2.0 + 120.0)
    clock = CardiacClock(subject, horizon + 10.0, rng, params.flow.beat_jitter)
    events, duration_s = schedule_events(duration_s, clock, subject, params, rng, counts)
    n = int(round(duration_s * fs))
    if n <= 0:
        raise ValueError("duration must be positive")

    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=n // (params.flow.synthesis_frame // 2) + 2, unit="frame",
                   desc="background", leave=False)
    flow = synthesize_background(n, clock, params, rng, progress=bar)
    if bar is not None:
        bar.close()
    noise_sd = math.sqrt(10 ** (-subject.snr_db / 10.0) / 2.0)
    flow += (noise_sd * (rng.standard_normal(n) + 1j * rng.standard_normal(n))).astype(
        np.complex64)
    sos = butter(params.flow.wall_filter_order, subject.wall_filter_hz, "highpass", fs=fs,
                 output="sos")
    signal = sosfilt(sos, flow).astype(np.complex64)
    del flow
    background_power = float(np.mean(np.abs(signal) ** 2))

    for ev in events:
        amp = math.sqrt(10 ** (ev.ebr_db / 10.0) * background_power)
        if ev.cls == "artefact":
            start, x = artefact_waveform(ev, params, rng)
        else:
            start, x, ev.frequency_hz = embolus_waveform(ev, clock, subject, params, rng)
        _add_filtered(signal, start, amp * x, sos, fs)

    peak = float(max(np.abs(signal.real).max(), np.abs(signal.imag).max()))
    scale = params.peak_level / peak
    signal *= np.float32(scale)
    return SimulatedRecording(iq=signal, sample_rate_hz=fs, events=events, subject=subject,
                              seed=seed, background_power=background_power * scale ** 2,
                              scale=scale)
