"""HITS segment loader on datasets written by hand in the contract's layout."""

import json

import numpy as np
import pytest
from scipy.io import wavfile

from sw.data.hits import load_hits, subject_split
from sw.errors import InputError

RATE, FRAMES = 4400, 2048
CLASSES = ["artefact", "gaseous", "solid"]


def _segment(k, n_frames=FRAMES):
    """Segment k: I is the constant k/1000, Q a ramp; identifiable after loading."""
    i = np.full(n_frames, k / 1000.0)
    q = np.linspace(-0.5, 0.5, n_frames)
    return np.stack([i, q], axis=1).astype(np.float32)


def _write_dataset(root, entries, *, meta=None, pcm16=False):
    """entries: (class, subject, split) per segment; returns the labels rows written."""
    root.mkdir(parents=True, exist_ok=True)
    description = {"format": "attq-hits-segments", "version": 1, "sample_rate_hz": RATE,
                   "segment_samples": FRAMES, "classes": CLASSES, "source": "simulated",
                   "description": "hand-written test fixture"}
    description.update(meta or {})
    (root / "dataset.json").write_text(json.dumps(description))
    lines = ["file,class,subject,split"]
    for k, (cls, subject, split) in enumerate(entries):
        rel = f"segments/{cls}/{k:06d}.wav"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        data = _segment(k)
        if pcm16:
            data = np.rint(data * 32768).clip(-32768, 32767).astype(np.int16)
        wavfile.write(root / rel, RATE, data)
        lines.append(f"{rel},{cls},{subject},{split}")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return lines


def test_given_split_column_and_contents(tmp_path):
    entries = [(CLASSES[k % 3], f"s{k % 4}", "train" if k % 4 < 3 else "test")
               for k in range(12)]
    _write_dataset(tmp_path, entries)
    split = load_hits(tmp_path)
    assert split.classes == CLASSES
    assert split.source == "simulated"
    assert split.x_train.shape == (9, 2, FRAMES) and split.x_test.shape == (3, 2, FRAMES)
    assert split.x_train.dtype == np.float32 and split.y_train.dtype == np.int64
    for x, y, want_split in ((split.x_train, split.y_train, "train"),
                             (split.x_test, split.y_test, "test")):
        for seg, label in zip(x, y):
            k = int(round(seg[0, 0] * 1000))
            assert entries[k][2] == want_split
            assert CLASSES[label] == entries[k][0]
            assert np.array_equal(seg, _segment(k).T)        # float32 WAVs load exactly


def test_pcm16_is_scaled_to_unit_range(tmp_path):
    _write_dataset(tmp_path, [("solid", "a", "train"), ("gaseous", "b", "test")], pcm16=True)
    split = load_hits(tmp_path)
    # Q ramps from -0.5 to 0.5: -16384 and 16384 in PCM, -0.5 and 0.5 after / 32768.
    assert split.x_train[0, 1, 0] == -0.5 and split.x_train[0, 1, -1] == 0.5
    # Segment 1's I is 0.001: rint(32.768) = 33 in PCM, 33 / 32768 after loading.
    assert np.all(split.x_test[0, 0] == np.float32(33 / 32768))

def test_subject_wise_split_when_split_column_empty(tmp_path):
    # 20 subjects with 5 segments each: 63 % of 100 is 63; 13 subjects give 65 (|2|),
    # 12 give 60 (|3|), so the training set holds exactly 13 subjects.
    entries = [(CLASSES[k % 3], f"subject{k // 5:02d}", "") for k in range(100)]
    _write_dataset(tmp_path, entries)
    split = load_hits(tmp_path, seed=0)
    assert len(split.y_train) == 65 and len(split.y_test) == 35

    def subjects(x):
        return {entries[int(round(v * 1000))][1] for v in x[:, 0, 0]}

    train, test = subjects(split.x_train), subjects(split.x_test)
    assert not train & test
    assert len(train) == 13 and len(train | test) == 20
    again = load_hits(tmp_path, seed=0)
    assert np.array_equal(again.x_train, split.x_train)
    other = load_hits(tmp_path, seed=1)
    assert subjects(other.x_train) != train


def test_subject_split_with_uneven_subjects():
    subjects = np.array(["a"] * 50 + ["b"] * 30 + ["c"] * 20)
    for seed in range(10):
        train, test = subject_split(subjects, seed=seed)
        assert set(subjects[train]).isdisjoint(subjects[test])
        assert len(train) + len(test) == 100 and len(test) > 0
    with pytest.raises(InputError, match="at least 2 subjects"):
        subject_split(np.array(["a"] * 5))


