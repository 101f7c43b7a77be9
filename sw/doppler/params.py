"""Parameters of the transcranial Doppler (TCD) simulator, each with its source.

Every number the simulator draws from lives here, with the publication (or the physical
law) it comes from, so that a reader can check the simulated recordings against the
literature and change one value without reading the synthesis code.

Sources
-------
[Aaslid82]  R. Aaslid, T.-M. Markwalder, H. Nornes, "Noninvasive transcranial Doppler
            ultrasound recording of flow velocity in basal cerebral arteries",
            J. Neurosurg. 57:769-774, 1982. Transtemporal window, 2 MHz pulsed Doppler;
            middle cerebral artery (MCA) at 45-65 mm depth, flow toward the probe, mean
            velocity 62 +/- 12 cm/s.
[Mo89]      L. Y. L. Mo, R. S. C. Cobbold, "A nonstationary signal simulation model for
            continuous wave and pulsed Doppler ultrasound", IEEE Trans. Ultrason.
            Ferroelectr. Freq. Control 36(5):522-530, 1989. The Doppler signal of pulsatile
            flow is synthesized from sinusoidal components with random phases whose power
            follows a power spectral density that varies over the cardiac cycle. (They fit
            an empirical two-exponential PSD for the carotid; here the PSD comes from the
            velocity profile, [Evans00].)
[Ringel98]  E. B. Ringelstein et al. (International Consensus Group on Microembolus
            Detection), "Consensus on microembolus detection by TCD", Stroke 29:725-729,
            1998. Microembolic signals are transient (usually < 300 ms), at least 3 dB above
            the background blood flow signal, unidirectional within the Doppler spectrum,
            and accompanied by a "snap, chirp or moan".
[Girault11] J.-M. Girault et al., "Analysis of index modulation in microembolic Doppler
            signals part I: radiation force as a new hypothesis - simulations", Ultrasound
            Med. Biol. 37(1):87-101, 2011. The ultrasound radiation force moves gaseous
            microemboli far more than solid ones, which shows as frequency modulation of the
            embolic Doppler signal; a frequency-modulation threshold near 1 kHz separates
            gas from solid in their simulations.
[Markus93]  H. S. Markus, M. M. Brown, "Differentiation between different pathological
            cerebral embolic materials using transcranial Doppler in an in vitro model",
            Stroke 24:1-5, 1993. Air emboli give much higher intensities than
            formed-element (thrombus, platelet, atheroma, fat) emboli.
[Evans00]   D. H. Evans, W. N. McDicken, "Doppler Ultrasound: Physics, Instrumentation and
            Signal Processing", 2nd ed., Wiley 2000. Doppler equation f = 2 f0 v cos(theta)
            / c, c = 1540 m/s in soft tissue; wall ("high-pass") filters of 50-200 Hz;
            velocity profiles v(r) = vmax (1 - (r/R)^n) and their Doppler spectra.
[Vindas22]  The HITS data set of the aTTQ paper (shared/reference/attq-paper.md): 1541
            signals at 4.4 kHz, 403 artefacts, 569 gaseous and 569 solid emboli; the class
            proportions of the simulated recordings follow it.

Where the literature gives a range and not a distribution, the simulator draws uniformly
(or log-uniformly for quantities spanning a decade) inside the range; that choice is ours
and is marked "modelling choice".
"""

from dataclasses import asdict, dataclass, field

__all__ = [
    "SPEED_OF_SOUND_M_S",
    "FlowParams",
    "EmbolusParams",
    "ArtefactParams",
    "EventScheduleParams",
    "SimulatorParams",
    "doppler_shift_hz",
]

#: Speed of sound in soft tissue [Evans00].
SPEED_OF_SOUND_M_S = 1540.0


def doppler_shift_hz(velocity_m_s, transmit_hz, angle_rad=0.0):
    """Doppler shift of a scatterer moving at ``velocity_m_s`` toward the probe.

    ``f = 2 f0 v cos(theta) / c`` [Evans00]; positive for motion toward the probe.
    """
    import numpy as np
    return 2.0 * transmit_hz * np.asarray(velocity_m_s) * np.cos(angle_rad) / SPEED_OF_SOUND_M_S


@dataclass(frozen=True)
class FlowParams:
    """Pulsatile MCA blood flow: the background of a TCD recording."""

    #: Transmit frequency of TCD probes: 2 MHz [Aaslid82].
    transmit_hz: float = 2.0e6
    #: Beam-to-flow angle; the transtemporal MCA is insonated nearly head-on [Aaslid82].
    angle_deg_range: tuple = (0.0, 25.0)
    #: Peak systolic velocity (cm/s). MCA mean velocity 62 +/- 12 cm/s in adults
    #: [Aaslid82], lower in the elderly patients monitored for emboli; with a pulsatility
    #: index near 0.9 this gives PSV of 60-90 cm/s. Kept below the 84 cm/s at which a 2 MHz
    #: probe sampled at 4.4 kHz (complex) would alias at zero angle.
    psv_cm_s_range: tuple = (60.0, 78.0)
    #: End-diastolic velocity as a fraction of PSV (pulsatility index 0.7-1.1) [Aaslid82].
    edv_fraction_range: tuple = (0.38, 0.50)
    #: Heart rate (beats per minute) of a resting patient.
    heart_rate_bpm_range: tuple = (55.0, 85.0)
    #: Beat-to-beat variation of the cardiac period (standard deviation, fraction).
    beat_jitter: float = 0.03
    #: Velocity-profile exponent n of v(r) = vmax (1 - (r/R)^n); n = 2 is Poiseuille,
    #: larger n is blunter, as in the large cerebral arteries [Evans00]. It sets the shape
    #: of the Doppler spectrum below the maximum frequency (see simulator.velocity_pdf).
    profile_exponent_range: tuple = (2.0, 4.0)
    #: Intrinsic spectral broadening (relative standard deviation of the Doppler shift of
    #: one scatterer, from transit time and beam aperture) [Evans00]. Modelling choice.
    spectral_broadening: float = 0.05
    #: Cut-off of the wall (high-pass) filter (Hz) [Evans00].
    wall_filter_hz_range: tuple = (60.0, 120.0)
    #: Order of the Butterworth wall filter.
    wall_filter_order: int = 4
    #: Signal-to-noise ratio of the flow signal against white receiver noise (dB); a
    #: transtemporal window attenuates the signal strongly. Modelling choice.
    snr_db_range: tuple = (18.0, 28.0)
    #: STFT frame of the spectral synthesis (samples at 4.4 kHz): 128 samples = 29 ms,
    #: short against a cardiac cycle, so the spectrum is locally stationary [Mo89].
    synthesis_frame: int = 128


