"""Each metric on a small network, against counts made by hand."""

import copy
import math

import pytest
import torch
from torch import nn

from sw import metrics
from sw.quant import QuantConfig, quantize_model


class Tiny(nn.Module):
    """conv 1->2 k2 on 3x3 (4 positions), BN(2), flatten 8 -> linear 3."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 2)
        self.bn = nn.BatchNorm2d(2)
        self.fc = nn.Linear(8, 3)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([[[[3.0, 0.1], [-0.1, -3.0]]],
                                                 [[[0.2, 0.0], [3.0, -0.2]]]]))
            self.conv.bias.copy_(torch.tensor([0.5, 0.0]))
            self.bn.bias.copy_(torch.tensor([0.1, 0.0]))
            w = torch.zeros(3, 8)
            w.view(-1)[:10] = torch.arange(1.0, 11.0)   # 10 nonzero weights
            self.fc.weight.copy_(w)
            self.fc.bias.copy_(torch.tensor([1.0, 2.0, 3.0]))

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).flatten(1))


@pytest.fixture
def nets():
    fp = Tiny()
    q = quantize_model(copy.deepcopy(fp), QuantConfig(method="attq", t_min=-0.5, t_max=0.5,
                                                      layers=["conv"]))
    qz = q.conv.parametrizations.weight[0]
    with torch.no_grad():
        qz.w_r.fill_(0.5)
        qz.w_l.fill_(-0.25)
    return fp, q


X = torch.zeros(1, 1, 3, 3)


def test_quantized_conv_is_what_we_counted(nets):
    # mean 0.375, sd 1.926: Δ = [-0.588, 1.338] -> only the two 3s and the -3 survive.
    _, q = nets
    assert q.conv.weight.detach().flatten().tolist() == [0.5, 0, 0, -0.25, 0, 0, 0.5, 0]


def test_srqw_and_compression(nets):
    fp, q = nets
    assert metrics.nqw(fp, ["conv"]) == 8
    assert metrics.nzqw(q, ["conv"]) == 5
    assert metrics.srqw(fp, q, ["conv"]) == 5 / 8
    # FP bits: conv 8·32 + 2·32, bn 4·32, fc 24·32 + 3·32 = 1312
    assert metrics.nbits(fp) == 1312
    # ternary conv: 3 nonzero · 34 + 64 = 166 in place of 256
    assert metrics.nbits(q) == 1312 - 256 + 166
    assert metrics.cr_gain(fp, q) == pytest.approx(1 - 1222 / 1312)
    assert metrics.cr_gain_q(fp, q, ["conv"]) == pytest.approx(1 - 166 / 256)
    # hardware: 3 offsets · 16 + 2 channels · 2 lengths · 16 + 2 multipliers · 16 = 144
    assert metrics.cr_gain_q_hw(fp, q, ["conv"]) == pytest.approx(1 - 144 / 256)


def test_mult_adds_transfers_energy(nets):
    fp, q = nets
    # FP: conv 7 nnz · 4 positions + 1 nonzero bias · 4 = 32; BN 2·8 = 16; fc 10 + 3 = 13
    assert metrics.count_mult_adds(fp, X) == 61
    # ternary conv: 3 · 4 + 4 = 16
    assert metrics.count_mult_adds(q, X) == 45
    # FP transfers: one per nonzero: 7 + 1 + 2 (bn weight) + 1 (bn bias) + 10 + 3 = 24
    assert metrics.memory_transfers(fp) == 24
    # ternary conv: (3·2)//32 + 2 = 2 (ceil: 1 + 2 = 3)
    assert metrics.memory_transfers(q) == 2 + 1 + 3 + 13
    assert metrics.memory_transfers(q, rounding="ceil") == 3 + 1 + 3 + 13
    e_fp = 61 * 3.7e-12 + 24 * 1e-9
    e_q = 45 * 3.7e-12 + 19 * 1e-9
    assert metrics.energy(fp, X) == pytest.approx(e_fp)
    assert metrics.energy(q, X) == pytest.approx(e_q)
    assert metrics.ec_gain(fp, q, X) == pytest.approx((e_fp - e_q) / e_fp)


def test_dorefa_counts():
    fp = Tiny()
    d = quantize_model(copy.deepcopy(fp), QuantConfig(method="dorefa", layers=["conv"]))
    assert metrics.nbits(d, ["conv"]) == 8 + 32
    assert metrics.srqw(fp, d, ["conv"]) == 0
    assert metrics.memory_transfers(d) == 1 + 1 + 3 + 13   # 8 // 32 + 1 for the conv
    assert metrics.count_mult_adds(d, X) == 8 * 4 + 4 + 16 + 13


def test_attention_layer_norm_and_token_linear():
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(4, 2, batch_first=True)   # biases start at zero
    with torch.no_grad():
        mha.in_proj_weight[0].zero_()                     # 4 zero weights in W_q

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha, self.ln, self.fc = mha, nn.LayerNorm(4), nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(self.ln(self.mha(x, x, x, need_weights=False)[0]))

    x = torch.randn(1, 3, 4)
    # projections: (12 + 16 + 16)·3 tokens, scores 3·3·4, weighted sum 3·3·4, out proj 16·3
    attn = 44 * 3 + 36 + 36 + 48
    # layer norm: 6 per element on 12 elements; linear: (8 + 2)·3
    assert metrics.count_mult_adds(M(), x) == attn + 72 + 30


def test_transformer_encoder_layer_is_the_sum_of_its_parts():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=4, batch_first=True)
    x = torch.randn(1, 5, 8)
    # W_q, W_k, W_v, W_o: 64 weights + 8 biases each (biases are zero at init)
    nz_in_b = int((layer.self_attn.in_proj_bias != 0).sum())
    attn = (3 * 64 + nz_in_b) * 5 + 2 * 5 * 5 * 8 + (64 + int((layer.self_attn.out_proj.bias != 0).sum())) * 5
    ff = (32 + 4) * 5 + (32 + 8) * 5
    norms = 2 * 6 * 40
    assert metrics.count_mult_adds(layer, x) == attn + ff + norms


def test_mcc_by_hand():
    # TP 1, TN 2, FP 0, FN 1 -> (1·2 - 0·1) / sqrt(1·2·2·3)
    assert metrics.mcc([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(2 / math.sqrt(12))
    assert metrics.mcc([0, 1, 2], [0, 1, 2]) == pytest.approx(1.0)


def test_batch_of_one_is_required(nets):
    with pytest.raises(ValueError, match="batch of 1"):
        metrics.count_mult_adds(nets[0], torch.zeros(2, 1, 3, 3))
