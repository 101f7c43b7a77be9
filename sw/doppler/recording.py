"""Recorded Doppler files: reading, checking, resampling and writing.

Recording format
----------------
A recording is the quadrature (complex baseband) Doppler signal of one sample volume.

* **WAV** (``.wav``): two channels, channel 0 = I (in-phase), channel 1 = Q (quadrature);
  16-bit or 32-bit signed PCM, or 32/64-bit IEEE float; any sample rate of at least
  4400 Hz. 8-bit WAV (unsigned, 48 dB of dynamic range) and mono files are refused.
* **Raw numpy** (``.npz``): an array ``iq`` holding either a 1-D complex array or an
  ``(n, 2)`` real array (I, Q), and a scalar ``sample_rate_hz``. Values are in full-scale
  units (|I|, |Q| <= 1 for an unclipped recording).

Samples are brought to full-scale units: PCM divided by 2^15 (16-bit) or 2^31 (32-bit),
float as stored (full scale is 1.0; samples at or beyond it count as clipped).

Sign convention: the analytic signal is ``z = I + jQ``; a **positive** Doppler frequency
(spectral content of ``z`` above 0 Hz) is flow **toward** the probe. The transtemporal
middle cerebral artery flows toward the probe, so its spectrum is on the positive side.
A recorder that delivers the opposite convention is read correctly by swapping its two
channels (``z* = I - jQ`` mirrors the spectrum).

Every recording is brought to :data:`MODEL_RATE_HZ` (4400 Hz, the rate of the HITS models)
with :func:`scipy.signal.resample_poly`, a polyphase FIR resampler whose Kaiser-windowed
low-pass removes everything above the new Nyquist frequency before decimating.

Truth CSV
---------
An optional file of known events, one row each, header (at least)
``onset_s,duration_s,class``: onset and duration in seconds from the start of the
recording, ``class`` one of ``artefact``, ``gaseous``, ``solid``. The simulator also writes
``ebr_db`` (embolus- or artefact-to-blood ratio, dB), ``frequency_hz`` (mean Doppler
frequency of an embolus) and ``fm_hz`` (its downward frequency excursion); readers ignore
columns they do not know.
"""

import csv
import io
import math
import struct
import wave
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..atomic import atomic_path, write_text
from ..errors import InputError

__all__ = [
    "MODEL_RATE_HZ",
    "CLASSES",
    "Recording",
    "TruthEvent",
    "read_recording",
    "read_wav",
    "read_npz",
    "check_iq",
    "resample_iq",
    "write_wav",
    "write_npz",
    "read_truth_csv",
    "write_truth_csv",
    "truth_csv_text",
]

#: Sample rate of the HITS models (Hz).
MODEL_RATE_HZ = 4400
#: Event classes, in the order of the HITS data set.
CLASSES = ("artefact", "gaseous", "solid")
#: Default largest fraction of clipped I/Q samples a recording may have.
DEFAULT_MAX_CLIPPED_FRACTION = 0.001

_PCM_FULL_SCALE = {np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2147483648.0}
_TRUTH_REQUIRED = ("onset_s", "duration_s", "class")
_TRUTH_COLUMNS = ("onset_s", "duration_s", "class", "ebr_db", "frequency_hz", "fm_hz")


@dataclass
class Recording:
    """A checked complex Doppler recording at the models' rate.

    Attributes
    ----------
    iq : numpy.ndarray
        complex64 samples ``I + jQ`` in full-scale units.
    sample_rate_hz : int
        Rate of ``iq`` (4400 after :func:`read_recording`).
    source_rate_hz : int
        Rate of the file as read.
    path : str
        The file it came from ("" for in-memory recordings).
    clipped_fraction : float
        Fraction of I and Q samples at full scale in the file.
    """

    iq: np.ndarray
    sample_rate_hz: int
    source_rate_hz: int = 0
    path: str = ""
    clipped_fraction: float = 0.0

    @property
    def duration_s(self):
        """Length in seconds."""
        return len(self.iq) / self.sample_rate_hz


