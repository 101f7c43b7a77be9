"""What ``attq-fpga infer`` classifies: HITS cut from a recording, or rows of an ESR CSV.

Both readers check everything before anything is run or written and raise
:class:`sw.errors.InputError` naming the file and the field. Each returns an
:class:`InferInputs`: one model input per item, with what the results table says about it.

HITS inputs are built exactly as the HITS models were trained (``sw.train.pipeline.
load_dataset``): the front end's 2048-sample I/Q segment at 4400 Hz
(:func:`sw.doppler.detector.front_end`), then the time-frequency representation
``tfr(segment, n_fft=32, hop=HITS_TFR_HOP)`` (one channel of 32 x 64 dB values).
ESR rows are min-max scaled to [0, 1] per row (:func:`sw.data.esr.minmax_per_sample`), then
given to the program raw (``[1, 178]``) or as their TFR (``n_fft=32, hop=4``), whichever
the program's input shape is.
"""

import dataclasses
from pathlib import Path

import numpy as np

from ..errors import InputError

__all__ = ["InferInputs", "recording_inputs", "esr_inputs", "find_truth_csv",
           "HITS_N_FFT", "ESR_TFR_HOP"]

#: TFR window of every model (the paper's 32).
HITS_N_FFT = 32
#: TFR hop of the ESR TFR models (``sw.train.pipeline.load_dataset``).
ESR_TFR_HOP = 4


@dataclasses.dataclass
class InferInputs:
    """Items to classify.

    Attributes
    ----------
    kind : {"recording", "esr"}
    source : str
        The recording or CSV path.
    x : numpy.ndarray
        float32 ``[N, *program.input_shape]``.
    items : list of dict
        One per input: the columns the results table shows before the classification
        (HITS: ``onset_s``, ``offset_s``, ``duration_s``, ``peak_db``, ``direction_db``,
        ``consensus``; ESR: ``row``, ``id``).
    truth : list or None
        Per item, the true class name, or None for an item without one (a false alarm);
        None as a whole when there is no truth.
    truth_source : str or None
        Where the truth came from.
    info : dict
        Facts for the summary (duration, truth events, matches...).
    """

    kind: str
    source: str
    x: np.ndarray
    items: list
    truth: list = None
    truth_source: str = None
    info: dict = dataclasses.field(default_factory=dict)


def find_truth_csv(recording):
    """The truth CSV next to ``recording`` (``NAME.truth.csv``), or None."""
    path = Path(recording).with_suffix(".truth.csv")
    return path if path.is_file() else None


def _segments_to_model_input(segments, program, model_path):
    """Model inputs from the front end's segments, as the HITS models were trained."""
    from ..data.tfr import tfr, tfr_shape
    from ..models import HITS_TFR_HOP

    chans = segments.channels()                      # [N, 2, 2048] I, Q
    n_samples = chans.shape[-1]
    tfr_input = (1,) + tfr_shape(n_samples, n_fft=HITS_N_FFT, hop=HITS_TFR_HOP)
    want = tuple(program.input_shape)
    if want == tfr_input:
        if len(chans) == 0:
            return np.zeros((0,) + want, np.float32)
        return tfr(chans, n_fft=HITS_N_FFT, hop=HITS_TFR_HOP)
    if want == chans.shape[1:]:
        return chans
    raise InputError(
        f"{model_path}: input shape {list(want)}: a HITS model takes the front end's "
        f"segment as a TFR {list(tfr_input)} (n_fft {HITS_N_FFT}, hop {HITS_TFR_HOP}) or "
        f"raw I/Q {list(chans.shape[1:])}; is this a HITS model?")


def recording_inputs(path, program, model_path, *, truth_path=None, find_truth=True,
                     max_clipped_fraction=None, params=None):
    """Read a recording, detect its HITS and build each event's model input.

    Parameters
    ----------
    path : path-like
        Stereo I/Q ``.wav`` or ``.npz`` (docs/recording-format.md).
    program : sw.program.Program
    model_path : path-like
        Named in errors about the program's input shape.
    truth_path : path-like, optional
        Truth CSV; by default ``NAME.truth.csv`` next to the recording when it exists
        (and ``find_truth`` is true).
    max_clipped_fraction : float, optional
        Passed to the reader.
    params : sw.doppler.detector.DetectorParams, optional

    Returns
    -------
    InferInputs
    """
    from ..doppler.detector import DetectorParams, front_end, match_events
    from ..doppler.recording import read_truth_csv

    params = params or DetectorParams()
    kwargs = {} if max_clipped_fraction is None else \
        {"max_clipped_fraction": max_clipped_fraction}
    rec, segments = front_end(path, params, **kwargs)
    x = _segments_to_model_input(segments, program, model_path)
    items = [{"onset_s": d.onset_s, "offset_s": d.offset_s, "duration_s": d.duration_s,
              "peak_db": d.peak_db, "direction_db": d.direction_db,
              "consensus": bool(d.consensus)} for d in segments.detections]
    info = {"duration_s": rec.duration_s, "source_rate_hz": rec.source_rate_hz,
            "detections": len(items)}
    if truth_path is None and find_truth:
        truth_path = find_truth_csv(path)
    truth = None
    if truth_path is not None:
        events = read_truth_csv(truth_path, duration_s=rec.duration_s)
        pairs = match_events(segments.detections, events)
        truth = [None] * len(items)
        for i, j in pairs:
            truth[i] = events[j].cls
        info.update(truth_events=len(events), matched=len(pairs),
                    missed=len(events) - len(pairs), false_alarms=len(items) - len(pairs))
    return InferInputs(kind="recording", source=str(path), x=np.asarray(x, np.float32),
                       items=items, truth=truth,
                       truth_source=None if truth_path is None else str(truth_path),
                       info=info)


def esr_inputs(path, program, model_path):
    """Read an ESR CSV and build each row's model input; the truth is its ``y`` column.

    ``y == 1`` is ``seizure``, 2..5 ``non-seizure`` (:data:`sw.data.esr.ESR_CLASSES`).
    """
    from ..data.esr import ESR_CLASSES, N_SAMPLES, minmax_per_sample, read_esr_csv
    from ..data.tfr import tfr, tfr_shape

    ids, signals, y5 = read_esr_csv(path)
    x = minmax_per_sample(signals).astype(np.float32)[:, None, :]
    want = tuple(program.input_shape)
    tfr_input = (1,) + tfr_shape(N_SAMPLES, n_fft=HITS_N_FFT, hop=ESR_TFR_HOP)
    if want == tfr_input:
        x = tfr(x, n_fft=HITS_N_FFT, hop=ESR_TFR_HOP)
    elif want != x.shape[1:]:
        raise InputError(
            f"{model_path}: input shape {list(want)}: an ESR model takes a row as "
            f"{list(x.shape[1:])} or its TFR {list(tfr_input)}; is this an ESR model?")
    if len(program.classes) != len(ESR_CLASSES):
        raise InputError(f"{model_path}: classes {program.classes}: an ESR model has "
                         f"{len(ESR_CLASSES)} classes ({', '.join(ESR_CLASSES)})")
    truth = [ESR_CLASSES[0] if y == 1 else ESR_CLASSES[1] for y in y5]
    items = [{"row": i + 1, "id": ident} for i, ident in enumerate(ids)]
    return InferInputs(kind="esr", source=str(path), x=np.asarray(x, np.float32),
                       items=items, truth=truth, truth_source=str(path),
                       info={"rows": len(items)})
