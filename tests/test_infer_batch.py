"""``attq-fpga infer DIR``: a folder of recordings spread over several devices, one report
each and a summary; its inputs checked before the work, a failed recording kept apart.

The recordings are simulated here; each summary row is compared with the recording's own
``results.json`` and one recording's files with a single ``infer`` run of it.
"""

import csv
import json
import re
import shutil

import pytest

from sw.cli import main
from testsupport.infer_runs import comparable_json, csv_without_timing

NAMES = ("alpha", "bravo", "charlie")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Three short simulated recordings; alpha and bravo with their truth CSV."""
    from sw.doppler.recording import write_npz, write_truth_csv, write_wav
    from sw.doppler.simulator import simulate_recording

    base = tmp_path_factory.mktemp("batch") / "recs"
    base.mkdir()
    for seed, name in enumerate(NAMES):
        rec = simulate_recording(None, seed=10 + seed,
                                 counts={"artefact": 1, "gaseous": 1, "solid": 1})
        if name == "charlie":
            write_npz(base / f"{name}.npz", rec.iq, rec.sample_rate_hz)
        else:
            write_wav(base / f"{name}.wav", rec.iq, rec.sample_rate_hz)
            write_truth_csv(base / f"{name}.truth.csv", rec.events)
    (base / "notes.txt").write_text("the user's notes")
    return base


@pytest.fixture(scope="module")
def batch_run(folder, tmp_path_factory):
    import contextlib
    import io
    out = tmp_path_factory.mktemp("batch") / "out"
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        status = main(["infer", str(folder), "--device", "golden", "--device", "golden",
                       "--out", str(out), "--no-progress"])
    return status, out, said.getvalue()


def _summary_csv(out):
    with open(out / "summary.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_one_report_each_and_a_summary(batch_run, folder):
    status, out, said = batch_run
    assert status == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*NAMES, "index.html", "summary.csv", "summary.json"])
    for name in NAMES:
        assert sorted(p.name for p in (out / name).iterdir()) == sorted(
            ["energy.json", "energy.png", "report.html", "results.csv", "results.json"]
            + (["confusion.png"] if name != "charlie" else []))
    summary = json.loads((out / "summary.json").read_text())
    rows = summary["recordings"]
    assert [r["recording"] for r in rows] == ["alpha.wav", "bravo.wav", "charlie.npz"]
    table = _summary_csv(out)
    assert [r["recording"] for r in table] == [r["recording"] for r in rows]
    for row, line in zip(rows, table):
        own = json.loads((out / row["folder"] / "results.json").read_text())
        s = own["summary"]
        assert own["input"] == str(folder / row["recording"])
        assert row["status"] == line["status"] == "done"
        assert row["events"] == s["items"] == len(own["events"]) > 0
        assert int(line["events"]) == s["items"]
        assert row["failed"] == s["failed"] == 0
        for c in own["classes"]:
            want = sum(e["class"] == c for e in own["events"])
            assert row[f"count_{c}"] == int(line[f"count_{c}"]) == want
        assert row["latency_us_mean"] == pytest.approx(
            sum(e["latency_us"] for e in own["events"]) / len(own["events"]))
        if row["recording"] == "charlie.npz":
            assert row["accuracy"] is None and line["accuracy"] == ""
        else:
            scored = [e for e in own["events"] if e["truth_class"] is not None]
            assert row["accuracy"] == pytest.approx(
                sum(e["class"] == e["truth_class"] for e in scored) / len(scored))
            assert float(line["accuracy"]) == pytest.approx(row["accuracy"])
        # The device the summary names is the one the recording's own file records.
        assert row["device"] == line["device"] == f"golden#{row['device_slot']}"
        assert own["device"]["spec"] == "golden"
    # Both devices took recordings.
    assert {r["device"] for r in rows} == {"golden#0", "golden#1"}
    assert "notes.txt" in said
    assert len(re.findall(r"^\[infer\] \d/3 ", said, re.MULTILINE)) == 3


def test_the_index_page_links_every_report(batch_run):
    _, out, _ = batch_run
    text = (out / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"https?:", text) and "<script" not in text
    links = re.findall(r'href="([^"]+)"', text)
    assert links == [f"{name}/report.html" for name in NAMES]
    for link in links:
        assert (out / link).is_file()
    assert re.search(r'id="recording-count">3<', text)
    assert re.search(r'id="failure-count">0<', text)


def test_a_recording_in_the_batch_equals_its_single_run(batch_run, folder, tmp_path):
    _, out, _ = batch_run
    single = tmp_path / "single"
    assert main(["infer", str(folder / "bravo.wav"), "--device", "golden", "--out",
                 str(single), "--no-progress", "--table-rows", "0"]) == 0
    assert sorted(p.name for p in single.iterdir()) == sorted(
        p.name for p in (out / "bravo").iterdir())
    assert csv_without_timing(single / "results.csv") == \
        csv_without_timing(out / "bravo" / "results.csv")
    assert comparable_json(single / "results.json") == \
        comparable_json(out / "bravo" / "results.json")


def test_resume_skips_complete_recordings(batch_run, folder, tmp_path, monkeypatch):
    """--resume over a finished batch: every recording skipped, read back, the same
    summary; with one recording's results removed, only that one runs."""
    import sw.infer.inputs as inputs

    _, done, _ = batch_run
    out = tmp_path / "out"
    shutil.copytree(done, out)
    real = inputs.recording_inputs
    ran = []

    def counting(path, *args, **kwargs):
        ran.append(str(path))
        return real(path, *args, **kwargs)
    monkeypatch.setattr(inputs, "recording_inputs", counting)
    argv = ["infer", str(folder), "--device", "golden", "--out", str(out), "--resume"]
    assert main(argv) == 0
    assert ran == []
    before = json.loads((done / "summary.json").read_text())["recordings"]
    after = json.loads((out / "summary.json").read_text())["recordings"]
    assert [r["status"] for r in after] == ["skipped"] * 3
    keys = ("recording", "events", "failed", "accuracy", "latency_us_mean",
            "count_artefact", "count_gaseous", "count_solid")
    assert [[r[k] for k in keys] for r in after] == [[r[k] for k in keys] for r in before]

    (out / "bravo" / "results.json").unlink()
    assert main(argv) == 0
    assert ran == [str(folder / "bravo.wav")]
    after = json.loads((out / "summary.json").read_text())["recordings"]
    assert [r["status"] for r in after] == ["skipped", "done", "skipped"]


