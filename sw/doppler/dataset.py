"""``data make hits``: a labelled HITS segment data set from simulated patients.

Writes the layout of the project's data set contract (docs/recording-format.md, "Labelled
segment data set"), which a user's own labelled recordings can also take::

    DIR/dataset.json   format, version, rate, segment length, classes, source, generator
    DIR/labels.csv     file,class,subject,split
    DIR/events.csv     per segment: the simulator's truth (onset in its recording, duration,
                       EBR, frequency, FM excursion) and what the segment is centred on -
                       extra information, not needed to load
    DIR/segments/<class>/<id>.wav   stereo I/Q, 16-bit PCM, 4400 Hz, 2048 frames, centred

Each simulated subject ("patient") gets its own flow and instrument parameters and one
recording holding its share of the events. The recording goes through the HITS front end
(:mod:`sw.doppler.detector`, default settings) and every truth event is cut as a
2048-sample segment by the front end's own :func:`~sw.doppler.detector.cut_segments`,
centred on the midpoint of the detection it matches - so the classifier is trained on
exactly what ``attq-fpga infer`` hands it. The rare event the detector misses (well under
1 %) is centred on its truth centre instead (``centred_on`` in events.csv); the two agree
to a few milliseconds (results/doppler_detector_quality.md). The split is subject-wise:
whole subjects go to the test set until it holds about 37 % of the segments, as in the
paper.
"""

import csv
import io
import json
import math
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..errors import InputError
from .detector import Detection, DetectorParams, cut_segments, detect, match_events
from .params import SimulatorParams
from .recording import CLASSES, write_wav
from .simulator import simulate_recording

__all__ = ["PAPER_COUNTS", "make_hits_dataset", "split_subjects", "partition_counts"]

#: Class counts of the aTTQ paper's HITS data set.
PAPER_COUNTS = {"artefact": 403, "gaseous": 569, "solid": 569}
SEGMENT_SAMPLES = 2048
SAMPLE_RATE_HZ = 4400


def partition_counts(counts, n_subjects, rng):
    """Share each class count among ``n_subjects`` (exact totals, unequal shares)."""
    share = rng.dirichlet(np.full(n_subjects, 4.0))
    per_subject = [dict() for _ in range(n_subjects)]
    for cls in CLASSES:
        drawn = rng.multinomial(int(counts.get(cls, 0)), share)
        for k in range(n_subjects):
            per_subject[k][cls] = int(drawn[k])
    return per_subject


def split_subjects(sizes, test_fraction, rng):
    """Choose test subjects so the test set holds about ``test_fraction`` of the segments.

    Subjects are visited in a random order; each is put in the test set if that brings the
    test share closer to ``test_fraction``. Returns a set of subject indices.
    """
    total = float(sum(sizes))
    test, n_test = set(), 0
    for k in rng.permutation(len(sizes)):
        if abs((n_test + sizes[k]) / total - test_fraction) < abs(n_test / total -
                                                                  test_fraction):
            test.add(int(k))
            n_test += sizes[k]
    return test


