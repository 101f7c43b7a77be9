"""Recorded Doppler files: reading, checking, resampling and writing.

Recording format
----------------
A recording is the quadrature (complex baseband) Doppler signal of one sample volume.

* **WAV** (``.wav``): two channels, channel 0 = I (in-phase), channel 1 = Q (quadrature);
  16-, 24- or 32-bit signed PCM, or 32/64-bit IEEE float; any sample rate from 4400 Hz to
  384 kHz. 8-bit WAV (unsigned, 48 dB of dynamic range) and mono files are refused. A file
  whose data chunk is shorter than its header says (a cut copy or an interrupted
  recording) is refused unless ``accept_truncated`` is given; then its whole frames are
  read and :attr:`Recording.frames_declared` says how many the header promised.
* **Raw numpy** (``.npz``): an array ``iq`` holding either a 1-D complex array or an
  ``(n, 2)`` real array (I, Q), and a scalar ``sample_rate_hz``. Values are in full-scale
  units (|I|, |Q| <= 1 for an unclipped recording).

WAV files are parsed here (RIFF chunks by hand, samples with numpy) rather than by
:mod:`scipy.io.wavfile`: scipy reads a data chunk shorter than its header says with no
more than a ``WavFileWarning`` (a cut recording then passes as a shorter one), fails on a
cut inside a frame with numpy's reshape message, and does not count positive clipping of
24-bit samples; a user needs each of these named, in the terms of the file.

Samples are brought to full-scale units: PCM divided by 2^15 (16-bit), 2^23 (24-bit) or
2^31 (32-bit), float as stored (full scale is 1.0; samples at or beyond it count as
clipped).

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
import zipfile
import zlib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..atomic import atomic_path, write_text
from ..errors import InputError

__all__ = [
    "MODEL_RATE_HZ",
    "MAX_RATE_HZ",
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
    "read_truth_for",
    "write_truth_csv",
    "truth_csv_text",
]

#: Sample rate of the HITS models (Hz).
MODEL_RATE_HZ = 4400
#: Event classes, in the order of the HITS data set.
CLASSES = ("artefact", "gaseous", "solid")
#: Highest sample rate read (the highest audio rate). It bounds the resampler's work: a
#: rate damaged in a file header (billions of Hz) would otherwise need a filter of
#: billions of taps.
MAX_RATE_HZ = 384000
#: Default largest fraction of clipped I/Q samples a recording may have.
DEFAULT_MAX_CLIPPED_FRACTION = 0.001

_WAVE_PCM, _WAVE_FLOAT, _WAVE_EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
_WAVE_FORMAT_NAMES = {0x0002: "MS ADPCM", 0x0006: "A-law", 0x0007: "mu-law",
                      0x0011: "IMA ADPCM", 0x0055: "MP3"}
# The last 12 bytes of a WAVE_FORMAT_EXTENSIBLE sub-format GUID, as stored little-endian
# (RIFF, RF64) and big-endian (RIFX); its first 4 bytes are the format tag.
_KSDATAFORMAT_TAIL = {"<": b"\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71",
                      ">": b"\x00\x00\x00\x10\x80\x00\x00\xaa\x00\x38\x9b\x71"}
_SAMPLE_FORMATS = "16-, 24- or 32-bit PCM or 32/64-bit float"
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
    frames_read : int
        I/Q frames read from the file (at ``source_rate_hz``).
    frames_declared : int
        Frames the file's header declares; more than ``frames_read`` only for a
        truncated WAV read with ``accept_truncated`` (a cut frame counts as one).
    """

    iq: np.ndarray
    sample_rate_hz: int
    source_rate_hz: int = 0
    path: str = ""
    clipped_fraction: float = 0.0
    frames_read: int = 0
    frames_declared: int = 0

    @property
    def duration_s(self):
        """Length in seconds."""
        return len(self.iq) / self.sample_rate_hz

    @property
    def truncated(self):
        """True when the file holds fewer frames than its header declares."""
        return self.frames_read < self.frames_declared

    @property
    def declared_duration_s(self):
        """Length in seconds that the file's header declares."""
        if not self.truncated or not self.source_rate_hz:
            return self.duration_s
        return self.frames_declared / self.source_rate_hz

    def truncation_note(self):
        """One line saying how much of a truncated file was read, or None."""
        if not self.truncated:
            return None
        return (f"{self.path}: truncated WAV: read {self.frames_read} of the "
                f"{self.frames_declared} frames its header declares "
                f"({self.frames_read / self.source_rate_hz:.2f} s of "
                f"{self.declared_duration_s:.2f} s); the rest is not in the file")


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
                   max_clipped_fraction=DEFAULT_MAX_CLIPPED_FRACTION, accept_truncated=False):
    """Read, check and resample a recording (WAV or ``.npz``) to ``target_rate_hz``.

    Parameters
    ----------
    path : str or Path
        ``.wav`` or ``.npz`` file in the format described in this module's docstring.
    target_rate_hz : int
        Rate the samples are brought to; files below it are refused.
    max_clipped_fraction : float
        Largest tolerated fraction of I/Q samples at full scale.
    accept_truncated : bool
        False (default): a WAV whose data chunk is shorter than its header says is
        refused. True: its whole frames are read, and the result's ``frames_read`` and
        ``frames_declared`` (and :meth:`Recording.truncation_note`) say how much that is.

    Returns
    -------
    Recording

    Raises
    ------
    InputError
        For a missing or unreadable file, a wrong channel count or sample format, an
        empty or (without ``accept_truncated``) truncated file, NaN or infinity, too much
        clipping, or a rate below the models' or above :data:`MAX_RATE_HZ`.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such recording file")
    suffix = path.suffix.lower()
    if suffix == ".wav":
        iq, rate, clipped, declared = read_wav(path, accept_truncated=accept_truncated)
    elif suffix == ".npz":
        iq, rate, clipped = read_npz(path)
        declared = len(iq)
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
    if rate > MAX_RATE_HZ:
        raise InputError(
            f"{path}: sample rate: {rate} Hz; expected at most {MAX_RATE_HZ} Hz (a damaged "
            f"header, or resample the recording first)")
    frames = len(iq)
    iq = resample_iq(iq, rate, target_rate_hz)
    return Recording(iq=iq, sample_rate_hz=int(target_rate_hz), source_rate_hz=int(rate),
                     path=str(path), clipped_fraction=float(clipped), frames_read=frames,
                     frames_declared=int(declared))


@dataclass(frozen=True)
class _WavLayout:
    """What a WAV's header says: the ``fmt `` fields and where the data chunk lies."""

    endian: str
    format_tag: int
    channels: int
    rate: int
    block_align: int
    bits: int
    data_offset: int
    declared_bytes: int     # the data chunk's size as the header gives it
    available_bytes: int    # what of it the file holds


