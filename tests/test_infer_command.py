"""``attq-fpga infer`` end to end on the golden device, its files, and its input errors.

The expectations come from elsewhere: the front end and the golden executor called
directly on the same recording (event by event), the truth CSV matched with
``match_events`` and scored with sklearn, the counters from the program's layer shapes.
"""

import csv
import json
import shutil

import numpy as np
import pytest

from sw.program.file import content_hash

from sw import spec
from sw.cli import main
from sw.infer.pipeline import DEFAULT_MODEL, ROOT
from testsupport.infer_runs import comparable_json, csv_without_timing

RECORDING = ROOT / "data" / "example" / "tcd-example.wav"
TRUTH = RECORDING.with_suffix(".truth.csv")


@pytest.fixture(scope="module")
def golden_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("infer") / "out"
    status = main(["infer", str(RECORDING), "--device", "golden", "--out", str(out),
                   "--no-progress"])
    rows = list(csv.DictReader(open(out / "results.csv", newline="")))
    doc = json.loads((out / "results.json").read_text())
    return status, out, rows, doc


@pytest.fixture(scope="module")
def reference():
    """The same recording through the front end and the golden executor, directly."""
    from sw.data.transform import apply_transform
    from sw.doppler.detector import front_end, match_events
    from sw.doppler.recording import read_truth_csv
    from sw.golden.executor import execute
    from sw.program.file import load

    program = load(DEFAULT_MODEL)
    # The default model's recorded transform: the TFR it was trained on (n_fft 32, hop 32).
    assert program.input_transform.to_dict() == {"steps": [
        {"kind": "tfr", "n_fft": 32, "hop": 32, "iq": True, "clip": True}]}
    rec, segments = front_end(RECORDING)
    x = apply_transform(program.input_transform, segments.channels())
    res = execute(program, x)
    truth = read_truth_csv(TRUTH, duration_s=rec.duration_s)
    pairs = match_events(segments.detections, truth)
    return program, segments, res, truth, pairs


def test_rows_equal_the_golden_executor_event_by_event(golden_run, reference):
    from scipy.special import softmax
    status, _, rows, doc = golden_run
    program, segments, res, _, _ = reference
    assert status == 0
    assert len(rows) == len(segments.detections) == len(doc["events"]) > 0
    probs = softmax(res.output, axis=1)
    for i, (row, det) in enumerate(zip(rows, segments.detections)):
        assert int(row["index"]) == i and row["error"] == ""
        assert float(row["onset_s"]) == pytest.approx(det.onset_s, abs=1e-4)
        assert float(row["duration_s"]) == pytest.approx(det.duration_s, abs=1e-4)
        assert int(row["class_index"]) == res.predictions()[i]
        assert row["class"] == program.classes[res.predictions()[i]]
        got = [float(row[f"p_{c}"]) for c in program.classes]
        np.testing.assert_allclose(got, probs[i], atol=1e-6)
        event = doc["events"][i]
        np.testing.assert_allclose([event["probabilities"][c] for c in program.classes],
                                   probs[i], rtol=1e-12)


