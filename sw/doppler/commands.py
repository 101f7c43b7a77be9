"""CLI sub-commands of the Doppler package.

``attq-fpga recordings simulate --minutes 30 --out rec.wav [--seed 0]``
    Simulated recording (stereo I/Q WAV or .npz) and its truth CSV.
``attq-fpga recordings detect RECORDING [--truth CSV] --out DIR``
    HITS front end: ``events.csv``, ``segments.npz``, ``spectrogram.png`` (and
    ``metrics.json`` with recall and precision when a truth CSV is given).
``attq-fpga data make hits --out DIR``
    Labelled segment data set (403 artefacts, 569 gaseous, 569 solid by default); the
    ``data`` command (:mod:`sw.data.command`) adds it with :func:`add_hits_dataset_arguments`
    and :func:`run_make_dataset`.

Inputs are read and checked before anything is written; every output is written
atomically.
"""

from pathlib import Path

from ..arguments import positive_float

__all__ = ["register", "add_hits_dataset_arguments", "run_simulate", "run_make_dataset",
           "run_detect"]


def register(subparsers):
    """Add ``recordings`` with its actions ``simulate`` and ``detect``."""
    group = subparsers.add_parser(
        "recordings", help="simulate Doppler recordings and find their HITS (front end)",
        description="Transcranial Doppler recordings (docs/recording-format.md): simulate "
                    "one with its truth CSV, or run the HITS front end on one.")
    actions = group.add_subparsers(dest="recordings_command", required=True,
                                   metavar="ACTION")
    p = actions.add_parser(
        "simulate",
        help="simulate a transcranial Doppler recording with HITS and write its truth CSV")
    p.add_argument("--minutes", type=positive_float, required=True,
                   help="length of the recording in minutes")
    p.add_argument("--out", required=True,
                   help="output recording: .wav (stereo I/Q) or .npz (raw numpy form)")
    p.add_argument("--truth", default=None,
                   help="truth CSV path (default: the output with suffix .truth.csv)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--format", choices=("pcm16", "float32"), default="pcm16",
                   help="WAV sample format (default pcm16)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run_simulate)

    p = actions.add_parser(
        "detect", help="find HITS in a recording: events CSV, segments and spectrogram PNG")
    p.add_argument("recording", help="stereo I/Q .wav or .npz recording")
    p.add_argument("--truth", default=None,
                   help="truth CSV of the recording: marks it on the spectrogram and "
                        "scores the detections")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--threshold-db", type=float, default=3.0,
                   help="detection threshold above the running background (default 3 dB)")
    p.add_argument("--drop-long", action="store_true",
                   help="drop events longer than the consensus 300 ms")
    p.add_argument("--max-clipped-fraction", type=float, default=0.001,
                   help="largest tolerated fraction of clipped samples (default 0.001)")
    p.add_argument("--accept-truncated", action="store_true",
                   help="read the frames that are there of a WAV shorter than its header "
                        "says (default: refuse it)")
    p.add_argument("--view", type=float, nargs=2, metavar=("START_S", "LENGTH_S"),
                   default=None, help="time window of the spectrogram (default: all)")
    p.set_defaults(func=run_detect)


def add_hits_dataset_arguments(h):
    """Add the options of ``data make hits`` to the parser ``h``; its func is
    :func:`run_make_dataset`."""
    h.add_argument("--out", required=True, help="output directory (new or empty)")
    h.add_argument("--counts", type=int, nargs=3, metavar=("ARTEFACT", "GASEOUS", "SOLID"),
                   default=(403, 569, 569),
                   help="segments per class (default: the paper's 403 569 569)")
    h.add_argument("--subjects", type=int, default=12,
                   help="number of simulated patients (default 12)")
    h.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    h.add_argument("--test-fraction", type=float, default=0.37,
                   help="share of segments in the subject-wise test split (default 0.37)")
    h.add_argument("--no-split", action="store_true",
                   help="leave the split column empty (the loader splits by subject)")
    h.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    h.set_defaults(func=run_make_dataset)


def _command_line(args):
    import sys
    return "attq-fpga " + " ".join(sys.argv[1:]) if sys.argv else None


def run_simulate(args):
    """``recordings simulate``."""
    from ..errors import InputError
    from .recording import truth_csv_text, write_npz, write_wav
    from .simulator import simulate_recording
    from ..atomic import check_output, write_text

    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in (".wav", ".npz"):
        raise InputError(f"--out {out}: expected a .wav or .npz file name")
    if out.is_dir():
        raise InputError(f"--out {out}: is a directory; expected a .wav or .npz file name")
    truth = Path(args.truth) if args.truth else out.with_suffix(".truth.csv")
    if truth.resolve() == out.resolve():
        raise InputError(f"--truth {truth}: same path as --out")
    # At least 16-bit I and Q at the model's 4400 Hz: checked before the simulation.
    check_output(out, what=f"--out {out}", need_bytes=int(args.minutes * 60 * 4400 * 4))
    check_output(truth, what=f"--truth {truth}")
    rec = simulate_recording(args.minutes * 60.0, seed=args.seed,
                             progress=not args.no_progress)
    if suffix == ".wav":
        write_wav(out, rec.iq, rec.sample_rate_hz, sample_format=args.format)
    else:
        write_npz(out, rec.iq, rec.sample_rate_hz)
    write_text(truth, truth_csv_text(rec.events))
    n = {c: sum(e.cls == c for e in rec.events) for c in ("artefact", "gaseous", "solid")}
    print(f"wrote {out} ({rec.duration_s:.1f} s at {rec.sample_rate_hz} Hz) and {truth}: "
          f"{len(rec.events)} events " + ", ".join(f"{v} {k}" for k, v in n.items()))
    return 0