def _wav_layout(path, size):
    """Walk the RIFF chunks of ``path`` (``size`` bytes) up to the data chunk.

    RIFF (little-endian), RIFX (big-endian) and RF64 (sizes in a ``ds64`` chunk) are read.
    The data chunk's declared size is kept apart from what the file holds, so that a cut
    file is told from a damaged header.
    """
    with open(path, "rb") as fh:
        riff = fh.read(12)
        if len(riff) < 12 or riff[:4] not in (b"RIFF", b"RIFX", b"RF64") \
                or riff[8:12] != b"WAVE":
            raise InputError(f"{path}: WAV header: starts with {riff[:12]!r}; expected "
                             f"'RIFF', a size and 'WAVE' (a RIFF/WAVE file)")
        endian = ">" if riff[:4] == b"RIFX" else "<"
        fmt, ds64_data, pos = None, None, 12
        while True:
            fh.seek(pos)
            head = fh.read(8)
            if len(head) < 8:
                missing = "'fmt ' chunk" if fmt is None else "'data' chunk"
                raise InputError(f"{path}: WAV header: no {missing} in the file's {size} "
                                 f"bytes; expected a complete RIFF/WAVE file")
            chunk_id = head[:4]
            (chunk_size,) = struct.unpack(endian + "I", head[4:])
            body = pos + 8
            if chunk_id == b"data":
                if fmt is None:
                    raise InputError(f"{path}: WAV header: the 'data' chunk comes before "
                                     f"the 'fmt ' chunk; expected 'fmt ' first")
                declared = chunk_size
                if riff[:4] == b"RF64" and chunk_size == 0xFFFFFFFF:
                    if ds64_data is None:
                        raise InputError(f"{path}: WAV header: an RF64 file without a "
                                         f"'ds64' chunk; expected the data size there")
                    declared = ds64_data
                return _WavLayout(endian, *fmt, data_offset=body, declared_bytes=declared,
                                  available_bytes=max(0, min(declared, size - body)))
            if chunk_id == b"fmt ":
                fmt = _fmt_fields(path, fh.read(min(chunk_size, 40)), chunk_size, endian)
            elif chunk_id == b"ds64" and riff[:4] == b"RF64":
                raw = fh.read(16)
                if len(raw) == 16:
                    ds64_data = struct.unpack("<Q", raw[8:])[0]
            # Chunks are padded to an even length.
            pos = body + chunk_size + (chunk_size & 1)