@dataclass
class TruthEvent:
    """One known event of a recording (a row of the truth CSV)."""

    onset_s: float
    duration_s: float
    cls: str
    ebr_db: float = math.nan
    frequency_hz: float = math.nan
    fm_hz: float = math.nan
    extra: dict = field(default_factory=dict)

    @property
    def centre_s(self):
        """Centre of the event in seconds."""
        return self.onset_s + 0.5 * self.duration_s

    @property
    def offset_s(self):
        """End of the event in seconds."""
        return self.onset_s + self.duration_s


# --------------------------------------------------------------------------- reading


def read_recording(path, *, target_rate_hz=MODEL_RATE_HZ,
                   max_clipped_fraction=DEFAULT_MAX_CLIPPED_FRACTION):
    """Read, check and resample a recording (WAV or ``.npz``) to ``target_rate_hz``.

    Parameters
    ----------
    path : str or Path
        ``.wav`` or ``.npz`` file in the format described in this module's docstring.
    target_rate_hz : int
        Rate the samples are brought to; files below it are refused.
    max_clipped_fraction : float
        Largest tolerated fraction of I/Q samples at full scale.

    Returns
    -------
    Recording

    Raises
    ------
    InputError
        For a missing or unreadable file, a wrong channel count or sample format, an
        empty file, NaN or infinity, too much clipping, or a rate below the models'.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such recording file")
    suffix = path.suffix.lower()
    if suffix == ".wav":
        iq, rate, clipped = read_wav(path)
    elif suffix == ".npz":
        iq, rate, clipped = read_npz(path)
    else:
        raise InputError(f"{path}: unknown recording type {path.suffix!r}; expected a "
                         f"stereo I/Q .wav or an .npz with 'iq' and 'sample_rate_hz'")
    if clipped > max_clipped_fraction:
        raise InputError(
            f"{path}: samples: {clipped:.2%} of the I/Q samples are at full scale "
            f"(clipped); expected at most {max_clipped_fraction:.2%}. Clipping distorts the "
            f"embolus-to-blood ratio; lower the recorder's gain")
    if rate < target_rate_hz:
        raise InputError(
            f"{path}: sample rate: {rate} Hz is below the {target_rate_hz} Hz the HITS "
            f"models need; record at {target_rate_hz} Hz or more")
    iq = resample_iq(iq, rate, target_rate_hz)
    return Recording(iq=iq, sample_rate_hz=int(target_rate_hz), source_rate_hz=int(rate),
                     path=str(path), clipped_fraction=float(clipped))


def read_wav(path):
    """Read a stereo I/Q WAV; return ``(iq complex64, rate, clipped_fraction)``."""
    from scipy.io import wavfile
    path = Path(path)
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file (0 bytes); expected a stereo I/Q WAV")
    header = _wav_header(path)
    try:
        rate, data = wavfile.read(path, mmap=False)
    except (ValueError, EOFError, OSError, struct.error) as exc:
        raise InputError(f"{path}: WAV header: cannot be read ({exc}); expected a complete "
                         f"RIFF/WAVE file") from None
    if header is not None and header["channels"] != (1 if data.ndim == 1 else data.shape[1]):
        raise InputError(f"{path}: WAV header: channel count disagrees with the data")
    if data.ndim == 1 or data.shape[1] != 2:
        channels = 1 if data.ndim == 1 else data.shape[1]
        raise InputError(f"{path}: channels: {channels} channel(s); expected 2 "
                         f"(channel 0 = I, channel 1 = Q)")
    if data.dtype == np.uint8:
        raise InputError(f"{path}: sample format: 8-bit PCM; expected 16- or 32-bit PCM or "
                         f"32/64-bit float (8 bits give too little dynamic range for "
                         f"embolus-to-blood ratios)")
    if data.dtype in _PCM_FULL_SCALE:
        full = _PCM_FULL_SCALE[data.dtype]
        # scipy widens 24-bit PCM into the top bytes of int32, so full scale is unchanged.
        lo, hi = np.iinfo(data.dtype).min, np.iinfo(data.dtype).max
        clipped = np.count_nonzero((data <= lo) | (data >= hi)) / data.size if data.size \
            else 0.0
        iq = (data[:, 0].astype(np.float32) + 1j * data[:, 1].astype(np.float32)) / full
    elif data.dtype in (np.float32, np.float64):
        check_iq(data, path)
        clipped = np.count_nonzero(np.abs(data) >= 1.0) / data.size if data.size else 0.0
        iq = data[:, 0].astype(np.float32) + 1j * data[:, 1].astype(np.float32)
    else:
        raise InputError(f"{path}: sample format: {data.dtype}; expected 16- or 32-bit "
                         f"PCM or 32/64-bit float")
    if len(iq) == 0:
        raise InputError(f"{path}: length: the WAV holds 0 frames; expected a recording")
    return iq.astype(np.complex64), int(rate), float(clipped)


def _wav_header(path):
    """Channel count and bit depth from the header, or None if ``wave`` cannot parse it."""
    try:
        with wave.open(str(path), "rb") as w:
            return {"channels": w.getnchannels(), "bits": 8 * w.getsampwidth()}
    except (wave.Error, EOFError, OSError):
        return None  # float WAVs (format 3) are not parsed by ``wave``; scipy checks them


def read_npz(path):
    """Read the raw numpy form; return ``(iq complex64, rate, clipped_fraction)``."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file (0 bytes); expected an .npz with 'iq' and "
                         f"'sample_rate_hz'")
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = set(npz.files)
            missing = {"iq", "sample_rate_hz"} - names
            if missing:
                raise InputError(f"{path}: missing array(s) {sorted(missing)}; expected "
                                 f"'iq' and 'sample_rate_hz'")
            iq = np.asarray(npz["iq"])
            rate_arr = np.asarray(npz["sample_rate_hz"])
    except InputError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot be read as .npz ({exc})") from None
    if rate_arr.size != 1 or not np.issubdtype(rate_arr.dtype, np.number):
        raise InputError(f"{path}: sample_rate_hz: expected one number, got {rate_arr!r}")
    rate = float(rate_arr.reshape(()))
    if not math.isfinite(rate) or rate <= 0 or rate != int(rate):
        raise InputError(f"{path}: sample_rate_hz: {rate}; expected a positive integer (Hz)")
    if np.iscomplexobj(iq):
        if iq.ndim != 1:
            raise InputError(f"{path}: iq: complex array of shape {iq.shape}; expected 1-D")
        pair = np.stack([iq.real, iq.imag], axis=1)
    elif np.issubdtype(iq.dtype, np.floating):
        if iq.ndim != 2 or iq.shape[1] != 2:
            raise InputError(f"{path}: iq: real array of shape {iq.shape}; expected (n, 2) "
                             f"columns I, Q (or a 1-D complex array)")
        pair = iq
    else:
        raise InputError(f"{path}: iq: dtype {iq.dtype}; expected complex or float")
    if len(pair) == 0:
        raise InputError(f"{path}: iq: 0 samples; expected a recording")
    check_iq(pair, path)
    clipped = np.count_nonzero(np.abs(pair) >= 1.0) / pair.size
    z = (pair[:, 0] + 1j * pair[:, 1]).astype(np.complex64)
    return z, int(rate), float(clipped)


