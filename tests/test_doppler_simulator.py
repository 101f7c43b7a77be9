"""Simulator: physics of the background, event durations, EBR, class ratios, determinism,
unidirectional emboli and bidirectional artefacts."""

import math

import numpy as np
import pytest
from scipy.special import ndtr

from sw.cli import main
from sw.doppler.params import SimulatorParams, doppler_shift_hz
from sw.doppler.simulator import (CardiacClock, Subject, artefact_waveform, draw_subject,
                                  embolus_waveform, simulate_recording, velocity_pdf)

FS = 4400
PARAMS = SimulatorParams()


@pytest.fixture(scope="module")
def rec():
    return simulate_recording(12 * 60.0, seed=11)


def emboli(r):
    return [e for e in r.events if e.cls != "artefact"]


def test_doppler_equation_by_hand():
    # 2 * 2 MHz * 0.77 m/s / 1540 m/s = 2000 Hz; at 60 degrees, half.
    assert doppler_shift_hz(0.77, 2e6) == pytest.approx(2000.0)
    assert doppler_shift_hz(0.77, 2e6, math.radians(60)) == pytest.approx(1000.0)


def test_velocity_pdf_poiseuille_is_uniform_and_blunt_profiles_favour_vmax():
    edges = np.linspace(0, 1000, 11)
    assert np.allclose(velocity_pdf(edges, 1000.0, 2.0), 0.1)
    blunt = velocity_pdf(edges, 1000.0, 4.0)
    # F(f) = 1 - (1 - f/fmax)^(1/2) for n = 4: last bin holds 1 - (1 - 0.9)^0.5 ... of it
    assert blunt.sum() == pytest.approx(1.0)
    assert blunt[-1] == pytest.approx(math.sqrt(0.1))
    assert np.all(np.diff(blunt) > 0)


def test_background_spectrum_lies_under_the_doppler_shift_of_peak_systole():
    s = Subject(psv_cm_s=60.0, edv_cm_s=26.0, heart_rate_bpm=70.0, angle_deg=20.0,
                profile_exponent=3.0, wall_filter_hz=80.0, snr_db=25.0)
    r = simulate_recording(60.0, seed=5, counts={"solid": 0}, subject=s)
    f_psv = doppler_shift_hz(s.psv_cm_s / 100, 2e6, math.radians(s.angle_deg))
    f_edv = doppler_shift_hz(s.edv_cm_s / 100, 2e6, math.radians(s.angle_deg))
    from scipy.signal import welch
    f, p = welch(r.iq, fs=FS, nperseg=256, return_onesided=False)
    noise = np.median(p[f < -300])          # the reverse-flow side holds only noise
    flow_band = (f > 200) & (f < 0.8 * f_edv)  # always inside the spectral envelope
    above = f > f_psv * (1 + 4 * PARAMS.flow.spectral_broadening) + 2 * FS / 256
    assert 10 * np.log10(p[flow_band].min() / noise) > 10
    assert 10 * np.log10(p[above].max() / noise) < 3