def _fmt_fields(path, raw, chunk_size, endian):
    """(format tag, channels, rate, block align, bits) of a ``fmt `` chunk's bytes."""
    if chunk_size < 16:
        raise InputError(f"{path}: WAV header: 'fmt ' chunk of {chunk_size} bytes; expected "
                         f"at least 16")
    if len(raw) < 16:
        raise InputError(f"{path}: WAV header: the file ends inside the 'fmt ' chunk; "
                         f"expected a complete RIFF/WAVE file")
    tag, channels, rate, _, block_align, bits = struct.unpack(endian + "HHIIHH", raw[:16])
    if tag == _WAVE_EXTENSIBLE and len(raw) >= 40 and raw[28:40] == _KSDATAFORMAT_TAIL[endian]:
        (tag,) = struct.unpack(endian + "I", raw[24:28])
    return tag, channels, rate, block_align, bits


def _wav_frames(nbytes, block_align, rate):
    """``nbytes`` of sample data in frames (and seconds), for messages."""
    frames, rest = divmod(nbytes, block_align)
    text = f"{frames} frames"
    if rate:
        text += f", {frames / rate:.2f} s"
    if rest:
        text += f", and {rest} bytes of a cut frame"
    return text


def read_wav(path, *, accept_truncated=False):
    """Read a stereo I/Q WAV.

    Parameters
    ----------
    path : str or Path
    accept_truncated : bool
        Read the whole frames of a WAV whose data chunk is shorter than its header says
        (or ends inside a frame) instead of refusing it.

    Returns
    -------
    iq : numpy.ndarray
        complex64, full-scale units.
    rate : int
        Sample rate of the file (Hz).
    clipped : float
        Fraction of I/Q samples at full scale.
    frames_declared : int
        Frames the header declares (``len(iq)`` unless the file is truncated).

    Raises
    ------
    InputError
        Naming the file and the field: a damaged header, not 2 channels, an unsupported
        sample format, a truncated data chunk (unless ``accept_truncated``), no frames,
        NaN or infinity in a float file.
    """
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path}: empty file (0 bytes); expected a stereo I/Q WAV")
    w = _wav_layout(path, size)
    if w.channels != 2:
        raise InputError(f"{path}: channels: {w.channels} channel(s); expected 2 "
                         f"(channel 0 = I, channel 1 = Q)")
    if w.block_align == 0 or w.block_align % w.channels:
        raise InputError(f"{path}: WAV header: block align of {w.block_align} bytes for "
                         f"{w.channels} channels; expected a whole number of bytes per "
                         f"sample")
    width = w.block_align // w.channels
    if w.format_tag == _WAVE_PCM:
        if 0 < w.bits <= 8:
            raise InputError(f"{path}: sample format: 8-bit PCM; expected {_SAMPLE_FORMATS} "
                             f"(8 bits give too little dynamic range for embolus-to-blood "
                             f"ratios)")
        if width not in (2, 3, 4) or not 8 < w.bits <= 8 * width:
            raise InputError(f"{path}: sample format: {w.bits}-bit PCM in {width}-byte "
                             f"samples; expected {_SAMPLE_FORMATS}")
    elif w.format_tag == _WAVE_FLOAT:
        if width not in (4, 8) or w.bits != 8 * width:
            raise InputError(f"{path}: sample format: {w.bits}-bit float in {width}-byte "
                             f"samples; expected {_SAMPLE_FORMATS}")
    else:
        name = _WAVE_FORMAT_NAMES.get(w.format_tag, "")
        raise InputError(f"{path}: sample format: WAV format tag {w.format_tag:#06x}"
                         f"{f' ({name})' if name else ''}; expected PCM (1) or IEEE float "
                         f"(3) holding {_SAMPLE_FORMATS}")

    frames, rest = divmod(w.available_bytes, w.block_align)
    declared_frames = -(-w.declared_bytes // w.block_align)
    if (w.available_bytes < w.declared_bytes or rest) and not accept_truncated:
        cut = ("the file ends inside a frame" if w.available_bytes == w.declared_bytes
               else "the file ends early")
        raise InputError(
            f"{path}: data chunk: truncated ({cut}): the header declares "
            f"{w.declared_bytes} bytes ({_wav_frames(w.declared_bytes, w.block_align, w.rate)})"
            f"; the file holds {w.available_bytes} bytes "
            f"({_wav_frames(w.available_bytes, w.block_align, w.rate)}). Was the copy or the "
            f"recording interrupted? --accept-truncated (accept_truncated=True) reads the "
            f"{frames} whole frames that are there")
    if frames == 0:
        raise InputError(f"{path}: length: the WAV holds 0 frames; expected a recording")
    with open(path, "rb") as fh:
        fh.seek(w.data_offset)
        raw = np.fromfile(fh, dtype=np.uint8, count=frames * w.block_align)
    if len(raw) != frames * w.block_align:
        raise InputError(f"{path}: data chunk: {len(raw)} bytes could be read of "
                         f"{frames * w.block_align}; the file changed while being read?")
    raw = raw.reshape(frames * w.channels, width)
    if w.format_tag == _WAVE_FLOAT:
        data = raw.view(f"{w.endian}f{width}").reshape(frames, 2)
        check_iq(data, path)
        clipped = np.count_nonzero(np.abs(data) >= 1.0) / data.size
        iq = _complex64(data, path)
    else:
        if width == 3:
            # Widen to int32 with the 24 bits in the top bytes, then shift back down with
            # the sign: numpy has no 3-byte integer.
            wide = np.zeros((len(raw), 4), dtype=np.uint8)
            if w.endian == "<":
                wide[:, 1:] = raw
            else:
                wide[:, :3] = raw
            data = wide.view(f"{w.endian}i4") >> 8
        else:
            data = raw.view(f"{w.endian}i{width}")
        data = data.reshape(frames, 2)
        full = float(1 << (8 * width - 1))
        # Samples of fewer bits than their container are left-justified (the low bits
        # are zero), so the largest positive value is one step of the *used* bits below
        # full scale.
        lo, hi = -full, full - (1 << (8 * width - w.bits))
        clipped = np.count_nonzero((data <= lo) | (data >= hi)) / data.size
        iq = (data[:, 0].astype(np.float32) + 1j * data[:, 1].astype(np.float32)) / full
    return iq.astype(np.complex64), int(w.rate), float(clipped), int(declared_frames)


def read_npz(path):
    """Read the raw numpy form; return ``(iq complex64, rate, clipped_fraction)``."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file (0 bytes); expected an .npz with 'iq' and "
                         f"'sample_rate_hz'")
    try:
        # The file is opened here so that it is closed however np.load fails (it leaves
        # its own file open when the zip archive is damaged).
        with open(path, "rb") as fh:
            npz = np.load(fh, allow_pickle=False)
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise InputError(f"{path}: a single .npy array, not an .npz archive; "
                                 f"expected arrays 'iq' and 'sample_rate_hz'")
            with npz:
                missing = {"iq", "sample_rate_hz"} - set(npz.files)
                if missing:
                    raise InputError(f"{path}: missing array(s) {sorted(missing)}; expected "
                                     f"'iq' and 'sample_rate_hz'")
                iq = np.asarray(npz["iq"])
                rate_arr = np.asarray(npz["sample_rate_hz"])
    except InputError:
        raise
    # A damaged member of the zip archive fails in zipfile or zlib, not in numpy; a damaged
    # array header can declare more elements than memory holds.
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error,
            MemoryError) as exc:
        raise InputError(f"{path}: cannot be read as .npz ({exc})") from None
    if rate_arr.size != 1 or not (np.issubdtype(rate_arr.dtype, np.integer)
                                  or np.issubdtype(rate_arr.dtype, np.floating)):
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
    return _complex64(pair, path), int(rate), float(clipped)


def check_iq(pair, path):
    """Refuse NaN or infinity in an ``(n, 2)`` float array, naming the first bad sample."""
    bad = ~np.isfinite(pair)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        what = "NaN" if np.isnan(pair[row, col]) else "infinity"
        raise InputError(f"{path}: sample {row}, channel {'IQ'[col]}: {what}; expected "
                         f"finite values ({int(bad.sum())} bad values in all)")


def _complex64(pair, path):
    """``I + jQ`` of a finite ``(n, 2)`` float array as complex64; refuse a value float32
    cannot hold (it would become infinity)."""
    with np.errstate(over="ignore"):
        pair32 = pair.astype(np.float32)
    bad = ~np.isfinite(pair32)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(f"{path}: sample {row}, channel {'IQ'[col]}: {pair[row, col]:g}; "
                         f"expected full-scale units (|I|, |Q| <= 1)")
    return (pair32[:, 0] + 1j * pair32[:, 1]).astype(np.complex64)


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


def read_truth_for(path, recording):
    """Read the truth CSV of ``recording``, keeping the events that begin in the part read.

    The events are checked against the length the recording's header declares, so that
    the truth of a truncated recording read with ``accept_truncated`` still passes; the
    events that begin after the cut are left out (and counted) rather than scored as
    missed.

    Returns
    -------
    events : list of TruthEvent
    beyond : int
        How many events begin after the end of what was read (0 unless truncated).
    """
    events = read_truth_csv(path, duration_s=recording.declared_duration_s)
    if not recording.truncated:
        return events, 0
    kept = [e for e in events if e.onset_s < recording.duration_s]
    return kept, len(events) - len(kept)


def read_truth_csv(path, *, duration_s=None):
    """Read and check a truth CSV; return a list of :class:`TruthEvent` sorted by onset.

    ``duration_s``, when given, is the recording's length: events must end inside it.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such truth CSV")
    try:
        # utf-8-sig: spreadsheet programs often start a CSV with a byte-order mark.
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in _TRUTH_REQUIRED if c not in header]
            if missing:
                raise InputError(f"{path}: header: missing column(s) {missing}; expected "
                                 f"at least {','.join(_TRUTH_REQUIRED)}")
            events = [_truth_event(path, line, row, duration_s)
                      for line, row in enumerate(reader, start=2)]
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a valid UTF-8 CSV file ({exc}); expected a header "
                         f"{','.join(_TRUTH_REQUIRED)} and one row per event") from None
    events.sort(key=lambda e: e.onset_s)
    return events