def check_iq(pair, path):
    """Refuse NaN or infinity in an ``(n, 2)`` float array, naming the first bad sample."""
    bad = ~np.isfinite(pair)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        what = "NaN" if np.isnan(pair[row, col]) else "infinity"
        raise InputError(f"{path}: sample {row}, channel {'IQ'[col]}: {what}; expected "
                         f"finite values ({int(bad.sum())} bad values in all)")


def resample_iq(iq, rate_hz, target_rate_hz=MODEL_RATE_HZ):
    """Resample complex ``iq`` from ``rate_hz`` to ``target_rate_hz`` (anti-aliased).

    Uses :func:`scipy.signal.resample_poly` with the exact rational ratio; its default
    Kaiser-windowed FIR low-pass filters out content above the lower of the two Nyquist
    frequencies, so a fast flow recorded at a high rate cannot fold back into the band.
    """
    from scipy.signal import resample_poly
    rate_hz, target_rate_hz = int(rate_hz), int(target_rate_hz)
    if rate_hz == target_rate_hz:
        return np.asarray(iq, dtype=np.complex64)
    ratio = Fraction(target_rate_hz, rate_hz)
    pair = np.stack([np.real(iq), np.imag(iq)], axis=1).astype(np.float32)
    out = resample_poly(pair, ratio.numerator, ratio.denominator, axis=0)
    return (out[:, 0] + 1j * out[:, 1]).astype(np.complex64)


