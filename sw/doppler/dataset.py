"""``data make hits``: a labelled HITS segment data set from simulated patients.

Writes the layout of the project's data set contract (docs/recording-format.md, "Labelled
segment data set")::

    DIR/dataset.json   format, version, rate, segment length, classes, source, generator
    DIR/labels.csv     file,class,subject,split
    DIR/events.csv     per segment: the simulator's truth (onset in its recording, duration,
                       EBR, frequency, FM excursion) and what the segment is centred on -
                       extra information, not needed to load
    DIR/segments/<class>/<id>.wav   stereo I/Q, 16-bit PCM, 4400 Hz, 2048 frames, centred

:class:`SegmentDatasetWriter` writes that layout atomically, for this module and for
``data from-recordings`` (:mod:`sw.doppler.from_recordings`, a user's own labelled
recordings, whose events.csv holds the label rows instead of a simulator's truth).

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

__all__ = ["PAPER_COUNTS", "SEGMENT_SAMPLES", "SAMPLE_RATE_HZ", "make_hits_dataset",
           "split_subjects", "partition_counts", "check_new_dataset_dir",
           "SegmentDatasetWriter"]

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


def check_new_dataset_dir(out_dir):
    """Refuse an ``out_dir`` that exists and is not an empty directory (InputError)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InputError(f"{out_dir}: exists and is not an empty directory; choose a new "
                         f"output directory")


