"""The saved-model format: round trip, documented fields, bad files."""

import copy

import pytest
import torch

from sw.errors import InputError
from sw.models import build_preset, load_model, read_record, save_model
from sw.quant import QuantConfig, quantize_model


def test_round_trip_and_fields(tmp_path):
    torch.manual_seed(0)
    fp = build_preset("hits_tfr_cnn")
    cfg = QuantConfig(method="attq", layers=list(fp.default_quantized), t_min=-1, t_max=0.5)
    q = quantize_model(copy.deepcopy(fp), cfg).eval()
    x = torch.randn(2, 1, 32, 64)
    path = tmp_path / "m.pt"
    save_model(path, q, arch="tfr_cnn", preset="hits_tfr_cnn", quant=cfg,
               metrics={"mcc": 0.5}, data={"dataset": "hits"}, training={"seed": 1})
    rec = read_record(path)
    assert rec["format"] == "attq-fpga-model" and rec["format_version"] == 1
    assert rec["arch"] == "tfr_cnn" and rec["config"]["n_filters"] == 8
    assert list(rec["quantized_layers"]) == ["conv2", "conv3", "conv4"]
    layer = rec["quantized_layers"]["conv3"]
    assert layer["codes"].dtype == torch.int8 and layer["kind"] == "conv2d"
    assert layer["shape"] == [32, 16, 3, 3] and layer["delta_min"] < layer["delta_max"]
    w = rec["state_dict"]["conv3.weight"]
    rebuilt = layer["w_r"] * (layer["codes"] == 1) + layer["w_l"] * (layer["codes"] == -1)
    torch.testing.assert_close(w, rebuilt.float())
    deployed, _ = load_model(path)
    torch.testing.assert_close(deployed(x), q(x))
    trainable, _ = load_model(path, trainable=True)
    torch.testing.assert_close(trainable.eval()(x), q(x))
    assert rec["metrics"]["mcc"] == 0.5


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match="no such model file"):
        read_record(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    with pytest.raises(InputError, match="junk.pt"):
        read_record(junk)
    other = tmp_path / "other.pt"
    torch.save({"format": "something"}, other)
    with pytest.raises(InputError, match="'format'"):
        read_record(other)
