"""Trainer: Table 1 defaults, Noam, class weights, determinism, quantized fine-tuning."""

import copy
import math

import numpy as np
import pytest
import torch

from sw.models import build_preset
from sw.quant import QuantConfig, quantize_model, quantized_layers
from sw.train.noam import noam_factor
from sw.train.settings import table1
from sw.train.trainer import class_weights, fit, predict


pytestmark = pytest.mark.usefixtures("one_thread")


def test_table1_defaults():
    assert (table1("mnist_cnn", "fp").lr, table1("mnist_cnn", "fp").epochs) == (1e-3, 70)
    assert (table1("mnist_cnn", "ttq").lr, table1("mnist_cnn", "ttq").epochs) == (1e-4, 200)
    assert (table1("mnist_cnn", "attq").lr, table1("mnist_cnn", "attq").epochs) == (1e-3, 200)
    assert table1("mnist_cnn", "attq").weight_decay == 0
    t = table1("esr_cnn_transformer", "fp")
    assert (t.optimizer, t.batch_size, t.warmup, t.lr) == ("noam", 64, 4000, 0.3)
    assert table1("esr_tfr_cnn", "fp").weight_decay == 1e-5
    assert table1("hits_cnn_transformer", "attq").warmup == 700
    assert table1("mnist_cnn", "attq").scaled(0.01).epochs == 2
    with pytest.raises(ValueError, match="no Table 1"):
        table1("nope", "fp")


def test_noam_by_hand():
    # d = 64, warmup 4000: rising as step·4000^-1.5/8, peak 1/(8·sqrt(4000)), then step^-0.5/8
    assert noam_factor(1, 64, 4000) == pytest.approx(1 / (8 * 4000 ** 1.5))
    assert noam_factor(4000, 64, 4000) == pytest.approx(1 / (8 * math.sqrt(4000)))
    assert noam_factor(16000, 64, 4000) == pytest.approx(1 / (8 * 126.49110640673517))


def test_class_weights_by_hand():
    # 6 samples, 3 classes, counts 3, 2, 1 -> 6/(3·3), 6/(3·2), 6/(3·1)
    w = class_weights(np.array([0, 0, 0, 1, 1, 2]), 3)
    assert w.tolist() == pytest.approx([2 / 3, 1.0, 2.0])


def _toy(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.normal(0, 0.1, (n, 1, 20, 20)).astype(np.float32)
    for i, c in enumerate(y):           # a bright square per class: learnable
        x[i, 0, 2 * (c // 5) + 4:2 * (c // 5) + 9, c % 5 * 3:c % 5 * 3 + 5] += 1.0
    return x, y.astype(np.int64)


def test_fit_is_deterministic_and_learns():
    x, y = _toy()
    cfg = table1("mnist_cnn", "fp")
    cfg.epochs = 15
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        m = build_preset("mnist_cnn")
        hist = fit(m, x, y, cfg, n_classes=10, seed=5, progress=False)
        runs.append((m, hist))
    for a, b in zip(runs[0][0].parameters(), runs[1][0].parameters()):
        assert torch.equal(a, b)
    assert runs[0][1]["loss"] == runs[1][1]["loss"]
    assert runs[0][1]["loss"][-1] < runs[0][1]["loss"][0]


def test_quantized_fine_tuning_stays_ternary_and_moves_scales():
    x, y = _toy()
    torch.manual_seed(0)
    fp = build_preset("mnist_cnn")
    q = quantize_model(copy.deepcopy(fp), QuantConfig(method="attq", layers=["conv1", "conv2"]))
    before = {n: (qz.w_r.item(), qz.w_l.item()) for n, (_, qz) in quantized_layers(q).items()}
    cfg = table1("mnist_cnn", "attq")
    cfg.epochs = 2
    fit(q, x, y, cfg, n_classes=10, seed=0, progress=False)
    for name, (module, qz) in quantized_layers(q).items():
        vals = set(module.weight.detach().unique().tolist())
        assert vals <= {0.0, qz.w_r.item(), qz.w_l.item()}
        assert (qz.w_r.item(), qz.w_l.item()) != before[name]
    assert predict(q, x).shape == (len(x),)


def test_interrupted_training_resumes_to_the_same_weights(tmp_path, monkeypatch):
    import sw.train.trainer as trainer

    x, y = _toy(64)
    cfg = table1("mnist_cnn", "fp")           # plateau scheduler and dropout: RNG state
    cfg.epochs = 4

    def train(**kw):
        torch.manual_seed(3)
        m = build_preset("mnist_cnn")
        h = fit(m, x, y, cfg, n_classes=10, seed=5, progress=False, **kw)
        return m, h

    straight, h0 = train()
    ckpt = tmp_path / "run.ckpt"
    real_save = trainer._save_checkpoint

    def save_then_crash(path, state):
        real_save(path, state)
        if state["epoch"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "_save_checkpoint", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        train(checkpoint=ckpt, checkpoint_every=1)
    assert ckpt.exists()
    monkeypatch.setattr(trainer, "_save_checkpoint", real_save)
    resumed, h1 = train(checkpoint=ckpt, checkpoint_every=1)
    assert h1["loss"] == h0["loss"]
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(a, b)
    assert not ckpt.exists()
