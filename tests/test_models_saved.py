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
    assert rec["format"] == "attq-fpga-model" and rec["format_version"] == 2
    # The preset's transform, recorded (save_model's default when none is given).
    assert rec["input_transform"] == {"steps": [{"kind": "tfr", "n_fft": 32, "hop": 32,
                                                 "iq": True, "clip": True}]}
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


# ----------------------------------------------------------------------- input transform


def _saved(tmp_path, name="m.pt", **kwargs):
    path = tmp_path / name
    kwargs.setdefault("preset", "hits_tfr_cnn")
    kwargs.setdefault("data", {"dataset": "hits"})
    save_model(path, build_preset("hits_tfr_cnn"), arch="tfr_cnn", **kwargs)
    return path


def _as_version_1(path, **changes):
    """Rewrite a saved model as a version 1 file (no input_transform), with ``changes``."""
    rec = torch.load(path, weights_only=True)
    del rec["input_transform"]
    rec.update(format_version=1, **changes)
    torch.save(rec, path)
    return path


def test_input_transform_round_trips(tmp_path):
    from sw.program.transform import TFR, InputTransform, MinMax
    transform = InputTransform((MinMax(), TFR(n_fft=32, hop=16, iq=True, clip=False)))
    path = _saved(tmp_path, input_transform=transform)
    rec = read_record(path)
    assert InputTransform.from_dict(rec["input_transform"]) == transform
    assert torch.load(path, weights_only=True)["input_transform"] == transform.to_dict()


def test_save_without_a_preset_needs_a_transform(tmp_path):
    with pytest.raises(ValueError, match="input_transform is required"):
        _saved(tmp_path, preset=None)


def test_version_1_file_gets_its_presets_transform(tmp_path):
    """A version 1 file of a known preset trained on that preset's data set: the transform
    the version 1 pipeline computed, i.e. the preset's."""
    from sw.models import PRESET_INPUTS
    path = _as_version_1(_saved(tmp_path))
    rec = read_record(path)
    assert rec["format_version"] == 1
    assert rec["input_transform"] == PRESET_INPUTS["hits_tfr_cnn"][1].to_dict()
    load_model(path)


@pytest.mark.parametrize("changes, named", [
    (dict(preset=None), "preset None with data set 'hits'"),
    (dict(preset="mystery"), "preset 'mystery' with data set 'hits'"),
    (dict(data={"dataset": "esr"}), "preset 'hits_tfr_cnn' with data set 'esr'"),
    (dict(data={}), "preset 'hits_tfr_cnn' with data set None"),
])
def test_version_1_file_without_a_determined_transform_is_refused(tmp_path, changes, named):
    path = _as_version_1(_saved(tmp_path), **changes)
    with pytest.raises(InputError) as info:
        read_record(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: model file version 1 records no input transform, and "
                          f"its {named} does not determine one")
    assert "upgrade_model_file" in msg and "hits_tfr_cnn (hits)" in msg


def test_version_2_file_without_or_with_a_bad_transform_is_refused(tmp_path):
    path = _saved(tmp_path)
    rec = torch.load(path, weights_only=True)
    del rec["input_transform"]
    torch.save(rec, path)
    with pytest.raises(InputError, match="field 'input_transform' is missing"):
        read_record(path)
    rec["input_transform"] = {"steps": [{"kind": "fft"}]}
    torch.save(rec, path)
    with pytest.raises(InputError) as info:
        read_record(path)
    assert str(info.value) == (f"{path}: field 'input_transform'.steps[0].kind: expected one "
                               f"of ['minmax', 'scale', 'tfr'], got 'fft'")


def test_upgrade_model_file(tmp_path):
    """A version 1 file rewritten as version 2: its transform added, nothing else changed."""
    from sw.models import upgrade_model_file
    from sw.program.transform import InputTransform
    path = _as_version_1(_saved(tmp_path))
    before = torch.load(path, weights_only=True)
    out = tmp_path / "v2.pt"
    upgrade_model_file(path, out)
    after = torch.load(out, weights_only=True)
    assert after["format_version"] == 2
    assert after["input_transform"] == read_record(path)["input_transform"]
    assert set(after) - set(before) == {"input_transform"}
    for key in before:
        if key not in ("format_version", "state_dict", "train_state_dict"):
            assert after[key] == before[key], key
    for key in ("state_dict", "train_state_dict"):
        assert all(torch.equal(before[key][k], after[key][k]) for k in before[key])
    # A file whose transform is not determined takes one given explicitly.
    ambiguous = _as_version_1(_saved(tmp_path, "a.pt"), preset=None)
    upgrade_model_file(ambiguous, input_transform=InputTransform())
    assert read_record(ambiguous)["input_transform"] == {"steps": []}
