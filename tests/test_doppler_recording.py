"""Recording reader/writer: format, sign convention, resampling, and every refused input."""

import csv
import json
import struct
import warnings
import wave

import numpy as np
import pytest
from scipy.io import wavfile

from sw.cli import main
from sw.doppler.recording import (MODEL_RATE_HZ, TruthEvent, read_recording,
                                  read_truth_csv, read_wav, truth_csv_text, write_npz,
                                  write_truth_csv, write_wav)
from sw.errors import InputError


def tone(freq_hz, seconds, rate, amp=0.5):
    t = np.arange(int(seconds * rate)) / rate
    return amp * np.exp(2j * np.pi * freq_hz * t)


def test_pcm16_round_trip_within_one_lsb(tmp_path):
    z = tone(300.0, 0.5, MODEL_RATE_HZ) + tone(-700.0, 0.5, MODEL_RATE_HZ, 0.3)
    write_wav(tmp_path / "a.wav", z, MODEL_RATE_HZ)
    rate, raw = wavfile.read(tmp_path / "a.wav")
    assert rate == MODEL_RATE_HZ and raw.dtype == np.int16 and raw.shape == (len(z), 2)
    rec = read_recording(tmp_path / "a.wav")
    assert rec.sample_rate_hz == MODEL_RATE_HZ
    assert np.max(np.abs(rec.iq.real - z.real)) <= 0.5 / 32768 + 1e-7
    assert np.max(np.abs(rec.iq.imag - z.imag)) <= 0.5 / 32768 + 1e-7


def test_sign_convention_positive_frequency_is_channel_q_leading(tmp_path):
    # Flow toward the probe: I = cos, Q = sin (Q lags I by a quarter period) -> +f.
    rate, f0 = MODEL_RATE_HZ, 550.0
    t = np.arange(4400) / rate
    data = np.stack([np.cos(2 * np.pi * f0 * t), np.sin(2 * np.pi * f0 * t)], 1) * 0.5
    wavfile.write(tmp_path / "toward.wav", rate, data.astype(np.float32))
    rec = read_recording(tmp_path / "toward.wav")
    freqs = np.fft.fftfreq(len(rec.iq), 1 / rate)
    assert freqs[np.argmax(np.abs(np.fft.fft(rec.iq)))] == pytest.approx(f0)


def test_resampling_keeps_band_and_rejects_alias(tmp_path):
    # 44.1 kHz file: a 500 Hz tone (in band) and a 3000 Hz tone, which a naive decimation
    # to 4.4 kHz would fold to 3000 - 4400 = -1400 Hz.
    rate = 44100
    z = tone(500.0, 1.0, rate, 0.4) + tone(3000.0, 1.0, rate, 0.4)
    write_wav(tmp_path / "hi.wav", z, rate, sample_format="float32")
    rec = read_recording(tmp_path / "hi.wav")
    assert rec.source_rate_hz == rate and rec.sample_rate_hz == MODEL_RATE_HZ
    assert len(rec.iq) == MODEL_RATE_HZ
    x = rec.iq[400:-400]                       # away from the filter's edge transients
    n = len(x)
    spec = np.abs(np.fft.fft(x * np.hanning(n))) / (np.hanning(n).sum())
    freqs = np.fft.fftfreq(n, 1 / MODEL_RATE_HZ)
    at = lambda f: spec[np.argmin(np.abs(freqs - f))]   # noqa: E731
    assert at(500.0) == pytest.approx(0.4, rel=0.02)
    assert 20 * np.log10(at(-1400.0) / 0.4) < -60


def test_npz_forms_round_trip(tmp_path):
    z = tone(-250.0, 0.2, 8800, 0.25)
    write_npz(tmp_path / "a.npz", z, 8800)
    np.savez(tmp_path / "b.npz", iq=np.stack([z.real, z.imag], 1), sample_rate_hz=8800)
    for name in ("a.npz", "b.npz"):
        rec = read_recording(tmp_path / name)
        assert rec.source_rate_hz == 8800 and len(rec.iq) == len(z) // 2
        # The tone keeps its frequency and amplitude through the 2:1 resampling.
        inner = rec.iq[50:-50]
        assert np.allclose(np.abs(inner), 0.25, atol=0.01)
        freqs = np.fft.fftfreq(len(inner), 1 / MODEL_RATE_HZ)
        assert freqs[np.argmax(np.abs(np.fft.fft(inner)))] == pytest.approx(-250, abs=15)