@dataclass(frozen=True)
class EmbolusParams:
    """One embolus class (gaseous or solid): a Gaussian-windowed complex sinusoid.

    The embolus is carried by the flow at a radial position r, so its Doppler frequency is
    that of the local velocity vmax(t) (1 - (r/R)^n); its duration is the transit time
    through the sample volume, its amplitude follows from the embolus-to-blood ratio.
    """

    #: Embolus-to-blood ratio (dB): peak embolus power over mean background power.
    #: At least 3 dB by the consensus definition [Ringel98].
    ebr_db_range: tuple = (3.0, 30.0)
    #: Mode of the EBR distribution above the lower limit (dB): EBR = low + Gamma(2, mode),
    #: truncated to the range; small emboli are more frequent than large. Modelling choice.
    ebr_db_mode_above_min: float = 6.0
    #: Velocity of the embolus as a fraction of the centre-line velocity: emboli travel in
    #: the central stream, their signal lies inside the spectral envelope. Modelling choice.
    velocity_fraction_range: tuple = (0.55, 1.0)
    #: Axial length of the sample volume (mm): 8-15 mm gates on TCD devices [Evans00].
    sample_volume_mm_range: tuple = (8.0, 15.0)
    #: Downward frequency excursion over the event (Hz) from radiation force pushing the
    #: embolus away from the probe: large for gas, near zero for solid [Girault11].
    fm_excursion_hz_range: tuple = (0.0, 60.0)


@dataclass(frozen=True)
class ArtefactParams:
    """Artefacts (probe motion, speech, tapping): bidirectional, low-frequency, longer."""

    #: Artefact-to-blood ratio (dB); movement artefacts are usually much stronger than the
    #: flow [Ringel98 notes them as the main source of false positives]. Modelling choice.
    abr_db_range: tuple = (6.0, 30.0)
    #: Duration (s), log-uniform: tens of ms (a tap) to over a second (speech, motion);
    #: mostly longer than emboli [Ringel98].
    duration_s_range: tuple = (0.12, 1.5)
    #: Upper edge of the artefact band (Hz): low-frequency content on both sides of zero.
    band_hz_range: tuple = (150.0, 500.0)
    #: Power of the negative-frequency side relative to the positive side (dB): both
    #: directions, not necessarily equal.
    side_balance_db_range: tuple = (-6.0, 6.0)


@dataclass(frozen=True)
class EventScheduleParams:
    """When events happen in a recording."""

    #: About 14 HITS a minute in monitored patients (project architecture note); events
    #: come as a Poisson process.
    rate_per_min: float = 14.0
    #: Class proportions of the aTTQ paper's data set, 403 : 569 : 569 [Vindas22].
    class_weights: dict = field(default_factory=lambda: {
        "artefact": 403, "gaseous": 569, "solid": 569})
    #: Dead time between the end of one event and the start of the next (s), so that every
    #: event is separately labelled; embolic showers are out of scope. Modelling choice.
    min_gap_s: float = 0.6
    #: No event closer than this to either end of a recording (s), so every event can be
    #: cut as a full, centred 2048-sample segment.
    edge_margin_s: float = 0.5


def _gaseous():
    # Air emboli are much brighter than formed elements [Markus93] and are displaced by the
    # radiation force, giving a frequency excursion of hundreds of Hz to over 1 kHz
    # [Girault11]; solid emboli barely move under it.
    return EmbolusParams(ebr_db_range=(8.0, 35.0), ebr_db_mode_above_min=8.0,
                         fm_excursion_hz_range=(250.0, 1100.0))


def _solid():
    return EmbolusParams(ebr_db_range=(3.0, 25.0), ebr_db_mode_above_min=5.0,
                         fm_excursion_hz_range=(0.0, 60.0))


@dataclass(frozen=True)
class SimulatorParams:
    """All parameters of one simulated recording."""

    sample_rate_hz: int = 4400
    flow: FlowParams = field(default_factory=FlowParams)
    gaseous: EmbolusParams = field(default_factory=_gaseous)
    solid: EmbolusParams = field(default_factory=_solid)
    artefact: ArtefactParams = field(default_factory=ArtefactParams)
    schedule: EventScheduleParams = field(default_factory=EventScheduleParams)
    #: Peak level of the written recording relative to full scale (the simulated signal
    #: is scaled so its largest I or Q sample sits here; no clipping).
    peak_level: float = 0.89

    def to_dict(self):
        """Plain-data form for JSON (dataset.json's ``generator``)."""
        return asdict(self)