def make_hits_dataset(out_dir, *, counts=None, n_subjects=12, seed=0, test_fraction=0.37,
                      write_split=True, params=SimulatorParams(), detector=DetectorParams(),
                      command=None, progress=True):
    """Simulate patients and write the labelled segment data set to ``out_dir``.

    The directory is built next to ``out_dir`` and renamed into place at the end, so an
    interrupted run leaves nothing behind. ``out_dir`` must not exist or be empty.

    Returns
    -------
    dict
        Summary: counts per class and split, subjects.
    """
    out_dir = Path(out_dir)
    counts = dict(PAPER_COUNTS if counts is None else counts)
    if set(counts) - set(CLASSES) or any(int(v) < 0 for v in counts.values()):
        raise InputError(f"--counts: {counts}; expected non-negative counts for "
                         f"{', '.join(CLASSES)}")
    if sum(counts.values()) == 0:
        raise InputError("--counts: all zero; expected at least one segment")
    if n_subjects < 1:
        raise InputError(f"--subjects: {n_subjects}; expected at least 1")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InputError(f"{out_dir}: exists and is not an empty directory; choose a new "
                         f"output directory")
    rng = np.random.default_rng([seed, 0])
    shares = partition_counts(counts, n_subjects, rng)
    sizes = [sum(s.values()) for s in shares]
    test = split_subjects(sizes, test_fraction, rng) if write_split else set()

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for cls in CLASSES:
            (tmp / "segments" / cls).mkdir(parents=True)
        labels = io.StringIO()
        lw = csv.writer(labels, lineterminator="\n")
        lw.writerow(["file", "class", "subject", "split"])
        events_csv = io.StringIO()
        ew = csv.writer(events_csv, lineterminator="\n")
        ew.writerow(["file", "subject", "onset_s", "duration_s", "ebr_db", "frequency_hz",
                     "fm_hz", "centred_on"])
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=sum(sizes), unit="segment", desc="data make hits")
        next_id = 0
        subjects = []
        for k, share in enumerate(shares):
            if sizes[k] == 0:
                continue
            subject_id = f"sim{seed:04d}-{k:02d}"
            rec = simulate_recording(None, seed=[seed, 1, k], params=params, counts=share)
            subjects.append({"subject": subject_id, "segments": sizes[k],
                             "split": ("test" if k in test else "train") if write_split
                             else "", "recording_s": round(rec.duration_s, 2),
                             **{name: round(float(v), 3) for name, v in
                                vars(rec.subject).items()}})
            detections = detect(rec.iq, detector)
            matched = {j: detections[i] for i, j in match_events(detections, rec.events)}
            centres = [matched.get(j) or Detection(ev.onset_s, ev.offset_s, ev.centre_s,
                                                   ev.ebr_db, math.nan, True)
                       for j, ev in enumerate(rec.events)]
            cut = cut_segments(rec.iq, centres, detector)
            for j, ev in enumerate(rec.events):
                seg = cut.samples[j]
                if cut.start_index[j] < 0 or \
                        cut.start_index[j] + SEGMENT_SAMPLES > len(rec.iq):
                    raise AssertionError("event too close to the recording's end")
                rel = f"segments/{ev.cls}/{next_id:06d}.wav"
                write_wav(tmp / rel, seg, SAMPLE_RATE_HZ, sample_format="pcm16")
                split = ("test" if k in test else "train") if write_split else ""
                lw.writerow([rel, ev.cls, subject_id, split])
                ew.writerow([rel, subject_id, f"{ev.onset_s:.4f}", f"{ev.duration_s:.4f}",
                             f"{ev.ebr_db:.2f}",
                             "" if np.isnan(ev.frequency_hz) else f"{ev.frequency_hz:.1f}",
                             "" if np.isnan(ev.fm_hz) else f"{ev.fm_hz:.1f}",
                             "detection" if j in matched else "truth"])
                next_id += 1
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        meta = {
            "format": "attq-hits-segments", "version": 1,
            "sample_rate_hz": SAMPLE_RATE_HZ, "segment_samples": SEGMENT_SAMPLES,
            "classes": list(CLASSES), "source": "simulated",
            "description": ("Simulated transcranial Doppler HITS (sw.doppler.simulator): "
                            "MCA flow background (Mo & Cobbold 1989 spectral synthesis), "
                            "gaseous and solid emboli (Gaussian-windowed sinusoids, "
                            "consensus ranges, radiation-force FM for gas), bidirectional "
                            "low-frequency artefacts; segments cut by the HITS front end "
                            "(sw.doppler.detector), centred on each event."),
            "generator": {"command": command, "seed": seed, "n_subjects": n_subjects,
                          "counts": counts, "test_fraction": test_fraction,
                          "subjects": subjects, "simulator": params.to_dict(),
                          "front_end": asdict(detector)},
        }
        (tmp / "labels.csv").write_text(labels.getvalue(), encoding="utf-8")
        (tmp / "events.csv").write_text(events_csv.getvalue(), encoding="utf-8")
        (tmp / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n",
                                          encoding="utf-8")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a data set is shared
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    summary = {"segments": next_id, "subjects": len(subjects),
               "per_class": {c: int(counts.get(c, 0)) for c in CLASSES},
               "test_segments": sum(s["segments"] for s in subjects if s["split"] == "test")}
    return summary