# ----------------------------------------------------------------- refused inputs


def _mono(p):
    wavfile.write(p, 4400, (np.zeros(1000) + 100).astype(np.int16))


def _eight_bit(p):
    wavfile.write(p, 4400, np.full((1000, 2), 128, dtype=np.uint8))


def _truncated_header(p):
    write_wav(p, tone(300, 0.1, 4400), 4400)
    p.write_bytes(p.read_bytes()[:30])


def _zero_bytes(p):
    p.write_bytes(b"")


def _zero_frames(p):
    wavfile.write(p, 4400, np.zeros((0, 2), dtype=np.int16))


def _low_rate(p):
    write_wav(p, tone(300, 0.5, 4000), 4000)


def _three_channels(p):
    wavfile.write(p, 4400, np.zeros((100, 3), dtype=np.int16))


def _inf_float_wav(p):
    data = np.zeros((100, 2), dtype=np.float32)
    data[7, 1] = np.inf
    wavfile.write(p, 4400, data)


def _clipped(p):
    data = np.zeros((1000, 2), dtype=np.int16)
    data[:20, 0] = 32767                   # 1 % of the samples at full scale
    wavfile.write(p, 4400, data)


def _nan_npz(p):
    z = tone(300, 0.1, 4400).astype(np.complex64)
    z[12] = np.nan
    np.savez(p, iq=z, sample_rate_hz=4400)


def _npz_without_rate(p):
    np.savez(p, iq=tone(300, 0.1, 4400))