def test_a_failed_recording_does_not_stop_the_others(folder, tmp_path, monkeypatch,
                                                     capsys):
    import errno

    import sw.infer.inputs as inputs

    real = inputs.recording_inputs

    def bravo_vanishes(path, *args, **kwargs):
        if str(path).endswith("bravo.wav"):
            raise OSError(errno.EIO, "Input/output error", str(path))
        return real(path, *args, **kwargs)
    monkeypatch.setattr(inputs, "recording_inputs", bravo_vanishes)
    out = tmp_path / "out"
    assert main(["infer", str(folder), "--device", "golden", "--out", str(out),
                 "--no-progress"]) == 1
    rows = json.loads((out / "summary.json").read_text())["recordings"]
    assert [r["status"] for r in rows] == ["done", "failed", "done"]
    assert "bravo.wav" in rows[1]["error"] and "Input/output error" in rows[1]["error"]
    assert (out / "alpha" / "report.html").is_file()
    assert (out / "charlie" / "report.html").is_file()
    assert not (out / "bravo" / "results.json").exists()
    assert "FAILED" in capsys.readouterr().out
    index = (out / "index.html").read_text()
    assert re.search(r'id="failure-count">1<', index)
    assert "bravo/report.html" not in index


def _refused(argv, capsys, out, *needles):
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    for needle in needles:
        assert needle in err, err
    assert not out.exists() or not any(out.iterdir())
    return err


def _no_device(monkeypatch):
    """Opening a device fails the test: the checks must come before."""
    import sw.infer.device as device_mod

    def opened(*args, **kwargs):
        raise AssertionError("a device was opened before the inputs were checked")
    monkeypatch.setattr(device_mod, "open_for_inference", opened)


def test_a_bad_file_is_refused_before_the_work(folder, tmp_path, capsys, monkeypatch):
    _no_device(monkeypatch)
    bad = tmp_path / "recs"
    shutil.copytree(folder, bad)
    (bad / "delta.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    out = tmp_path / "out"
    _refused(["infer", str(bad), "--device", "golden", "--device", "golden", "--out",
              str(out)], capsys, out, str(bad / "delta.wav"), "WAV header")
    (bad / "delta.wav").unlink()
    # A truth CSV that does not fit its recording is a bad input too.
    (bad / "alpha.truth.csv").write_text("onset_s,duration_s,class\n1.0,0.05,bubble\n")
    _refused(["infer", str(bad), "--device", "golden", "--out", str(out)], capsys, out,
             str(bad / "alpha.truth.csv"), "bubble")


def test_empty_folder_and_bad_devices_are_refused(folder, tmp_path, capsys, monkeypatch):
    _no_device(monkeypatch)
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out"
    _refused(["infer", str(empty), "--device", "golden", "--out", str(out)], capsys, out,
             str(empty), "no recording")
    (empty / "notes.txt").write_text("x")
    _refused(["infer", str(empty), "--device", "golden", "--out", str(out)], capsys, out,
             "no recording", "notes.txt")
    _refused(["infer", str(folder), "--device", "golden", "--device", "bogus", "--out",
              str(out)], capsys, out, "--device bogus", "expected")
    # One recording runs on one device.
    _refused(["infer", str(folder / "alpha.wav"), "--device", "golden", "--device",
              "golden", "--out", str(out)], capsys, out, "--device given 2 times")
    _refused(["infer", str(folder), "--truth", str(folder / "alpha.truth.csv"),
              "--device", "golden", "--out", str(out)], capsys, out, "--truth")


def test_an_unfinished_recording_is_not_thrown_away(folder, tmp_path, capsys, monkeypatch):
    """A recording folder holding a journal: refused without --resume, before the work."""
    _no_device(monkeypatch)
    out = tmp_path / "out"
    (out / "bravo").mkdir(parents=True)
    (out / "bravo" / "infer.journal.jsonl").write_text("{}\n")
    status = main(["infer", str(folder), "--device", "golden", "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and str(out / "bravo") in err and "--resume" in err