def test_counters_and_latency_follow_the_program(golden_run, reference):
    _, _, rows, doc = golden_run
    program = reference[0]
    layers = program.engine_layers
    width, lanes = doc["device"]["width"], doc["device"]["lanes"]
    assert width == 4
    # Per inference: one add per nonzero weight per (pre-pool) position.
    adds_plus = sum(layer.nnz_plus * layer.positions for layer in layers)
    adds_minus = sum(layer.nnz_minus * layer.positions for layer in layers)
    writes = sum(int(np.prod(layer.out_shape)) for layer in layers)

    def steps(layer):
        # Weight-word passes on an engine of V = width: a wide layer (column stride 1,
        # pooling width dividing V) takes one a pre-pool row and V columns of its pooling
        # windows; any other one a position (a single-position layer: one).
        _, out_h, out_w = layer.out_shape
        (qh, qw), sw = layer.pool, layer.stride[1]
        if width > 1 and sw == 1 and width % qw == 0:
            return out_h * qh * -(-out_w * qw // width)
        return out_h * qh * out_w * qw

    # One word per weight (an empty channel's one word) per step, for every layer.
    words = [(layer.nnz + int((layer.nnz_per_channel() == 0).sum())) * steps(layer)
             for layer in layers]
    clk = doc["device"]["clk_hz"]
    for row in rows:
        assert int(row["adds_plus"]) == adds_plus
        assert int(row["adds_minus"]) == adds_minus
        assert int(row["weight_words"]) == sum(words)
        assert int(row["weight_words"]) < adds_plus + adds_minus
        assert int(row["act_writes"]) == writes
        cycles = int(row["cycles"])
        # The engine's bound: a lane issues at most one word a cycle, so each layer takes
        # at least ceil(its words / lanes) cycles.
        assert cycles >= sum(-(-n // lanes) for n in words)
        assert int(row["busy_cycles"]) <= cycles
        assert float(row["latency_us"]) == pytest.approx(cycles / clk * 1e6, abs=0.01)


def test_files_and_schema(golden_run, reference):
    _, out, rows, doc = golden_run
    program = reference[0]
    assert sorted(p.name for p in out.iterdir()) == [
        "confusion.png", "energy.json", "energy.png", "report.html", "results.csv",
        "results.json"]
    for png in ("energy.png", "confusion.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    header = list(rows[0].keys())
    assert header == (["index", "onset_s", "offset_s", "duration_s", "peak_db",
                       "direction_db", "consensus", "class_index", "class"]
                      + [f"p_{c}" for c in program.classes] + ["cycles", "latency_us"]
                      + list(spec.ENGINE_COUNTERS) + ["truth_class", "error"])
    assert doc["model_hash"] == content_hash(program)
    assert doc["classes"] == program.classes
    assert doc["device"]["board_name"] == "GOLDEN"
    assert doc["device"]["board"] == spec.Board.GOLDEN
    event = doc["events"][0]
    for key in ("onset_s", "duration_s", "class", "class_index", "probabilities",
                "cycles", "latency_us", "counters", "truth_class", "error"):
        assert key in event
    assert set(event["counters"]) == set(spec.ENGINE_COUNTERS)
    energy = json.loads((out / "energy.json").read_text())["energy"]
    assert energy["measured"]["kind"] == "simulated"
    assert energy["succeeded"] == len(rows)


def test_summary_scores_against_the_truth(golden_run, reference):
    from sklearn.metrics import matthews_corrcoef
    _, _, rows, doc = golden_run
    program, segments, res, truth, pairs = reference
    pred = res.predictions()
    y_true = [truth[j].cls for _, j in pairs]
    y_pred = [program.classes[pred[i]] for i, _ in pairs]
    summ = doc["summary"]
    assert summ["truth_events"] == len(truth) and summ["matched"] == len(pairs)
    assert summ["false_alarms"] == len(segments.detections) - len(pairs)
    assert summ["accuracy"] == pytest.approx(np.mean(np.array(y_true) == np.array(y_pred)))
    assert summ["mcc"] == pytest.approx(matthews_corrcoef(y_true, y_pred))
    matched = dict(pairs)
    for i, row in enumerate(rows):
        want = truth[matched[i]].cls if i in matched else ""
        assert row["truth_class"] == want
    assert sum(summ["class_counts"].values()) == len(rows)
    assert sum(map(sum, summ["confusion"]["matrix"])) == len(pairs)


def test_a_failed_inference_keeps_its_row(tmp_path, monkeypatch):
    """A device that fails on every other event: every event still has a row."""
    import sw.infer.device as device_mod

    real = device_mod.open_for_inference

    def flaky_open(spec_str, program, model_path, **kwargs):
        driver, plan, hello = real("golden", program, model_path, **kwargs)
        calls = {"n": 0}
        infer = driver.infer

        def flaky(plan, x):
            calls["n"] += 1
            if calls["n"] % 2 == 0:
                raise TimeoutError("no answer after 3 tries (test)")
            return infer(plan, x)
        driver.infer = flaky
        return driver, plan, hello

    monkeypatch.setattr(device_mod, "open_for_inference", flaky_open)
    out = tmp_path / "out"
    status = main(["infer", str(RECORDING), "--device", "golden", "--out", str(out),
                   "--no-progress"])
    rows = list(csv.DictReader(open(out / "results.csv", newline="")))
    assert status == 1
    assert [int(r["index"]) for r in rows] == list(range(len(rows)))
    failed = [r for r in rows if r["error"]]
    assert len(failed) == len(rows) // 2
    for r in failed:
        assert r["error"] == "TimeoutError: no answer after 3 tries (test)"
        assert r["class"] == "" and r["cycles"] == ""
    doc = json.loads((out / "results.json").read_text())
    assert doc["summary"]["failed"] == len(failed)
    assert doc["summary"]["classified"] + len(failed) == len(rows)


# ----------------------------------------------------------------------------- errors


def _fails(argv, capsys, out, *needles):
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    for needle in needles:
        assert needle in err
    assert not out.exists() or not any(out.iterdir())
    return err


def test_bad_recording(tmp_path, capsys):
    from scipy.io import wavfile
    mono = tmp_path / "mono.wav"
    wavfile.write(mono, 4400, np.zeros(4400, np.int16))
    out = tmp_path / "out"
    _fails(["infer", str(mono), "--device", "golden", "--out", str(out)], capsys, out,
           str(mono), "channels", "expected 2")
    trunc = tmp_path / "trunc.wav"
    trunc.write_bytes(RECORDING.read_bytes()[:30])
    _fails(["infer", str(trunc), "--device", "golden", "--out", str(out)], capsys, out,
           str(trunc))


def test_bad_model(tmp_path, capsys):
    out = tmp_path / "out"
    garbage = tmp_path / "garbage.attq"
    garbage.write_bytes(b"not a program at all")
    _fails(["infer", str(RECORDING), "--model", str(garbage), "--device", "golden",
            "--out", str(out)], capsys, out, str(garbage),
           "not a program file (.attq): this is a text file")
    corrupt = tmp_path / "corrupt.attq"
    data = bytearray(DEFAULT_MODEL.read_bytes())
    data[-10] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    _fails(["infer", str(RECORDING), "--model", str(corrupt), "--device", "golden",
            "--out", str(out)], capsys, out, str(corrupt), "corrupted")
    # A valid program that is not a HITS model: its input shape is named.
    mnist = ROOT / "models" / "mnist_attq.attq"
    _fails(["infer", str(RECORDING), "--model", str(mnist), "--device", "golden",
            "--out", str(out)], capsys, out, str(mnist), "input shape", "HITS")
    _fails(["infer", str(RECORDING), "--model", str(tmp_path / "none.attq"),
            "--device", "golden", "--out", str(out)], capsys, out, "no such program file")


def test_bad_truth_csv(tmp_path, capsys):
    out = tmp_path / "out"
    bad = tmp_path / "bad.truth.csv"
    bad.write_text("onset_s,duration_s,class\n1.0,0.05,gaseous\n2.0,0.05,bubble\n")
    _fails(["infer", str(RECORDING), "--truth", str(bad), "--device", "golden",
            "--out", str(out)], capsys, out, str(bad), "line 3", "class", "bubble")
    late = tmp_path / "late.truth.csv"
    late.write_text("onset_s,duration_s,class\n500.0,0.05,solid\n")
    _fails(["infer", str(RECORDING), "--truth", str(late), "--device", "golden",
            "--out", str(out)], capsys, out, str(late), "after the end of the recording")
    # A truth CSV found next to the recording is checked too.
    rec = tmp_path / "rec.wav"
    shutil.copy(RECORDING, rec)
    (tmp_path / "rec.truth.csv").write_text("onset_s,class\n1.0,solid\n")
    _fails(["infer", str(rec), "--device", "golden", "--out", str(out)], capsys, out,
           "rec.truth.csv", "duration_s")


def test_bad_arguments(tmp_path, capsys):
    out = tmp_path / "out"
    _fails(["infer", "--device", "golden", "--out", str(out)], capsys, out, "RECORDING")
    _fails(["infer", "--dataset", "esr", str(tmp_path / "x.csv"), "--out", str(out)],
           capsys, out, "--model is required")
    _fails(["infer", "--dataset", "mnist", "x.csv", "--model", str(DEFAULT_MODEL),
            "--out", str(out)], capsys, out, "expected 'esr'")


def test_unknown_device_fails_before_writing(tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["infer", str(RECORDING), "--device", "nonsense://x", "--out", str(out)])
    err = capsys.readouterr().err
    assert status in (1, 2) and "nonsense://x" in err
    assert not out.exists()


# ----------------------------------------------------------------------------- ESR


def _tiny_esr_program():
    """float [1, 178] -> quantize -> dense 178 -> 2 -> dequantize (weights by hand); input
    transform: each row min-max scaled (the ESR CNN-transformer's)."""
    from sw.data.esr import ROW_SCALING
    from sw.program.epilogue import DualScaleParams
    from sw.program.ir import EngineLayer, HostOp, Program
    # The 178 samples as 178 channels of a 1 x 1 map (the engine's kernels are at most
    # 16 wide).
    w = np.zeros((2, 178, 1, 1), np.int8)
    w[0, :89] = 1          # class 0 scores the first half second
    w[1, 89:] = 1          # class 1 the second half
    ep = DualScaleParams([64, 64], 0, [0, 0], 8, channels=2)
    fc = EngineLayer.from_weights("fc", w, in_shape=(178, 1, 1), epilogue=ep, mode="dense")
    return Program(input_shape=(1, 178), classes=["seizure", "non-seizure"], ops=[
        HostOp("quantize", dict(scale=1 / 127, map_shape=[178, 1, 1], pad=[0, 0])), fc,
        HostOp("dequantize", dict(scale=0.1))],
        meta={"input_transform": ROW_SCALING.to_dict()})


def test_esr_rows_equal_the_golden_executor(tmp_path):
    from scipy.special import softmax

    from sw.data.esr import read_esr_csv
    from sw.data.esr_synthetic import write_synthetic_esr
    from sw.golden.executor import execute
    from sw.program.file import save

    csv_path = write_synthetic_esr(tmp_path / "esr.csv", n_rows=15, seed=3)
    program = _tiny_esr_program()
    model = tmp_path / "tiny.attq"
    save(program, model)
    out = tmp_path / "out"
    status = main(["infer", "--dataset", "esr", str(csv_path), "--model", str(model),
                   "--device", "golden", "--out", str(out), "--no-progress"])
    assert status == 0
    rows = list(csv.DictReader(open(out / "results.csv", newline="")))
    ids, signals, y5 = read_esr_csv(csv_path)
    # Each row to [0, 1] by its own extremes, written out here.
    lo = signals.min(axis=1, keepdims=True)
    hi = signals.max(axis=1, keepdims=True)
    res = execute(program, ((signals - lo) / (hi - lo))[:, None, :])
    assert [r["id"] for r in rows] == ids
    assert [int(r["class_index"]) for r in rows] == res.predictions().tolist()
    np.testing.assert_allclose([[float(r["p_seizure"]), float(r["p_non-seizure"])]
                                for r in rows], softmax(res.output, axis=1), atol=1e-6)
    assert [r["truth_class"] for r in rows] == ["seizure" if y == 1 else "non-seizure"
                                                for y in y5]
    doc = json.loads((out / "results.json").read_text())
    agree = np.mean([r["truth_class"] == r["class"] for r in rows])
    assert doc["summary"]["accuracy"] == pytest.approx(agree)


def test_esr_bad_csv(tmp_path, capsys):
    from sw.program.file import save
    model = tmp_path / "tiny.attq"
    save(_tiny_esr_program(), model)
    bad = tmp_path / "bad.csv"
    bad.write_text("," + ",".join(f"X{i}" for i in range(1, 179)) + ",y\n"
                   + "a," + ",".join(["0.5"] * 178) + ",9\n")
    out = tmp_path / "out"
    _fails(["infer", "--dataset", "esr", str(bad), "--model", str(model), "--device",
            "golden", "--out", str(out)], capsys, out, str(bad), "row 1", "(y)")
    # The bundled HITS model cannot classify ESR rows.
    good = tmp_path / "good.csv"
    good.write_text(bad.read_text().replace(",9\n", ",1\n"))
    _fails(["infer", "--dataset", "esr", str(good), "--model", str(DEFAULT_MODEL),
            "--device", "golden", "--out", str(out)], capsys, out, "input shape", "ESR")




# ----------------------------------------------------------------------------- transform


def _program_with(tmp_path, name, transform):
    """The default program with another recorded input transform (None: without one)."""
    from sw.program.file import load, save
    program = load(DEFAULT_MODEL)
    if transform is None:
        del program.meta["input_transform"]
    else:
        program.meta["input_transform"] = transform
    path = tmp_path / name
    save(program, path)
    return program, path


def test_infer_computes_the_programs_recorded_transform(tmp_path, reference):
    """The same program recording the TFR without clipping: infer's inputs are that
    transform of each segment (same shape, other values), not the default model's."""
    from scipy.special import softmax

    from sw.data.transform import apply_transform
    from sw.golden.executor import execute
    unclipped = {"steps": [{"kind": "tfr", "n_fft": 32, "hop": 32, "iq": True,
                            "clip": False}]}
    program, path = _program_with(tmp_path, "unclipped.attq", unclipped)
    _, segments, res, _, _ = reference
    x = apply_transform(unclipped, segments.channels())
    assert not np.array_equal(x, apply_transform(reference[0].input_transform,
                                                 segments.channels()))
    want = execute(program, x)
    out = tmp_path / "out"
    assert main(["infer", str(RECORDING), "--model", str(path), "--device", "golden",
                 "--out", str(out), "--no-progress"]) == 0
    rows = list(csv.DictReader(open(out / "results.csv", newline="")))
    assert [int(r["class_index"]) for r in rows] == want.predictions().tolist()
    np.testing.assert_allclose([[float(r[f"p_{c}"]) for c in program.classes] for r in rows],
                               softmax(want.output, axis=1), atol=1e-6)
    assert not np.array_equal(want.output, res.output)


def test_a_recorded_hop_that_does_not_make_the_input_shape_is_refused(tmp_path, capsys):
    hop16 = {"steps": [{"kind": "tfr", "n_fft": 32, "hop": 16, "iq": True, "clip": True}]}
    _, path = _program_with(tmp_path, "hop16.attq", hop16)
    out = tmp_path / "out"
    err = _fails(["infer", str(RECORDING), "--model", str(path), "--device", "golden",
                  "--out", str(out)], capsys, out)
    assert (f"{path}: input shape [1, 32, 64]: the program's input transform (TFR n_fft 32, "
            f"hop 16, I/Q, clipped) makes [1, 32, 127] of the front end's segment "
            f"[2, 2048]; is this a HITS model?") in err


def test_a_program_without_a_transform_is_refused(tmp_path, capsys):
    _, path = _program_with(tmp_path, "none.attq", None)
    out = tmp_path / "out"
    err = _fails(["infer", str(RECORDING), "--model", str(path), "--device", "golden",
                  "--out", str(out)], capsys, out)
    assert (f"{path}: the program records no input transform (field "
            f"'meta.input_transform')") in err
    assert f"recompile the model with `attq-fpga compile MODEL.pt -o {path}`" in err


def test_an_older_program_file_is_refused(tmp_path, capsys):
    """``attq-fpga infer --model OLD.attq``: version 1, before programs recorded their
    input transform; exit status 2, the file, both versions and the command named."""
    import struct
    old = tmp_path / "old.attq"
    data = bytearray(DEFAULT_MODEL.read_bytes())
    struct.pack_into("<I", data, 8, 1)
    old.write_bytes(bytes(data))
    out = tmp_path / "out"
    _fails(["infer", str(RECORDING), "--model", str(old), "--device", "golden",
            "--out", str(out)], capsys, out,
           f"{old}: wrong format version 1: this software reads program files of "
           f"version {spec.PROGRAM_FILE_VERSION}",
           f"recompile the model with `attq-fpga compile MODEL.pt -o {old}`")


def test_link_faults_lose_no_event(reference):
    """1 % of the bytes dropped and 1 % corrupted each way: every event gets a row, and
    every row without an error equals the golden executor's."""
    device = pytest.importorskip("sw.device")
    from sw.data.transform import apply_transform
    from sw.infer.classify import classify_all
    program, segments, res, _, _ = reference
    driver = device.open_device("golden", timeout=0.02)
    hello = driver.hello()
    plan = driver.check_compatible(hello, program)
    driver.load(plan)
    driver.port = device.FaultProxy(driver.port, 0.01, 0.01, seed=5)
    n = 3
    x = apply_transform(program.input_transform, segments.channels()[:n])
    results = classify_all(driver, plan, program, x, progress=False)
    assert len(results) == n
    assert driver.port.stats["to_device"]["corrupted"] > 0
    assert driver.stats["retries"] > 0
    for i, r in enumerate(results):
        if r.error:
            assert r.error.startswith("DeviceError: device request")
            assert r.class_index is None
        else:
            assert r.class_index == res.predictions()[i]
            np.testing.assert_array_equal(r.output, res.output[i])


def test_incompatible_device_is_refused_before_writing(tmp_path, capsys, monkeypatch):
    """A device without LeakyReLU and with an older integer contract: both named."""
    import sw.device as device
    from sw.golden.device import GOLDEN_CAPS

    real = device.open_device

    def old_device(spec_str, **kwargs):
        drv = real("golden", caps=GOLDEN_CAPS & ~spec.Capability.LEAKY_RELU)
        hello = drv.hello

        def older_hello():
            return {**hello(), "format_version": spec.FORMAT_VERSION + 1}
        drv.hello = older_hello
        return drv

    monkeypatch.setattr(device, "open_device", old_device)
    out = tmp_path / "out"
    _fails(["infer", str(RECORDING), "--device", "golden", "--out", str(out)], capsys, out,
           "does not fit the program", "no LEAKY_RELU capability (layer 'conv1' needs it)",
           f"format) version {spec.FORMAT_VERSION + 1}")


def test_a_recording_without_hits(tmp_path, capsys):
    """Blood-flow-free noise: no event, every file written, empty tables."""
    from sw.doppler.recording import write_wav
    rng = np.random.default_rng(0)
    n = 4400 * 10
    quiet = tmp_path / "quiet.wav"
    write_wav(quiet, 0.01 * (rng.normal(size=n) + 1j * rng.normal(size=n)), 4400)
    out = tmp_path / "out"
    assert main(["infer", str(quiet), "--device", "golden", "--out", str(out),
                 "--no-progress"]) == 0
    said = capsys.readouterr().out
    assert "no HITS detected in the recording (10.0 s): nothing to classify" in said
    assert "succeeded" not in said and "0 of 0" not in said
    assert (out / "results.csv").read_text().count("\n") == 1       # the header alone
    doc = json.loads((out / "results.json").read_text())
    assert doc["events"] == [] and doc["summary"]["items"] == 0
    energy = json.loads((out / "energy.json").read_text())["energy"]
    assert energy["succeeded"] == 0 and energy["measured"]["per_inference_mean_j"] is None
    assert (out / "energy.png").stat().st_size > 0


# ------------------------------------------------- checked first, nothing lost, one set


def _no_front_end(monkeypatch):
    """Make the front end fail loudly: a check meant to come first must not reach it."""
    import sw.infer.inputs as inputs

    def front_end_ran(*args, **kwargs):
        raise AssertionError("the front end ran before the check")
    monkeypatch.setattr(inputs, "recording_inputs", front_end_ran)


def test_out_and_device_are_checked_before_the_front_end(tmp_path, capsys, monkeypatch):
    import errno
    import tempfile

    _no_front_end(monkeypatch)
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    _fails(["infer", str(RECORDING), "--device", "golden", "--out", str(a_file)], capsys,
           tmp_path / "none", str(a_file), "not a directory")
    out = tmp_path / "out"
    for device in ("nonsense://x", "serial://", "socket://localhost"):
        _fails(["infer", str(RECORDING), "--device", device, "--out", str(out)], capsys, out,
               f"--device {device}", "expected")

    # A read-only file system, as the probe file meets it.
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")
    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    err = _fails(["infer", str(RECORDING), "--device", "golden", "--out", str(out)], capsys,
                 out, f"--out {out}", "cannot write", "Read-only file system")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_an_os_error_late_is_one_line_and_an_exit_status(tmp_path, capsys, monkeypatch):
    """A disk that fills while the results are written: one line, status 1, no traceback
    and no half-written file."""
    import errno

    import sw.atomic as atomic

    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    monkeypatch.setattr(atomic, "write_text", full)
    out = tmp_path / "out"
    assert main(["infer", str(RECORDING), "--device", "golden", "--out", str(out),
                 "--no-progress", "--table-rows", "0"]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and str(out) in err
    assert "Traceback" not in err and err.strip().count("\n") == 0
    assert not any(p.name in ("results.csv", "results.json") for p in out.iterdir())


def test_an_interrupted_run_keeps_its_events_and_resumes(golden_run, tmp_path, capsys,
                                                         monkeypatch):
    """Ctrl-C after the fourth event: the four are in the journal and no result file is
    written; --resume classifies only the rest and ends with the uninterrupted run's
    files."""
    import sw.infer.journal as journal_mod

    _, done_out, rows, _ = golden_run
    out = tmp_path / "out"
    argv = ["infer", str(RECORDING), "--device", "golden", "--out", str(out),
            "--no-progress", "--table-rows", "0"]
    real_append = journal_mod.Journal.append
    seen = []

    def append_then_interrupt(self, index, inference):
        real_append(self, index, inference)
        seen.append(index)
        if len(seen) == 4:
            raise KeyboardInterrupt
    monkeypatch.setattr(journal_mod.Journal, "append", append_then_interrupt)
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert f"4 of {len(rows)} events kept" in err and "--resume" in err
    assert sorted(p.name for p in out.iterdir()) == [journal_mod.JOURNAL_NAME]

    # Without --resume, the kept events are not thrown away silently.
    monkeypatch.setattr(journal_mod.Journal, "append", real_append)
    assert main(argv) == 2
    assert "--resume" in capsys.readouterr().err

    ran = []

    def counting_append(self, index, inference):
        ran.append(index)
        real_append(self, index, inference)
    monkeypatch.setattr(journal_mod.Journal, "append", counting_append)
    assert main(argv + ["--resume"]) == 0
    assert ran == list(range(4, len(rows)))
    assert not (out / journal_mod.JOURNAL_NAME).exists()
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in done_out.iterdir())
    assert csv_without_timing(out / "results.csv") == \
        csv_without_timing(done_out / "results.csv")
    for name in ("results.json", "energy.json"):
        assert comparable_json(out / name) == comparable_json(done_out / name), name


def test_resume_takes_up_only_the_same_run(tmp_path, capsys):
    """A journal of another program, a cut last line, no journal at all."""
    import sw.infer.journal as journal_mod
    from sw.infer.classify import Inference

    out = tmp_path / "out"
    argv = ["infer", str(RECORDING), "--device", "golden", "--out", str(out),
            "--no-progress", "--table-rows", "0", "--resume"]
    _fails(argv, capsys, out, "--resume", "no unfinished run")

    x = np.zeros((22, 1))
    journal = journal_mod.Journal.start(out, journal_mod.run_identity(
        model_hash="0" * 64, source=str(RECORDING), x=x, device="golden", items=22))
    journal.close()
    assert main(argv) == 2
    assert "another run" in (err := capsys.readouterr().err) and "model_hash" in err

    # The same run's journal, its last line cut by a crash: that event is run again.
    from sw.infer.inputs import recording_inputs
    from sw.program.file import load
    program = load(DEFAULT_MODEL)
    inputs = recording_inputs(RECORDING, program, DEFAULT_MODEL)
    ident = journal_mod.run_identity(model_hash=content_hash(program), source=inputs.source,
                                     x=inputs.x, device="golden", items=len(inputs.x))
    journal = journal_mod.Journal.start(out, ident)
    journal.append(0, Inference(error="TimeoutError: kept from before"))
    journal.close()
    with open(journal.path, "a") as f:
        f.write('{"index": 1, "class_ind')
    assert main(argv) == 1          # the kept failure stays a failure
    rows = list(csv.DictReader(open(out / "results.csv", newline="")))
    assert rows[0]["error"] == "TimeoutError: kept from before"
    assert all(r["error"] == "" for r in rows[1:]) and rows[1]["class"]


def test_a_run_replaces_the_previous_runs_files_as_a_set(tmp_path):
    """A run with a truth writes confusion.png; the next one in the same folder, without
    a truth, must not leave it there."""
    out = tmp_path / "out"
    assert main(["infer", str(RECORDING), "--device", "golden", "--out", str(out),
                 "--no-progress", "--table-rows", "0"]) == 0
    assert (out / "confusion.png").exists()
    (out / "notes.txt").write_text("the user's own file")
    rec = tmp_path / "rec.wav"
    shutil.copy(RECORDING, rec)
    assert main(["infer", str(rec), "--device", "golden", "--out", str(out),
                 "--no-progress", "--table-rows", "0"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "energy.json", "energy.png", "notes.txt", "report.html", "results.csv",
        "results.json"]
    assert "truth_class" not in (out / "results.csv").read_text()