def run_make_dataset(args):
    """``data make hits``."""
    from ..atomic import check_output
    from ..errors import InputError
    from .dataset import make_hits_dataset
    if not 0.0 <= args.test_fraction < 1.0:
        raise InputError(f"--test-fraction {args.test_fraction}: expected 0 <= f < 1")
    check_output(args.out, what=f"--out {args.out}", directory=True)
    counts = dict(zip(("artefact", "gaseous", "solid"), args.counts))
    summary = make_hits_dataset(args.out, counts=counts, n_subjects=args.subjects,
                                seed=args.seed, test_fraction=args.test_fraction,
                                write_split=not args.no_split, command=_command_line(args),
                                progress=not args.no_progress)
    print(f"wrote {args.out}: {summary['segments']} segments "
          f"({', '.join(f'{v} {k}' for k, v in summary['per_class'].items())}) from "
          f"{summary['subjects']} subjects, {summary['test_segments']} in the test split")
    return 0


def run_detect(args):
    """``recordings detect``."""
    import json
    import numpy as np
    from ..atomic import atomic_path, check_output, write_text
    from ..errors import InputError
    from .detector import (DetectorParams, cut_segments, detect, detections_csv_text,
                           match_events, params_dict)
    from .recording import read_recording, read_truth_for
    from .spectrogram import plot_spectrogram

    params = DetectorParams(threshold_db=args.threshold_db, keep_long=not args.drop_long)
    if not 0 <= args.max_clipped_fraction <= 1:
        raise InputError(f"--max-clipped-fraction {args.max_clipped_fraction}: expected a "
                         f"fraction between 0 and 1")
    out = Path(args.out)
    check_output(out, what=f"--out {out}", directory=True)
    # Read and check every input before writing anything.
    rec = read_recording(args.recording, max_clipped_fraction=args.max_clipped_fraction,
                         accept_truncated=args.accept_truncated)
    truth, beyond = read_truth_for(args.truth, rec) if args.truth else (None, 0)
    start, length = (args.view if args.view else (0.0, None))
    if not 0 <= start < rec.duration_s or (length is not None and length * 4400 < 128):
        raise InputError(f"--view {start} {length}: expected a start inside the recording "
                         f"(0-{rec.duration_s:.1f} s) and a length of at least 0.03 s")
    if rec.duration_s * rec.sample_rate_hz < 128:
        raise InputError(f"{args.recording}: length: {len(rec.iq)} samples at 4400 Hz; "
                         f"expected at least 128")

    if rec.truncated:
        print(rec.truncation_note() + (f"; {beyond} truth events after the cut left out"
                                       if beyond else ""))
    detections = detect(rec.iq, params)
    segments = cut_segments(rec.iq, detections, params)
    labels, metrics = None, None
    if truth is not None:
        pairs = match_events(detections, truth)
        labels = [""] * len(detections)
        for i, j in pairs:
            labels[i] = truth[j].cls
        matched = {j for _, j in pairs}
        per_class = {}
        for cls in ("artefact", "gaseous", "solid"):
            idx = [j for j, t in enumerate(truth) if t.cls == cls]
            per_class[cls] = {"truth": len(idx), "detected": sum(j in matched for j in idx)}
        metrics = {"recording": str(args.recording), "truth": str(args.truth),
                   "truth_events": len(truth), "detections": len(detections),
                   "matched": len(pairs),
                   "recall": len(pairs) / len(truth) if truth else None,
                   "precision": len(pairs) / len(detections) if detections else None,
                   "per_class": per_class, "detector": params_dict(params)}
        if rec.truncated:
            metrics.update(frames_read=rec.frames_read, frames_declared=rec.frames_declared,
                           truth_events_after_cut=beyond)

    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "events.csv", detections_csv_text(detections, labels))
    with atomic_path(out / "segments.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, samples=segments.samples, start_index=segments.start_index,
                     onset_s=np.array([d.onset_s for d in detections]),
                     offset_s=np.array([d.offset_s for d in detections]),
                     sample_rate_hz=np.int64(rec.sample_rate_hz))
    plot_spectrogram(out / "spectrogram.png", rec.iq, rec.sample_rate_hz,
                     detections=detections, truth=truth or (), start_s=start,
                     length_s=length, title=f"{Path(args.recording).name}: "
                     f"{len(detections)} detected" + (f", {len(truth)} in truth"
                                                      if truth is not None else ""))
    if metrics is not None:
        write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    msg = f"{len(detections)} events in {rec.duration_s:.1f} s; wrote {out}/events.csv, " \
          f"segments.npz, spectrogram.png"
    if metrics is not None:
        msg += f", metrics.json (recall {metrics['recall']:.3f}, precision " \
               f"{metrics['precision']:.3f})" if detections and truth else ", metrics.json"
    print(msg)
    return 0
