"""``attq-fpga train``: the README's own-data path end to end, resuming, the experiment's
model, and bad input (exit 2, named, nothing written, before any training)."""

import json
import time

import pytest
import torch

from sw.cli import build_parser, main

pytestmark = pytest.mark.usefixtures("one_thread")

#: A tiny simulated HITS data set: 36 segments from 4 patients.
MAKE = ["--counts", "12", "12", "12", "--subjects", "4", "--no-progress"]
#: Two epochs a phase, so a run can be stopped in the middle of each; three batches an epoch.
TINY = ["--epochs-fp", "2", "--epochs-quant", "2", "--batch-size", "8", "--no-progress"]


@pytest.fixture(scope="module")
def hits_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("hits") / "data"
    assert main(["data", "make", "hits", "--out", str(out), *MAKE]) == 0
    return out


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _record(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def _same_weights(a, b):
    ra, rb = _record(a), _record(b)
    for key in ("state_dict", "train_state_dict"):
        assert ra[key].keys() == rb[key].keys()
        for name in ra[key]:
            assert torch.equal(ra[key][name], rb[key][name]), (key, name)
    assert ra["quantized_layers"].keys() == rb["quantized_layers"].keys()
    return ra, rb


def test_own_data_path_data_train_compile_infer(tmp_path, capsys):
    """README "Your own data": data set -> train -> compile -> infer (golden device)."""
    start = time.perf_counter()
    data, model, program = tmp_path / "data", tmp_path / "model.pt", tmp_path / "model.attq"
    assert main(["data", "make", "hits", "--out", str(data), *MAKE]) == 0
    assert main(["data", "check", "hits", str(data)]) == 0
    assert main(["train", "hits", str(data), "--epochs-fp", "1", "--epochs-quant", "1",
                 "--out", str(model), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {model}" in printed and "MCC" in printed and "sparsity" in printed
    assert model.is_file() and (tmp_path / "model_fp.pt").is_file()
    assert not (tmp_path / "model.ckpt").exists()
    assert main(["compile", str(model), "-o", str(program), "--data", str(data)]) == 0
    rec = tmp_path / "rec.wav"
    assert main(["recordings", "simulate", "--minutes", "0.25", "--seed", "1", "--out",
                 str(rec), "--no-progress"]) == 0
    out = tmp_path / "infer"
    assert main(["infer", str(rec), "--model", str(program), "--fp-model",
                 str(tmp_path / "model_fp.pt"), "--device", "golden", "--out", str(out),
                 "--no-progress"]) == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["classes"] == ["artefact", "gaseous", "solid"]
    assert doc["summary"]["failed"] == 0 and len(doc["events"]) > 0
    saved = _record(model)
    assert saved["quant"]["method"] == "attq" and saved["preset"] == "hits_tfr_cnn"
    assert saved["training"]["device"] == "cpu"     # --device auto: no CUDA here
    elapsed = time.perf_counter() - start
    print(f"own-data path: {elapsed:.1f} s")


def test_resumed_runs_end_with_the_uninterrupted_weights(hits_data, tmp_path):
    from sw.train import command

    straight = tmp_path / "straight.pt"
    assert main(["train", "hits", str(hits_data), *TINY, "--out", str(straight)]) == 0

    out = tmp_path / "resumed.pt"
    argv = ["train", "hits", str(hits_data), *TINY, "--out", str(out)]
    seen = []

    def stop_at(phase, epoch):
        def hook(p, done):
            seen.append((p, done))
            if (p, done) == (phase, epoch):
                raise KeyboardInterrupt
        return hook

    # Stopped after the first full-precision epoch, then after the first quantized one.
    with pytest.raises(KeyboardInterrupt):
        command.run(build_parser().parse_args(argv), on_epoch=stop_at("fp", 1))
    assert (tmp_path / "resumed.ckpt" / "fp.ckpt").is_file() and not out.exists()
    with pytest.raises(KeyboardInterrupt):
        command.run(build_parser().parse_args(argv), on_epoch=stop_at("quant", 1))
    assert {"fp.pt", "quant.ckpt", "run.json"} <= set(_files(tmp_path / "resumed.ckpt"))
    assert seen == [("fp", 1), ("fp", 2), ("quant", 1)]     # resumed at fp epoch 2
    assert main(argv) == 0                                  # resumes automatically
    assert not (tmp_path / "resumed.ckpt").exists()
    ra, rb = _same_weights(straight, out)
    _same_weights(tmp_path / "straight_fp.pt", tmp_path / "resumed_fp.pt")
    assert ra["metrics"]["mcc"] == rb["metrics"]["mcc"]
    assert ra["metrics"]["srqw"] == rb["metrics"]["srqw"]


def test_train_writes_the_experiments_repetition_model(hits_data, tmp_path):
    """The same seed and settings: ``experiment table2``'s rep0 model, weight for weight."""
    from sw.train.pipeline import run_repetition

    run_repetition(dict(dataset="hits", data_path=str(hits_data), methods=("fp", "attq"),
                        epochs=1, out_dir=str(tmp_path / "exp")))
    assert main(["train", "hits", str(hits_data), "--epochs-fp", "1", "--epochs-quant", "1",
                 "--out", str(tmp_path / "m.pt"), "--no-progress"]) == 0
    for exp, mine in (("rep0_attq.pt", "m.pt"), ("rep0_fp.pt", "m_fp.pt")):
        ra, rb = _same_weights(tmp_path / "exp" / "models" / exp, tmp_path / mine)
        # The rest of the record too, so that the two writers cannot drift apart.
        skip = {"created_utc", "training", "metrics", "state_dict", "train_state_dict",
                "quantized_layers"}
        assert {k: v for k, v in ra.items() if k not in skip} == \
            {k: v for k, v in rb.items() if k not in skip}
        assert ra["training"]["settings"] == rb["training"]["settings"]
        assert {k: v for k, v in ra["metrics"].items() if k != "train_seconds"} == \
            {k: v for k, v in rb["metrics"].items() if k != "train_seconds"}


def _refused(tmp_path, capsys, argv, *words):
    """``argv`` exits 2 naming ``words`` and writes nothing in ``tmp_path``."""
    before = _files(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    for word in words:
        assert word in err, (word, err)
    assert _files(tmp_path) == before
    return err


def test_bad_input_is_refused_before_training(hits_data, tmp_path, capsys, monkeypatch):
    import sw.train.trainer as trainer

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(trainer, "fit", no_training)
    out = str(tmp_path / "m.pt")
    hits = ["train", "hits", str(hits_data)]
    # An unknown preset, with the known ones listed.
    _refused(tmp_path, capsys, [*hits, "--preset", "resnet", "--out", out],
             "--preset resnet", "unknown model preset", "hits_tfr_cnn", "mnist_cnn")
    # A data folder without the layout; a missing one; no PATH at all.
    (tmp_path / "empty").mkdir()
    _refused(tmp_path, capsys, ["train", "hits", str(tmp_path / "empty"), "--out", out],
             str(tmp_path / "empty" / "dataset.json"), "file not found")
    _refused(tmp_path, capsys, ["train", "hits", str(tmp_path / "none"), "--out", out],
             str(tmp_path / "none"), "expected a HITS data set folder")
    _refused(tmp_path, capsys, ["train", "hits", "--out", out], "expected a PATH")
    # A model configuration of another kind: another architecture's, or not one at all.
    _refused(tmp_path, capsys, [*hits, "--model-config",
                                '{"arch": "cnn_transformer", "config": {}}', "--out", out],
             "'cnn_transformer'", "expected 'tfr_cnn'")
    _refused(tmp_path, capsys, [*hits, "--model-config", str(hits_data / "dataset.json"),
                                "--out", out],
             str(hits_data / "dataset.json"), "not options of tfr_cnn", "n_filters")
    # A preset whose model does not take the data set's inputs.
    _refused(tmp_path, capsys, [*hits, "--preset", "mnist_cnn", "--out", out],
             "preset mnist_cnn does not take the inputs")
    _refused(tmp_path, capsys, [*hits, "--t-min", "1", "--t-max", "0", "--out", out],
             "t_min <= t_max")
    # Outputs: a directory; a path under a file.
    _refused(tmp_path, capsys, [*hits, "--out", str(tmp_path / "empty")],
             "--out", "is a directory")
    (tmp_path / "afile").write_text("x")
    _refused(tmp_path, capsys, [*hits, "--out", str(tmp_path / "afile" / "m.pt")],
             "is not a directory")
    # --resume without a checkpoint.
    _refused(tmp_path, capsys, [*hits, "--resume", "--out", out], "--resume",
             "no checkpoint", str(tmp_path / "m.ckpt"))


def test_a_checkpoint_of_another_preset_is_refused(hits_data, tmp_path, capsys):
    from sw.train import command

    out = str(tmp_path / "m.pt")
    argv = ["train", "hits", str(hits_data), *TINY, "--out", out]

    def stop(phase, done):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        command.run(build_parser().parse_args(argv), on_epoch=stop)
    run_json = tmp_path / "m.ckpt" / "run.json"
    for extra in (["--resume"], []):
        err = _refused(tmp_path, capsys, [*argv, "--preset", "hits_tfr_cnn_paper", *extra],
                       str(run_json), "a checkpoint of another run",
                       "preset 'hits_tfr_cnn', this run's 'hits_tfr_cnn_paper'", "--restart")
        assert "Traceback" not in err
    # --restart discards it and trains this run.
    assert main([*argv, "--epochs-fp", "1", "--epochs-quant", "1", "--restart"]) == 0
    assert _record(out)["training"]["settings"]["epochs"] == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_refused_and_auto_takes_the_cpu(hits_data, tmp_path, capsys):
    from sw.train.trainer import torch_device

    _refused(tmp_path, capsys, ["train", "hits", str(hits_data), "--device", "cuda", "--out",
                                str(tmp_path / "m.pt")],
             "--device cuda", "CUDA is not available")
    assert torch_device("auto") == torch.device("cpu")