# --------------------------------------------------------------------------- writing


def write_wav(path, iq, sample_rate_hz, *, sample_format="pcm16"):
    """Write complex ``iq`` (full-scale units) as a stereo I/Q WAV, atomically.

    ``sample_format`` is ``"pcm16"`` (values are rounded and must lie in [-1, 1)) or
    ``"float32"``.
    """
    from scipy.io import wavfile
    iq = np.asarray(iq)
    pair = np.stack([iq.real, iq.imag], axis=1)
    if sample_format == "pcm16":
        if np.abs(pair).max(initial=0.0) > 32767 / 32768:
            raise ValueError("samples beyond full scale; scale the recording before writing")
        data = np.round(pair * 32768.0).astype(np.int16)
    elif sample_format == "float32":
        data = pair.astype(np.float32)
    else:
        raise ValueError(f"sample_format {sample_format!r}; expected 'pcm16' or 'float32'")
    with atomic_path(path) as tmp:
        wavfile.write(tmp, int(sample_rate_hz), data)


def write_npz(path, iq, sample_rate_hz):
    """Write the raw numpy form (``iq`` complex64, ``sample_rate_hz``), atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, iq=np.asarray(iq, dtype=np.complex64),
                     sample_rate_hz=np.int64(sample_rate_hz))


# --------------------------------------------------------------------------- truth CSV


def truth_csv_text(events):
    """The truth CSV for ``events`` (a sequence of :class:`TruthEvent`) as text."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(_TRUTH_COLUMNS)

    def num(x, digits):
        return "" if x is None or (isinstance(x, float) and math.isnan(x)) \
            else f"{x:.{digits}f}"
    for ev in events:
        writer.writerow([num(ev.onset_s, 4), num(ev.duration_s, 4), ev.cls,
                         num(ev.ebr_db, 2), num(ev.frequency_hz, 1), num(ev.fm_hz, 1)])
    return buf.getvalue()


def write_truth_csv(path, events):
    """Write the truth CSV atomically."""
    write_text(path, truth_csv_text(events))


def read_truth_csv(path, *, duration_s=None):
    """Read and check a truth CSV; return a list of :class:`TruthEvent` sorted by onset.

    ``duration_s``, when given, is the recording's length: events must end inside it.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such truth CSV")
    # utf-8-sig: spreadsheet programs often start a CSV with a byte-order mark.
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in _TRUTH_REQUIRED if c not in header]
        if missing:
            raise InputError(f"{path}: header: missing column(s) {missing}; expected at "
                             f"least {','.join(_TRUTH_REQUIRED)}")
        events = []
        for line, row in enumerate(reader, start=2):
            def number(col, required=True):
                text = (row.get(col) or "").strip()
                if not text:
                    if required:
                        raise InputError(f"{path}: line {line}, column {col}: empty; "
                                         f"expected a number")
                    return math.nan
                try:
                    value = float(text)
                except ValueError:
                    raise InputError(f"{path}: line {line}, column {col}: {text!r}; "
                                     f"expected a number") from None
                if not math.isfinite(value):
                    raise InputError(f"{path}: line {line}, column {col}: {text!r}; "
                                     f"expected a finite number")
                return value
            onset, dur = number("onset_s"), number("duration_s")
            if onset < 0:
                raise InputError(f"{path}: line {line}, column onset_s: {onset}; expected "
                                 f">= 0")
            if dur <= 0:
                raise InputError(f"{path}: line {line}, column duration_s: {dur}; expected "
                                 f"> 0")
            cls = (row.get("class") or "").strip()
            if cls not in CLASSES:
                raise InputError(f"{path}: line {line}, column class: {cls!r}; expected one "
                                 f"of {', '.join(CLASSES)}")
            if duration_s is not None and onset + dur > duration_s + 1e-3:
                raise InputError(f"{path}: line {line}: event ends at {onset + dur:.3f} s, "
                                 f"after the end of the recording ({duration_s:.3f} s)")
            extra = {k: v for k, v in row.items() if k not in _TRUTH_COLUMNS}
            events.append(TruthEvent(onset, dur, cls, number("ebr_db", False),
                                     number("frequency_hz", False), number("fm_hz", False),
                                     extra))
    events.sort(key=lambda e: e.onset_s)
    return events
