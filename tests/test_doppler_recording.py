"""Recording reader/writer: format, sign convention, resampling, and every refused input."""

import struct
import wave

import numpy as np
import pytest
from scipy.io import wavfile

from sw.cli import main
from sw.doppler.recording import (MODEL_RATE_HZ, TruthEvent, read_recording,
                                  read_truth_csv, truth_csv_text, write_npz, write_truth_csv,
                                  write_wav)
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