def _truth_event(path, line, row, duration_s):
    """The :class:`TruthEvent` of one row of a truth CSV, checked."""
    def number(col, required=True):
        text = (row.get(col) or "").strip()
        if not text:
            if required:
                raise InputError(f"{path}: line {line}, column {col}: empty; expected a "
                                 f"number")
            return math.nan
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"{path}: line {line}, column {col}: {text!r}; expected a "
                             f"number") from None
        if not math.isfinite(value):
            raise InputError(f"{path}: line {line}, column {col}: {text!r}; expected a "
                             f"finite number")
        return value
    onset, dur = number("onset_s"), number("duration_s")
    if onset < 0:
        raise InputError(f"{path}: line {line}, column onset_s: {onset}; expected >= 0")
    if dur <= 0:
        raise InputError(f"{path}: line {line}, column duration_s: {dur}; expected > 0")
    cls = (row.get("class") or "").strip()
    if cls not in CLASSES:
        raise InputError(f"{path}: line {line}, column class: {cls!r}; expected one of "
                         f"{', '.join(CLASSES)}")
    if duration_s is not None and onset + dur > duration_s + 1e-3:
        raise InputError(f"{path}: line {line}: event ends at {onset + dur:.3f} s, after the "
                         f"end of the recording ({duration_s:.3f} s)")
    extra = {k: v for k, v in row.items() if k not in _TRUTH_COLUMNS}
    return TruthEvent(onset, dur, cls, number("ebr_db", False), number("frequency_hz", False),
                      number("fm_hz", False), extra)
