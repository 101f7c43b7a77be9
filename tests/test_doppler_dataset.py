"""data make hits: the layout of the data set contract, counts, subjects, split."""

import csv
import json
import wave

import numpy as np
import pytest
from scipy.io import wavfile

from sw.cli import build_parser, main

COUNTS = {"artefact": 7, "gaseous": 9, "solid": 9}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "hits"
    assert main(["data", "make", "hits", "--out", str(out), "--counts", "7", "9", "9",
                 "--subjects", "4", "--seed", "5", "--no-progress"]) == 0
    return out


def rows(out):
    with open(out / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_default_counts_are_the_papers():
    args = build_parser().parse_args(["data", "make", "hits", "--out", "x"])
    assert tuple(args.counts) == (403, 569, 569)


def test_dataset_json(dataset):
    meta = json.loads((dataset / "dataset.json").read_text())
    assert meta["format"] == "attq-hits-segments" and meta["version"] == 1
    assert meta["sample_rate_hz"] == 4400 and meta["segment_samples"] == 2048
    assert meta["classes"] == ["artefact", "gaseous", "solid"]
    assert meta["source"] == "simulated" and meta["description"]
    assert meta["generator"]["seed"] == 5 and meta["generator"]["counts"] == COUNTS


def test_labels_header_counts_and_files(dataset):
    header = (dataset / "labels.csv").read_text().splitlines()[0]
    assert header == "file,class,subject,split"
    labels = rows(dataset)
    for cls, n in COUNTS.items():
        assert sum(r["class"] == cls for r in labels) == n
    on_disk = {p.relative_to(dataset).as_posix() for p in (dataset / "segments").rglob("*")
               if p.is_file()}
    assert on_disk == {r["file"] for r in labels}
    for r in labels:
        assert r["file"].startswith(f"segments/{r['class']}/")
        with wave.open(str(dataset / r["file"])) as w:
            assert (w.getnchannels(), w.getframerate(), w.getnframes(),
                    w.getsampwidth()) == (2, 4400, 2048, 2)


def test_split_is_subject_wise(dataset):
    labels = rows(dataset)
    split_of = {}
    for r in labels:
        assert r["split"] in ("train", "test")
        assert split_of.setdefault(r["subject"], r["split"]) == r["split"]
    assert len(split_of) >= 2 and set(split_of.values()) == {"train", "test"}


def test_emboli_are_centred_in_their_segments(dataset):
    for r in rows(dataset):
        if r["class"] == "artefact":
            continue
        _, data = wavfile.read(dataset / r["file"])
        z = data[:, 0].astype(float) + 1j * data[:, 1]
        power = np.convolve(np.abs(z) ** 2, np.ones(22) / 22, mode="same")
        # The embolus is the power peak of its segment, at the centre (1024) +- 10 ms.
        assert abs(int(np.argmax(power)) - 1024) < 44


def test_no_split_leaves_column_empty_and_refuses_nonempty_dir(tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["data", "make", "hits", "--out", str(out), "--counts", "1", "2", "2",
                 "--subjects", "2", "--no-split", "--no-progress"]) == 0
    assert {r["split"] for r in rows(out)} == {""}
    before = sorted(p.name for p in out.rglob("*"))
    assert main(["data", "make", "hits", "--out", str(out), "--counts", "1", "1", "1",
                 "--no-progress"]) == 2
    assert "not an empty directory" in capsys.readouterr().err
    assert sorted(p.name for p in out.rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir()] == ["d"]   # no temporary left behind


def test_same_seed_same_dataset(dataset, tmp_path):
    again = tmp_path / "again"
    assert main(["data", "make", "hits", "--out", str(again), "--counts", "7", "9", "9",
                 "--subjects", "4", "--seed", "5", "--no-progress"]) == 0
    assert (again / "labels.csv").read_bytes() == (dataset / "labels.csv").read_bytes()
    for r in rows(dataset):
        assert (again / r["file"]).read_bytes() == (dataset / r["file"]).read_bytes()


def test_project_loader_reads_it(dataset):
    hits = pytest.importorskip("sw.data.hits")
    split = hits.load_hits(dataset)
    assert len(split.y_train) + len(split.y_test) == sum(COUNTS.values())
    assert split.x_train.shape[1:] == (2, 2048)


def test_training_segments_are_what_the_front_end_cuts(dataset, tmp_path):
    # Rebuild subject 0's recording as the writer does (documented seeds), write it as a
    # WAV like a user's recording, run the front end on the file, and compare its segments
    # with the data set's WAVs of the same events.
    from sw.doppler.dataset import partition_counts
    from sw.doppler.detector import front_end, match_events
    from sw.doppler.recording import write_wav
    from sw.doppler.simulator import simulate_recording
    shares = partition_counts(COUNTS, 4, np.random.default_rng([5, 0]))
    rec = simulate_recording(None, seed=[5, 1, 0], counts=shares[0])
    write_wav(tmp_path / "subject0.wav", rec.iq, 4400)
    _, seg = front_end(tmp_path / "subject0.wav")
    pairs = dict((j, i) for i, j in match_events(seg.detections, rec.events))
    files = [r["file"] for r in rows(dataset) if r["subject"] == "sim0005-00"]
    assert len(files) == len(rec.events) and len(pairs) >= len(files) - 1
    same = 0
    for j, rel in enumerate(files):
        if j not in pairs:
            continue
        _, data = wavfile.read(dataset / rel)
        ours = np.round(seg.channels()[pairs[j]].T * 32768).astype(np.int16)
        same += np.array_equal(ours, data)
    assert same >= len(pairs) - 1
