"""What ``attq-fpga infer`` classifies: HITS cut from a recording, or rows of an ESR CSV.

Both readers check everything before anything is run or written and raise
:class:`sw.errors.InputError` naming the file and the field. Each returns an
:class:`InferInputs`: one model input per item, with what the results table says about it.

Each item's raw sample (a HITS: the front end's 2048-sample I/Q segment at 4400 Hz,
:func:`sw.doppler.detector.front_end`; an ESR row: its 178 samples as in the CSV) becomes
the program's input through the input transform the **program records**
(``meta.input_transform``, copied by the compiler from the model file), computed by
:func:`sw.data.transform.apply_transform`, the function training and calibration used.
Nothing is guessed from the input shape: a program without a transform is refused (recompile
it), and so is one whose transform does not make its input shape from these samples.
"""

import dataclasses
from pathlib import Path

import numpy as np

from ..errors import InputError

__all__ = ["InferInputs", "recording_inputs", "esr_inputs", "find_truth_csv",
           "model_inputs"]


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
    segments : numpy.ndarray or None
        Recordings: the front end's complex I/Q segment of each event ``[N, samples]`` at
        ``segment_rate_hz``, for the report's spectrogram thumbnails.
    segment_rate_hz : int or None
    truth_events : list or None
        Recordings with a truth: every truth event (:class:`sw.doppler.recording.TruthEvent`),
        missed ones included, for the report's timeline.
    """

    kind: str
    source: str
    x: np.ndarray
    items: list
    truth: list = None
    truth_source: str = None
    info: dict = dataclasses.field(default_factory=dict)
    segments: np.ndarray = None
    segment_rate_hz: int = None
    truth_events: list = None


def find_truth_csv(recording):
    """The truth CSV next to ``recording`` (``NAME.truth.csv``), or None."""
    path = Path(recording).with_suffix(".truth.csv")
    return path if path.is_file() else None


def model_inputs(program, model_path, raw, what, kind):
    """The program's inputs from raw samples ``raw`` (``[N, ...]``) through the program's
    recorded input transform; raise InputError when it records none or when it does not
    make the program's input shape from these samples.

    ``what`` names one raw sample in messages ("the front end's segment"), ``kind`` the
    model it takes, with its article ("a HITS").
    """
    from ..data.transform import apply_transform

    transform = program.input_transform
    if transform is None:
        raise InputError(
            f"{model_path}: the program records no input transform (field "
            f"'meta.input_transform'), so what turns {what} into its input is not known; "
            f"recompile the model with `attq-fpga compile MODEL.pt -o {model_path}`")
    raw = np.asarray(raw)
    want = tuple(program.input_shape)
    try:
        got = transform.output_shape(raw.shape[1:])
    except ValueError as exc:
        raise InputError(f"{model_path}: input shape {list(want)}: the program's input "
                         f"transform ({transform.describe()}) does not apply to {what} "
                         f"{list(raw.shape[1:])} ({exc}); is this {kind} model?") from None
    if got != want:
        raise InputError(f"{model_path}: input shape {list(want)}: the program's input "
                         f"transform ({transform.describe()}) makes {list(got)} of {what} "
                         f"{list(raw.shape[1:])}; is this {kind} model?")
    return apply_transform(transform, raw)


def recording_inputs(path, program, model_path, *, truth_path=None, find_truth=True,
                     max_clipped_fraction=None, params=None, accept_truncated=False):
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
    accept_truncated : bool
        Passed to the reader: classify the frames that are there of a WAV shorter than
        its header says instead of refusing it.

    Returns
    -------
    InferInputs
        For a truncated recording, ``info`` holds ``frames_read`` and ``frames_declared``
        (the file's frames, at its own rate), ``truncation`` (one line for the user,
        :meth:`sw.doppler.recording.Recording.truncation_note`) and, with a truth CSV,
        ``truth_events_after_cut`` (left out of the scoring).
    """
    from ..doppler.detector import DetectorParams, front_end, match_events
    from ..doppler.recording import read_truth_for

    params = params or DetectorParams()
    kwargs = {"accept_truncated": accept_truncated}
    if max_clipped_fraction is not None:
        kwargs["max_clipped_fraction"] = max_clipped_fraction
    rec, segments = front_end(path, params, **kwargs)
    x = model_inputs(program, model_path, segments.channels(), "the front end's segment",
                     "a HITS")
    items = [{"onset_s": d.onset_s, "offset_s": d.offset_s, "duration_s": d.duration_s,
              "peak_db": d.peak_db, "direction_db": d.direction_db,
              "consensus": bool(d.consensus)} for d in segments.detections]
    info = {"duration_s": rec.duration_s, "source_rate_hz": rec.source_rate_hz,
            "detections": len(items)}
    if rec.truncated:
        info.update(frames_read=rec.frames_read, frames_declared=rec.frames_declared,
                    truncation=rec.truncation_note())
    if truth_path is None and find_truth:
        truth_path = find_truth_csv(path)
    truth = events = None
    if truth_path is not None:
        events, beyond = read_truth_for(truth_path, rec)
        if rec.truncated:
            info["truth_events_after_cut"] = beyond
        pairs = match_events(segments.detections, events)
        truth = [None] * len(items)
        for i, j in pairs:
            truth[i] = events[j].cls
        info.update(truth_events=len(events), matched=len(pairs),
                    missed=len(events) - len(pairs), false_alarms=len(items) - len(pairs))
    return InferInputs(kind="recording", source=str(path), x=np.asarray(x, np.float32),
                       items=items, truth=truth,
                       truth_source=None if truth_path is None else str(truth_path),
                       info=info, segments=segments.samples,
                       segment_rate_hz=segments.sample_rate_hz, truth_events=events)


def esr_inputs(path, program, model_path):
    """Read an ESR CSV and build each row's model input; the truth is its ``y`` column.

    ``y == 1`` is ``seizure``, 2..5 ``non-seizure`` (:data:`sw.data.esr.ESR_CLASSES`).
    """
    from ..data.esr import ESR_CLASSES, read_esr_csv

    ids, signals, y5 = read_esr_csv(path)
    x = model_inputs(program, model_path, signals[:, None, :], "an ESR row", "an ESR")
    if len(program.classes) != len(ESR_CLASSES):
        raise InputError(f"{model_path}: classes {program.classes}: an ESR model has "
                         f"{len(ESR_CLASSES)} classes ({', '.join(ESR_CLASSES)})")
    truth = [ESR_CLASSES[0] if y == 1 else ESR_CLASSES[1] for y in y5]
    items = [{"row": i + 1, "id": ident} for i, ident in enumerate(ids)]
    return InferInputs(kind="esr", source=str(path), x=np.asarray(x, np.float32),
                       items=items, truth=truth, truth_source=str(path),
                       info={"rows": len(items)})