BAD = {
    "mono.wav": (_mono, "channels"),
    "eight.wav": (_eight_bit, "8-bit"),
    "trunc.wav": (_truncated_header, "header"),
    "empty.wav": (_zero_bytes, "empty"),
    "noframes.wav": (_zero_frames, "0 frames"),
    "slow.wav": (_low_rate, "below the 4400 Hz"),
    "three.wav": (_three_channels, "expected 2"),
    "inf.wav": (_inf_float_wav, "infinity"),
    "clip.wav": (_clipped, "clipped"),
    "nan.npz": (_nan_npz, "NaN"),
    "norate.npz": (_npz_without_rate, "sample_rate_hz"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_reader_refuses_with_file_and_field(tmp_path, name):
    make, words = BAD[name]
    path = tmp_path / name
    make(path)
    with pytest.raises(InputError) as info:
        read_recording(path)
    assert str(path) in str(info.value) and words in str(info.value)


@pytest.mark.parametrize("name", sorted(BAD))
def test_cli_detect_exits_nonzero_and_writes_nothing(tmp_path, name, capsys):
    make, words = BAD[name]
    path = tmp_path / name
    make(path)
    before = set(tmp_path.rglob("*"))
    out = tmp_path / "out"
    assert main(["recordings", "detect", str(path), "--out", str(out)]) == 2
    assert not out.exists()
    assert set(tmp_path.rglob("*")) == before
    assert words in capsys.readouterr().err


def test_nan_in_npz_names_the_sample(tmp_path):
    _nan_npz(tmp_path / "n.npz")
    with pytest.raises(InputError, match=r"sample 12, channel I: NaN"):
        read_recording(tmp_path / "n.npz")


def test_8bit_wav_really_is_8bit(tmp_path):
    # The refusal above is about the sample format, not some other defect of the file.
    _eight_bit(tmp_path / "e.wav")
    with wave.open(str(tmp_path / "e.wav")) as w:
        assert w.getsampwidth() == 1 and w.getnchannels() == 2


def test_truncated_header_is_a_valid_prefix(tmp_path):
    _truncated_header(tmp_path / "t.wav")
    head = (tmp_path / "t.wav").read_bytes()
    assert head[:4] == b"RIFF" and head[8:12] == b"WAVE" and len(head) == 30
    assert struct.unpack("<I", head[4:8])[0] > 30  # the RIFF size promises more


# ----------------------------------------------------------------- truth CSV


def test_truth_csv_round_trip(tmp_path):
    events = [TruthEvent(1.25, 0.03, "solid", 7.5, 612.0, 12.0),
              TruthEvent(0.5, 0.6, "artefact", 20.0)]
    write_truth_csv(tmp_path / "t.csv", events)
    text = (tmp_path / "t.csv").read_text()
    assert text.splitlines()[0] == "onset_s,duration_s,class,ebr_db,frequency_hz,fm_hz"
    back = read_truth_csv(tmp_path / "t.csv")
    assert [(e.onset_s, e.duration_s, e.cls) for e in back] == \
        [(0.5, 0.6, "artefact"), (1.25, 0.03, "solid")]
    assert back[1].ebr_db == 7.5 and np.isnan(back[0].frequency_hz)


@pytest.mark.parametrize("text, words", [
    ("onset_s,class\n1,solid\n", "duration_s"),
    ("onset_s,duration_s,class\n1,0.02,bubble\n", "line 2, column class"),
    ("onset_s,duration_s,class\n1,0.02,solid\nx,0.02,solid\n", "line 3, column onset_s"),
    ("onset_s,duration_s,class\n1,-0.02,solid\n", "duration_s"),
    ("onset_s,duration_s,class\n9,0.02,solid\n", "after the end"),
])
def test_bad_truth_csv_refused_by_cli(tmp_path, text, words, capsys):
    write_wav(tmp_path / "r.wav", tone(300, 2.0, 4400, 0.1), 4400)
    (tmp_path / "t.csv").write_text(text)
    out = tmp_path / "out"
    assert main(["recordings", "detect", str(tmp_path / "r.wav"), "--truth", str(tmp_path / "t.csv"),
                 "--out", str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "t.csv" in err and words in err


def test_truth_csv_with_byte_order_mark(tmp_path):
    (tmp_path / "t.csv").write_bytes(b"\xef\xbb\xbfonset_s,duration_s,class\n1.5,0.02,solid\n")
    (ev,) = read_truth_csv(tmp_path / "t.csv")
    assert (ev.onset_s, ev.duration_s, ev.cls) == (1.5, 0.02, "solid")


def test_truth_csv_text_has_one_row_per_event():
    text = truth_csv_text([TruthEvent(1.0, 0.02, "gaseous", 20.0, 800.0, 500.0)])
    assert text == ("onset_s,duration_s,class,ebr_db,frequency_hz,fm_hz\n"
                    "1.0000,0.0200,gaseous,20.00,800.0,500.0\n")


def test_cli_simulate_npz_then_detect(tmp_path):
    from sw.cli import main as cli
    assert cli(["recordings", "simulate", "--minutes", "0.25", "--out", str(tmp_path / "r.npz"),
                "--seed", "1", "--no-progress"]) == 0
    rec = read_recording(tmp_path / "r.npz")
    assert rec.sample_rate_hz == 4400 and len(rec.iq) == 15 * 4400
    assert read_truth_csv(tmp_path / "r.truth.csv", duration_s=rec.duration_s) is not None
    assert cli(["recordings", "detect", str(tmp_path / "r.npz"), "--out", str(tmp_path / "d"),
                "--view", "1", "5"]) == 0
    assert (tmp_path / "d" / "spectrogram.png").is_file()


@pytest.mark.parametrize("argv, words", [
    (["--minutes", "1", "--out", "{d}/x.mp3"], "expected a .wav or .npz"),
    (["--minutes", "1", "--out", "{d}/dir.wav"], "is a directory"),
])
def test_cli_simulate_refuses_bad_output(tmp_path, argv, words, capsys):
    (tmp_path / "dir.wav").mkdir()
    argv = [a.replace("{d}", str(tmp_path)) for a in argv]
    assert main(["recordings", "simulate", *argv, "--no-progress"]) == 2
    assert words in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.wav"]


def test_cli_detect_refuses_view_outside(tmp_path, capsys):
    write_wav(tmp_path / "r.wav", tone(300, 2.0, 4400, 0.1), 4400)
    assert main(["recordings", "detect", str(tmp_path / "r.wav"), "--out", str(tmp_path / "o"),
                 "--view", "5", "1"]) == 2
    assert "--view" in capsys.readouterr().err and not (tmp_path / "o").exists()


# ----------------------------------------------------------------- truncated and 24-bit WAV
# The files are written byte by byte with struct, and the expected samples and lengths are
# worked out here from what was written, not from the reader.


def riff_wav(data, *, data_size=None, rate=4400, channels=2, bits=16, block=None,
             tag=1, extensible=False):
    """A WAV file's bytes: RIFF header, 'fmt ' chunk, 'data' chunk holding ``data``.

    ``data_size`` is what the header declares (default: ``len(data)``).
    """
    block = block or channels * ((bits + 7) // 8)
    fmt = struct.pack("<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * block,
                      block, bits)
    if extensible:
        guid = struct.pack("<IHH", tag, 0x0000, 0x0010) + bytes.fromhex("800000aa00389b71")
        fmt += struct.pack("<HHI", 22, bits, 0x3) + guid
    declared = len(data) if data_size is None else data_size
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", declared))
    return b"RIFF" + struct.pack("<I", len(body) + declared) + body + data


def pcm16_frames(n):
    """Frame k is I = k, Q = -k (16-bit little-endian)."""
    return b"".join(struct.pack("<hh", k, -k) for k in range(n))


def test_wav_cut_on_a_frame_boundary_is_refused_naming_both_lengths(tmp_path):
    # The header promises 1000 frames (4000 bytes); 600 frames (2400 bytes) are there.
    path = tmp_path / "cut.wav"
    path.write_bytes(riff_wav(pcm16_frames(600), data_size=4000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no WavFileWarning (nor any other)
        with pytest.raises(InputError) as info:
            read_recording(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: data chunk: truncated")
    assert "4000 bytes (1000 frames" in msg and "2400 bytes (600 frames" in msg
    assert "--accept-truncated" in msg and "header:" not in msg


def test_wav_cut_on_a_frame_boundary_read_with_accept_truncated(tmp_path):
    path = tmp_path / "cut.wav"
    path.write_bytes(riff_wav(pcm16_frames(600), data_size=4000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec = read_recording(path, accept_truncated=True)
    k = np.arange(600)
    np.testing.assert_array_equal(rec.iq, ((k - 1j * k) / 32768).astype(np.complex64))
    assert (rec.frames_read, rec.frames_declared, rec.truncated) == (600, 1000, True)
    assert rec.declared_duration_s == pytest.approx(1000 / 4400)
    assert rec.truncation_note() == (
        f"{path}: truncated WAV: read 600 of the 1000 frames its header declares "
        f"(0.14 s of 0.23 s); the rest is not in the file")


def test_wav_cut_inside_a_frame_is_a_truncated_data_chunk(tmp_path):
    # 600 whole frames and 3 of the 4 bytes of frame 600.
    path = tmp_path / "mid.wav"
    path.write_bytes(riff_wav(pcm16_frames(601)[:2403], data_size=4000))
    with pytest.raises(InputError) as info:
        read_recording(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: data chunk: truncated")
    assert "2403 bytes (600 frames, 0.14 s, and 3 bytes of a cut frame)" in msg
    assert "header:" not in msg and "reshape" not in msg
    rec = read_recording(path, accept_truncated=True)
    assert (rec.frames_read, rec.frames_declared) == (600, 1000)
    assert rec.iq[-1] == np.complex64((599 - 599j) / 32768)


def test_data_chunk_not_a_whole_number_of_frames_counts_as_cut(tmp_path):
    # The header itself declares 2402 bytes: 600 frames and half of one more.
    path = tmp_path / "odd.wav"
    path.write_bytes(riff_wav(pcm16_frames(601)[:2402]))
    with pytest.raises(InputError, match=r"truncated \(the file ends inside a frame\)"):
        read_recording(path)
    rec = read_recording(path, accept_truncated=True)
    assert (rec.frames_read, rec.frames_declared) == (600, 601)


def test_complete_wav_is_not_truncated(tmp_path):
    path = tmp_path / "whole.wav"
    path.write_bytes(riff_wav(pcm16_frames(600)))
    rec = read_recording(path)
    assert (rec.frames_read, rec.frames_declared, rec.truncated) == (600, 600, False)
    assert rec.truncation_note() is None


# Frames of 24-bit samples and what they are in full-scale units (2^23 = 8388608).
PCM24 = [(0, 1), (-1, 0x123456), (-0x123456, 8388607), (-8388608, 4194304)]


def pcm24_frames(frames):
    # A 24-bit sample is the low three bytes of its little-endian 32-bit two's complement.
    return b"".join(struct.pack("<i", v)[:3] for frame in frames for v in frame)


@pytest.mark.parametrize("extensible", [False, True])
def test_24_bit_pcm_read_by_hand(tmp_path, extensible):
    path = tmp_path / "p24.wav"
    data = pcm24_frames(PCM24 * 100)
    assert len(data) == 400 * 6
    path.write_bytes(riff_wav(data, bits=24, extensible=extensible))
    iq, rate, clipped, declared = read_wav(path)
    want = np.array([complex(i / 8388608, q / 8388608) for i, q in PCM24] * 100)
    np.testing.assert_array_equal(iq, want.astype(np.complex64))
    assert (rate, declared) == (4400, 400)
    # 8388607 and -8388608 are the 24-bit extremes: 2 of the 8 samples of each 4 frames.
    assert clipped == 0.25
    rec = read_recording(path, max_clipped_fraction=0.3)
    np.testing.assert_array_equal(rec.iq, want.astype(np.complex64))


def test_20_bit_samples_in_24_bit_containers(tmp_path):
    # 20 bits, left-justified in 3 bytes: the largest positive sample is 0x7FFFF0.
    path = tmp_path / "p20.wav"
    frames = [(0x7FFFF0, 0x100), (-0x800000, 0x7FFFE0)]
    path.write_bytes(riff_wav(pcm24_frames(frames), bits=20, block=6))
    iq, _, clipped, _ = read_wav(path)
    np.testing.assert_array_equal(iq, np.array([complex(0x7FFFF0, 0x100),
                                                complex(-0x800000, 0x7FFFE0)]) / 8388608)
    assert clipped == 0.5


def test_24_bit_wav_cut_inside_a_frame(tmp_path):
    path = tmp_path / "p24cut.wav"
    data = pcm24_frames(PCM24 * 10)            # 40 frames of 6 bytes
    path.write_bytes(riff_wav(data[:100], bits=24, data_size=len(data)))
    with pytest.raises(InputError) as info:
        read_wav(path)
    assert "240 bytes (40 frames" in str(info.value)
    assert "100 bytes (16 frames, 0.00 s, and 4 bytes of a cut frame)" in str(info.value)
    iq, _, _, declared = read_wav(path, accept_truncated=True)
    assert (len(iq), declared) == (16, 40)


def test_unknown_chunks_and_unsupported_formats(tmp_path):
    # A LIST chunk before the data is skipped without a warning.
    wav = riff_wav(pcm16_frames(300))
    listed = wav[:36] + b"LIST" + struct.pack("<I", 5) + b"abcde\0" + wav[36:]
    listed = listed[:4] + struct.pack("<I", len(listed) - 8) + listed[8:]
    (tmp_path / "list.wav").write_bytes(listed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(read_recording(tmp_path / "list.wav").iq) == 300
    (tmp_path / "alaw.wav").write_bytes(riff_wav(bytes(600), bits=8, block=2, tag=6))
    with pytest.raises(InputError, match=r"format tag 0x0006 \(A-law\)"):
        read_recording(tmp_path / "alaw.wav")
    (tmp_path / "fast.wav").write_bytes(riff_wav(pcm16_frames(300), rate=1_000_000_000))
    with pytest.raises(InputError, match="expected at most 384000 Hz"):
        read_recording(tmp_path / "fast.wav")


def test_cli_detect_truncated_wav(tmp_path, capsys):
    # 2 s of a tone declared, 1 s there; a truth event in each second.
    z = tone(300, 2.0, 4400, 0.1)
    write_wav(tmp_path / "full.wav", z, 4400)
    whole = (tmp_path / "full.wav").read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(whole[:44 + 4400 * 4])    # 44-byte header, then 4400 frames
    (tmp_path / "t.csv").write_text("onset_s,duration_s,class\n0.5,0.02,solid\n"
                                    "1.5,0.02,gaseous\n")
    out = tmp_path / "out"
    assert main(["recordings", "detect", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "8800 frames" in err and "4400 frames" in err
    assert not out.exists()
    assert main(["recordings", "detect", str(path), "--out", str(out), "--truth",
                 str(tmp_path / "t.csv"), "--accept-truncated"]) == 0
    printed = capsys.readouterr().out
    assert (f"{path}: truncated WAV: read 4400 of the 8800 frames its header declares "
            f"(1.00 s of 2.00 s); the rest is not in the file; 1 truth events after the "
            f"cut left out") in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["truth_events"] == 1 and metrics["truth_events_after_cut"] == 1
    assert (metrics["frames_read"], metrics["frames_declared"]) == (4400, 8800)


def test_infer_inputs_report_the_truncation(tmp_path):
    # The bundled example: 528000 frames (120 s at 4400 Hz), cut after 50 s.
    from sw.infer.pipeline import DEFAULT_MODEL, ROOT
    from sw.infer.inputs import recording_inputs
    from sw.program.file import load

    source = ROOT / "data" / "example" / "tcd-example.wav"
    data = source.read_bytes()
    assert data[36:40] == b"data" and struct.unpack("<I", data[40:44])[0] == 528000 * 4
    path = tmp_path / "tcd-cut.wav"
    path.write_bytes(data[:44 + 220000 * 4])
    program = load(DEFAULT_MODEL)
    truth = source.with_suffix(".truth.csv")
    with pytest.raises(InputError, match="data chunk: truncated"):
        recording_inputs(path, program, DEFAULT_MODEL, truth_path=truth)
    inputs = recording_inputs(path, program, DEFAULT_MODEL, truth_path=truth,
                              accept_truncated=True)
    onsets = [float(row["onset_s"]) for row in csv.DictReader(open(truth))]
    assert inputs.info["frames_read"] == 220000 and inputs.info["frames_declared"] == 528000
    assert inputs.info["truth_events"] == sum(t < 50 for t in onsets)
    assert inputs.info["truth_events_after_cut"] == sum(t >= 50 for t in onsets) > 0
    assert inputs.info["truncation"].startswith(f"{path}: truncated WAV: read 220000 of "
                                                f"the 528000 frames")
    assert inputs.info["duration_s"] == pytest.approx(50.0)


def test_big_endian_rifx_and_out_of_range_float(tmp_path):
    # RIFX: the same layout with every field big-endian.
    fmt = struct.pack(">HHIIHH", 1, 2, 4400, 4400 * 4, 4, 16)
    data = b"".join(struct.pack(">hh", k, -2 * k) for k in range(200))
    body = b"WAVEfmt " + struct.pack(">I", 16) + fmt + b"data" + struct.pack(">I", len(data))
    (tmp_path / "be.wav").write_bytes(b"RIFX" + struct.pack(">I", len(body) + len(data))
                                      + body + data)
    k = np.arange(200)
    np.testing.assert_array_equal(read_recording(tmp_path / "be.wav").iq,
                                  ((k - 2j * k) / 32768).astype(np.complex64))
    # A float64 sample beyond float32's range is refused, not turned into infinity.
    pair = np.zeros((200, 2))
    pair[5, 1] = 1e300
    wavfile.write(tmp_path / "f64.wav", 4400, pair)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError, match=r"f64.wav: sample 5, channel Q: 1e\+300"):
            read_recording(tmp_path / "f64.wav", max_clipped_fraction=1)