def _expect(tmp_path, message):
    with pytest.raises(InputError) as err:
        load_hits(tmp_path)
    assert str(err.value) == message.format(d=tmp_path)


def test_missing_dataset_json(tmp_path):
    _write_dataset(tmp_path, [("solid", "a", "train"), ("solid", "b", "test")])
    (tmp_path / "dataset.json").unlink()
    with pytest.raises(InputError, match=r"dataset.json: file not found"):
        load_hits(tmp_path)


def test_bad_dataset_json_fields(tmp_path):
    _write_dataset(tmp_path, [("solid", "a", "")], meta={"format": "wav-folder"})
    _expect(tmp_path, "{d}/dataset.json: field 'format': expected 'attq-hits-segments', "
                      "got 'wav-folder'")
    _write_dataset(tmp_path, [("solid", "a", "")], meta={"source": "real"})
    _expect(tmp_path, "{d}/dataset.json: field 'source': expected 'simulated' or "
                      "'recorded', got 'real'")


def test_unknown_class(tmp_path):
    lines = _write_dataset(tmp_path, [("solid", "a", ""), ("gaseous", "b", "")])
    lines[2] = lines[2].replace(",gaseous,", ",bubble,")
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    _expect(tmp_path, "{d}/labels.csv: row 2 (line 3), column 2 (class): expected one of "
                      "['artefact', 'gaseous', 'solid'] (dataset.json 'classes'), got 'bubble'")


def test_missing_wav(tmp_path):
    _write_dataset(tmp_path, [("solid", "a", ""), ("gaseous", "b", "")])
    (tmp_path / "segments/gaseous/000001.wav").unlink()
    _expect(tmp_path, "{d}/labels.csv: row 2 (line 3), column 1 (file): "
                      "{d}/segments/gaseous/000001.wav: file not found (expected a stereo "
                      "I/Q WAV)")


def test_wrong_sample_rate_channels_length_and_format(tmp_path):
    _write_dataset(tmp_path, [("solid", "a", ""), ("gaseous", "b", "")])
    wav = tmp_path / "segments/solid/000000.wav"
    where = "listed in {d}/labels.csv: row 1 (line 2)"

    wavfile.write(wav, 8000, _segment(0))
    _expect(tmp_path, "{d}/segments/solid/000000.wav: sample rate 8000 Hz: expected 4400 Hz "
                      f"(dataset.json sample_rate_hz; {where})")
    wavfile.write(wav, RATE, _segment(0)[:, 0])
    _expect(tmp_path, "{d}/segments/solid/000000.wav: 1 channel(s): expected 2 (channel 0 = "
                      f"I, channel 1 = Q; {where})")
    wavfile.write(wav, RATE, _segment(0, n_frames=2000))
    _expect(tmp_path, "{d}/segments/solid/000000.wav: 2000 frames: expected 2048 "
                      f"(dataset.json segment_samples; {where})")
    wavfile.write(wav, RATE, np.zeros((FRAMES, 2), dtype=np.int32))
    _expect(tmp_path, "{d}/segments/solid/000000.wav: sample format int32: expected 16-bit "
                      f"PCM or 32-bit float ({where})")
    wav.write_bytes(b"not a wav file")
    with pytest.raises(InputError, match=r"row 1 \(line 2\), column 1 \(file\): .*not a readable WAV"):
        load_hits(tmp_path)


def test_labels_header_and_split_values(tmp_path):
    lines = _write_dataset(tmp_path, [("solid", "a", "train"), ("gaseous", "b", "test")])
    (tmp_path / "labels.csv").write_text("\n".join(["file,class,subject"] + lines[1:]) + "\n")
    _expect(tmp_path, "{d}/labels.csv: header (line 1): expected exactly "
                      "file,class,subject,split, got file,class,subject")
    lines[2] = lines[2].replace(",test", ",validation")
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    _expect(tmp_path, "{d}/labels.csv: row 2 (line 3), column 4 (split): expected 'train', "
                      "'test' or empty, got 'validation'")
    lines[2] = lines[2].replace(",validation", ",")
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"row 2 \(line 3\), column 4 \(split\): empty, but "
                                         "other rows give a split"):
        load_hits(tmp_path)
    (tmp_path / "labels.csv").write_text("\n".join(lines[:2] + ["x.wav,solid,c"]) + "\n")
    _expect(tmp_path, "{d}/labels.csv: row 2 (line 3): expected 4 columns "
                      "(file,class,subject,split), found 3")


def test_missing_directory(tmp_path):
    with pytest.raises(InputError, match="nothere: directory not found"):
        load_hits(tmp_path / "nothere")