def test_background_is_pulsatile_at_the_heart_rate():
    r = simulate_recording(60.0, seed=6, counts={"solid": 0})
    # Mean Doppler frequency per 20 ms frame follows the cardiac cycle.
    frames = r.iq[: len(r.iq) // 88 * 88].reshape(-1, 88)
    spec = np.abs(np.fft.fft(frames, axis=1)) ** 2
    freqs = np.fft.fftfreq(88, 1 / FS)
    mean_f = (spec * freqs).sum(1) / spec.sum(1)
    mf = mean_f - mean_f.mean()
    rate = 1 / 0.02
    power = np.abs(np.fft.rfft(mf * np.hanning(len(mf)))) ** 2
    fr = np.fft.rfftfreq(len(mf), 1 / rate)
    band = fr > 0.5
    peak_hz = fr[band][np.argmax(power[band])]
    assert peak_hz == pytest.approx(r.subject.heart_rate_bpm / 60, rel=0.06)


def test_same_seed_same_file_bytes(tmp_path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        assert main(["recordings", "simulate", "--minutes", "0.5", "--out",
                     str(tmp_path / f"{name}.wav"), "--seed", str(seed),
                     "--no-progress"]) == 0
    read = lambda n: (tmp_path / n).read_bytes()   # noqa: E731
    assert read("a.wav") == read("b.wav")
    assert read("a.truth.csv") == read("b.truth.csv")
    assert read("a.wav") != read("c.wav")


def test_emboli_durations_are_transit_times_under_300_ms(rec):
    p = PARAMS.gaseous
    cos = math.cos(math.radians(rec.subject.angle_deg))
    v_lo = p.velocity_fraction_range[0] * rec.subject.edv_cm_s / 100 * cos
    v_hi = rec.subject.psv_cm_s / 100 * cos
    lo = p.sample_volume_mm_range[0] / 1000 / v_hi
    hi = p.sample_volume_mm_range[1] / 1000 / v_lo
    d = np.array([e.duration_s for e in emboli(rec)])
    assert len(d) > 50
    assert np.all(d < 0.300)
    assert np.all((d >= lo - 1 / FS) & (d <= hi + 1 / FS))


def test_embolus_signal_duration_is_its_half_amplitude_width(rec):
    clock = CardiacClock(rec.subject, 100.0, np.random.default_rng(0), 0.0)
    for ev in emboli(rec)[:10]:
        start, x, _ = embolus_waveform(ev, clock, rec.subject, PARAMS,
                                       np.random.default_rng(1))
        env = np.abs(x)
        above = np.flatnonzero(env >= 0.5)
        width = (above[-1] - above[0] + 1) / FS
        assert width == pytest.approx(ev.duration_s, abs=1.5 / FS)
        centre = (start + np.argmax(env)) / FS
        assert centre == pytest.approx(ev.centre_s, abs=1 / FS)


def test_artefact_durations_in_range_and_mostly_longer_than_emboli(rec):
    art = [e.duration_s for e in rec.events if e.cls == "artefact"]
    lo, hi = PARAMS.artefact.duration_s_range
    assert art and all(lo <= d <= hi for d in art)
    assert np.median(art) > 3 * np.median([e.duration_s for e in emboli(rec)])


def test_ebr_in_consensus_range_and_gas_brighter(rec):
    gas = [e.ebr_db for e in rec.events if e.cls == "gaseous"]
    solid = [e.ebr_db for e in rec.events if e.cls == "solid"]
    assert min(solid) >= 3.0 and max(solid) <= PARAMS.solid.ebr_db_range[1]
    assert min(gas) >= PARAMS.gaseous.ebr_db_range[0] and max(gas) <= 35.0
    assert np.median(gas) > np.median(solid) + 5


def test_ebr_measured_from_the_recording_matches_the_truth(rec):
    # Independent measurement: embolus energy in a window (minus the background's energy,
    # estimated just before and after) divided by the Gaussian envelope's energy
    # A^2 * sigma * sqrt(pi) gives A^2; over the recording's background power -> EBR.
    z = rec.iq.astype(np.complex128)
    p = np.abs(z) ** 2
    mask = np.ones(len(z), bool)
    for e in rec.events:
        mask[int((e.onset_s - 0.05) * FS):int((e.offset_s + 0.05) * FS)] = False
    p_bg = p[mask].mean()
    errors = []
    for e in emboli(rec):
        sigma = e.duration_s / (2 * math.sqrt(2 * math.log(2)))
        a, b = int((e.centre_s - 3 * sigma) * FS), int((e.centre_s + 3 * sigma) * FS)
        energy = p[a:b].sum() / FS - p_bg * (b - a) / FS
        a2 = energy / (sigma * math.sqrt(math.pi) * math.erf(3))
        if a2 > 0:
            errors.append(10 * math.log10(a2 / p_bg) - e.ebr_db)
        else:
            errors.append(-99.0)
    errors = np.array(errors)
    assert np.median(np.abs(errors)) < 0.7
    assert np.mean(np.abs(errors) < 2.0) > 0.9


def test_class_ratios_and_rate_match_the_schedule():
    r = simulate_recording(40 * 60.0, seed=21)
    n = len(r.events)
    sch = PARAMS.schedule
    # Mean spacing: exponential gap + event duration + dead time.
    mean_d = np.mean([e.duration_s for e in r.events])
    expected = r.duration_s / (60 / sch.rate_per_min + mean_d + sch.min_gap_s)
    assert abs(n - expected) < 4 * math.sqrt(expected)
    total = sum(sch.class_weights.values())
    for cls, w in sch.class_weights.items():
        share = w / total
        k = sum(e.cls == cls for e in r.events)
        assert abs(k / n - share) < 4 * math.sqrt(share * (1 - share) / n), cls


def test_exact_counts_are_honoured():
    r = simulate_recording(None, seed=2, counts={"artefact": 3, "gaseous": 5, "solid": 4})
    classes = [e.cls for e in r.events]
    assert classes.count("artefact") == 3 and classes.count("gaseous") == 5
    assert classes.count("solid") == 4
    assert all(0.5 <= e.onset_s and e.offset_s <= r.duration_s - 0.5 for e in r.events)


def _side_energies(x):
    spec = np.abs(np.fft.fft(x)) ** 2
    f = np.fft.fftfreq(len(x))
    return spec[f > 0].sum(), spec[f < 0].sum()


def test_emboli_are_unidirectional_in_the_recorded_spectrum(rec):
    # Energy the event adds on each side of zero frequency: the spectrum of the recording
    # during the event minus that of the background just before it.
    z = rec.iq.astype(np.complex128)
    ratios = []
    for e in emboli(rec):
        n = int(round(max(e.duration_s * 2, 0.03) * FS))
        c = int(e.centre_s * FS)
        ev_pos, ev_neg = _side_energies(z[c - n // 2:c - n // 2 + n])
        bgs = [_side_energies(z[c - k * n - n // 2:c - k * n + n // 2]) for k in (3, 4, 5)]
        bg_pos, bg_neg = np.mean(bgs, axis=0)
        add_pos = ev_pos - bg_pos
        add_neg = max(ev_neg - bg_neg, 1e-3 * bg_neg)
        ratios.append(10 * math.log10(max(add_pos, 1e-30) / add_neg))
    ratios = np.array(ratios)
    # Emboli at >= 3 dB put (almost) all their energy on the flow side.
    assert np.median(ratios) > 15
    assert np.mean(ratios > 6) > 0.9


def test_artefacts_are_bidirectional_and_low_frequency():
    rng = np.random.default_rng(4)
    r = simulate_recording(None, seed=4, counts={"artefact": 20})
    for ev in r.events:
        _, x = artefact_waveform(ev, PARAMS, rng)
        pos, neg = _side_energies(x)
        balance = ev.extra["balance_db"]
        # Negative side scaled by the drawn balance (+-6 dB), with random fluctuation.
        assert abs(10 * math.log10(neg / pos) - balance) < 3
        spec = np.abs(np.fft.fft(x)) ** 2
        f = np.abs(np.fft.fftfreq(len(x), 1 / FS))
        assert spec[f < 2 * ev.extra["band_hz"]].sum() / spec.sum() > 0.9


def test_embolus_waveforms_one_sided_and_gas_frequency_falls():
    params = PARAMS
    rng = np.random.default_rng(9)
    subject = draw_subject(rng, params)
    r = simulate_recording(None, seed=9, counts={"gaseous": 15, "solid": 15},
                           subject=subject)
    clock = CardiacClock(subject, r.duration_s + 10, np.random.default_rng(0), 0.0)
    for ev in r.events:
        start, x, _ = embolus_waveform(ev, clock, subject, params, rng)
        pos, neg = _side_energies(x.astype(np.complex128))
        assert 10 * math.log10(pos / neg) > 25
        # Instantaneous frequency from the phase, over the half-amplitude part.
        inst = np.diff(np.unwrap(np.angle(x))) * FS / (2 * np.pi)
        env = np.abs(x[1:])
        core = np.flatnonzero(env > 0.5)
        drop = inst[core[:5]].mean() - inst[core[-5:]].mean()
        flow_change = abs(np.ptp(ev.extra["velocity_fraction"] * subject.doppler_hz(
            clock.vmax_cm_s(start / FS + core / FS), params)))
        # Radiation force ~ intensity ~ envelope^2, so the frequency falls by the
        # excursion times the normal CDF of sqrt(2) u; between the half-amplitude points
        # (u = +-1.177) that is 90 % of it - unless the floor that keeps the embolus
        # moving toward the probe (2.5 x the wall filter) stops the fall.
        share = ndtr(math.sqrt(2) * 1.1774) - ndtr(-math.sqrt(2) * 1.1774)
        floor = 2.5 * subject.wall_filter_hz
        expected = min(share * ev.fm_hz, inst[core[:5]].mean() - floor)
        assert drop == pytest.approx(expected, abs=flow_change + 0.1 * ev.fm_hz + 25)
    gas_fm = [e.fm_hz for e in r.events if e.cls == "gaseous"]
    solid_fm = [e.fm_hz for e in r.events if e.cls == "solid"]
    assert min(gas_fm) > max(solid_fm)
