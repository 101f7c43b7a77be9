"""Parameter counts of Table 1, the paper's quantized-weight shares, and the HITS budget."""

import pytest
import torch

from sw.mapping.boards import board_config
from sw.models import HITS_DEFAULT, build_preset, engine_budget


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def share_quantized(m):
    mods = dict(m.named_modules())
    return sum(mods[n].weight.numel() for n in m.default_quantized) / n_params(m)


@pytest.mark.parametrize("preset,count,share,shape", [
    # Table 1: No. params and % weights to quantize
    ("mnist_cnn", 9_840, 0.5335, (1, 20, 20)),
    ("esr_cnn_transformer", 109_942, 0.2422, (1, 178)),
    ("esr_tfr_cnn", 1_555_842, 0.9951, (1, 32, 37)),
])
def test_table1_counts(preset, count, share, shape):
    torch.manual_seed(0)
    m = build_preset(preset)
    assert n_params(m) == count
    assert share_quantized(m) == pytest.approx(share, abs=5e-5)
    out = m.eval()(torch.randn(2, *shape))
    assert out.shape == (2, m.config["n_classes"])


def test_mnist_count_by_layer():
    # conv 1->10 k5: 260, conv 10->20 k5: 5020, fc 80->50: 4050, fc 50->10: 510
    m = build_preset("mnist_cnn")
    assert [n_params(getattr(m, n)) for n in ("conv1", "conv2", "fc1", "fc2")] == \
        [260, 5020, 4050, 510]


def test_hits_presets_run():
    torch.manual_seed(0)
    m = build_preset(HITS_DEFAULT)
    assert m(torch.randn(2, 1, 32, 64)).shape == (2, 3)
    t = build_preset("hits_cnn_transformer", n_layers=1)
    assert t(torch.randn(1, 2, 2048)).shape == (1, 3)


def test_hits_default_fits_the_35t_block_ram():
    m = build_preset(HITS_DEFAULT)
    b = engine_budget(m, (1, 32, 64), m.default_quantized, worst_case=True)
    assert board_config("arty_a7_35t").bram_bytes == 1_800 * 1024 // 8 == 230_400
    # By hand, n = 8 filters, input 1 × 32 × 64, every ternary weight nonzero:
    # conv1 int8 72; conv2 16·8·9 = 1152 offsets·2 B + 16 ch·4 B = 2368;
    # conv3 4608·2 + 32·4 = 9344; conv4 18432·2 + 64·4 = 37120; fc int8 512·3 = 1536
    assert b["weight_bytes"] == 72 + 2368 + 9344 + 37120 + 1536
    # epilogue record 16+16+48+5+2+16 = 103 bits -> 13 B for each of 8+16+32+64+3 channels
    assert b["epilogue_bytes"] == 13 * 123
    # largest tile pair: conv1 padded input 34·66 + output 8·32·64
    assert b["activation_bytes"] == 34 * 66 + 8 * 32 * 64
    assert b["total_bytes"] <= 230_400 and b["fits"]
    wide = build_preset(HITS_DEFAULT, n_filters=16)
    assert not engine_budget(wide, (1, 32, 64), wide.default_quantized)["fits"]


def test_narrow_esr_cnn_fits_the_35t_block_ram():
    m = build_preset("esr_tfr_cnn_narrow")
    assert m(torch.randn(2, 1, 32, 37)).shape == (2, 2)
    b = engine_budget(m, (1, 32, 37), m.default_quantized, worst_case=True)
    # By hand, n = 8 filters on the 1 × 32 × 37 TFR, every ternary weight nonzero:
    # conv1 int8 72; conv2 1152 offsets·2 B + 16·4 = 2368; conv3 4608·2 + 32·4 = 9344;
    # conv4 18432·2 + 64·4 = 37120; fc int8 (64·2·2)·2 = 512 (37 -> 18 -> 9 -> 4 -> 2).
    assert b["weight_bytes"] == 72 + 2368 + 9344 + 37120 + 512
    assert b["epilogue_bytes"] == 13 * (8 + 16 + 32 + 64 + 2)
    assert b["activation_bytes"] == 34 * 39 + 8 * 32 * 37
    assert b["fits"] and b["total_bytes"] < 0.3 * board_config("arty_a7_35t").bram_bytes
    paper = build_preset("esr_tfr_cnn")
    assert not engine_budget(paper, (1, 32, 37), paper.default_quantized)["fits"]