class SegmentDatasetWriter:
    """Write a labelled segment data set (the layout of this module's docstring) atomically.

    The data set is built in a temporary directory next to ``out_dir``, one segment at a
    time (:meth:`add`), and renamed into place by :meth:`commit`. Leaving the ``with``
    block without a commit, or through an exception, removes the temporary directory:
    ``out_dir`` then holds nothing of it.

    Parameters
    ----------
    out_dir : str or Path
        Must not exist, or be an empty directory.
    event_columns : list of str
        Columns of events.csv after ``file`` and ``subject``.

    Examples
    --------
    >>> with SegmentDatasetWriter(out, ["onset_s"]) as w:       # doctest: +SKIP
    ...     w.add(samples, "solid", "p01", ["12.3400"])
    ...     w.commit(source="recorded", description="...", generator={},
    ...              splits={"p01": "train"})
    """

    def __init__(self, out_dir, event_columns):
        self.out_dir = Path(out_dir)
        check_new_dataset_dir(self.out_dir)
        self._event_columns = list(event_columns)
        self._rows = []          # (file, class, subject)
        self._events = []        # (file, subject, *event fields)
        self._tmp = None
        self._committed = False

    @property
    def count(self):
        """Segments added so far."""
        return len(self._rows)

    @property
    def segments(self):
        """``(file, class, subject)`` of each segment added so far."""
        return list(self._rows)

    def __enter__(self):
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.",
                                          dir=self.out_dir.parent))
        try:
            for cls in CLASSES:
                (self._tmp / "segments" / cls).mkdir(parents=True)
        except BaseException:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if not self._committed:
            shutil.rmtree(self._tmp, ignore_errors=True)
        return False

    def add(self, samples, cls, subject, event_fields):
        """Write one segment (complex ``samples``, full-scale units) as 16-bit PCM.

        Returns
        -------
        str
            Its path relative to the data set, ``segments/<cls>/<id>.wav``.
        """
        if cls not in CLASSES:
            raise ValueError(f"class {cls!r}; expected one of {CLASSES}")
        if len(event_fields) != len(self._event_columns):
            raise ValueError(f"{len(event_fields)} event fields for the columns "
                             f"{self._event_columns}")
        rel = f"segments/{cls}/{self.count:06d}.wav"
        write_wav(self._tmp / rel, samples, SAMPLE_RATE_HZ, sample_format="pcm16")
        self._rows.append((rel, cls, subject))
        self._events.append([rel, subject, *event_fields])
        return rel

    def commit(self, *, source, description, generator, splits=None, extra_files=None):
        """Write labels.csv, events.csv, dataset.json (and ``extra_files``) and rename the
        data set into place.

        Parameters
        ----------
        source : str
            dataset.json ``source``: "simulated" or "recorded".
        description : str
        generator : dict
            dataset.json ``generator``: how the data set was made.
        splits : dict, optional
            Subject -> "train" or "test"; subjects not in it (all, without it) get an
            empty split, which the loader fills with its subject-wise split.
        extra_files : dict, optional
            File name -> text, written beside dataset.json.
        """
        splits = splits or {}
        labels = io.StringIO()
        lw = csv.writer(labels, lineterminator="\n")
        lw.writerow(["file", "class", "subject", "split"])
        for rel, cls, subject in self._rows:
            lw.writerow([rel, cls, subject, splits.get(subject, "")])
        events = io.StringIO()
        ew = csv.writer(events, lineterminator="\n")
        ew.writerow(["file", "subject", *self._event_columns])
        ew.writerows(self._events)
        meta = {"format": "attq-hits-segments", "version": 1,
                "sample_rate_hz": SAMPLE_RATE_HZ, "segment_samples": SEGMENT_SAMPLES,
                "classes": list(CLASSES), "source": source, "description": description,
                "generator": generator}
        tmp = self._tmp
        (tmp / "labels.csv").write_text(labels.getvalue(), encoding="utf-8")
        (tmp / "events.csv").write_text(events.getvalue(), encoding="utf-8")
        (tmp / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n",
                                          encoding="utf-8")
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a data set is shared
        # An empty out_dir was accepted; os.replace cannot put a directory onto it.
        if self.out_dir.exists():
            self.out_dir.rmdir()
        os.replace(tmp, self.out_dir)
        self._committed = True


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
    check_new_dataset_dir(out_dir)
    rng = np.random.default_rng([seed, 0])
    shares = partition_counts(counts, n_subjects, rng)
    sizes = [sum(s.values()) for s in shares]
    test = split_subjects(sizes, test_fraction, rng) if write_split else set()

    splits = {}
    with SegmentDatasetWriter(out_dir, ["onset_s", "duration_s", "ebr_db", "frequency_hz",
                                        "fm_hz", "centred_on"]) as writer:
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=sum(sizes), unit="segment", desc="data make hits")
        subjects = []
        for k, share in enumerate(shares):
            if sizes[k] == 0:
                continue
            subject_id = f"sim{seed:04d}-{k:02d}"
            splits[subject_id] = ("test" if k in test else "train") if write_split else ""
            rec = simulate_recording(None, seed=[seed, 1, k], params=params, counts=share)
            subjects.append({"subject": subject_id, "segments": sizes[k],
                             "split": splits[subject_id],
                             "recording_s": round(rec.duration_s, 2),
                             **{name: round(float(v), 3) for name, v in
                                vars(rec.subject).items()}})
            detections = detect(rec.iq, detector)
            matched = {j: detections[i] for i, j in match_events(detections, rec.events)}
            centres = [matched.get(j) or Detection(ev.onset_s, ev.offset_s, ev.centre_s,
                                                   ev.ebr_db, math.nan, True)
                       for j, ev in enumerate(rec.events)]
            cut = cut_segments(rec.iq, centres, detector)
            for j, ev in enumerate(rec.events):
                if cut.start_index[j] < 0 or \
                        cut.start_index[j] + SEGMENT_SAMPLES > len(rec.iq):
                    raise AssertionError("event too close to the recording's end")
                writer.add(cut.samples[j], ev.cls, subject_id, [
                    f"{ev.onset_s:.4f}", f"{ev.duration_s:.4f}", f"{ev.ebr_db:.2f}",
                    "" if np.isnan(ev.frequency_hz) else f"{ev.frequency_hz:.1f}",
                    "" if np.isnan(ev.fm_hz) else f"{ev.fm_hz:.1f}",
                    "detection" if j in matched else "truth"])
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        writer.commit(
            source="simulated",
            description=("Simulated transcranial Doppler HITS (sw.doppler.simulator): "
                         "MCA flow background (Mo & Cobbold 1989 spectral synthesis), "
                         "gaseous and solid emboli (Gaussian-windowed sinusoids, "
                         "consensus ranges, radiation-force FM for gas), bidirectional "
                         "low-frequency artefacts; segments cut by the HITS front end "
                         "(sw.doppler.detector), centred on each event."),
            generator={"command": command, "seed": seed, "n_subjects": n_subjects,
                       "counts": counts, "test_fraction": test_fraction,
                       "subjects": subjects, "simulator": params.to_dict(),
                       "front_end": asdict(detector)},
            splits=splits)
    summary = {"segments": writer.count, "subjects": len(subjects),
               "per_class": {c: int(counts.get(c, 0)) for c in CLASSES},
               "test_segments": sum(s["segments"] for s in subjects if s["split"] == "test")}
    return summary
