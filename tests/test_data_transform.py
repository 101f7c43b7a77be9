"""The input transform: its dict form and checks, the one function that computes it against
hand computations (numpy FFT, a pure tone, a known row), and where it is recorded (the
presets, the committed models and programs)."""

import json
from pathlib import Path

import numpy as np
import pytest

from sw.data.transform import apply_transform
from sw.errors import InputError
from sw.program.transform import TFR, InputTransform, MinMax, Scale

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------- dict form


@pytest.mark.parametrize("transform", [
    InputTransform(),
    InputTransform((Scale(255.0),)),
    InputTransform((MinMax(),)),
    InputTransform((MinMax(), TFR(n_fft=32, hop=4, iq=False))),
    InputTransform((TFR(n_fft=16, hop=32, iq=True, clip=False),)),
])
def test_dict_form_round_trips(transform):
    d = transform.to_dict()
    assert InputTransform.from_dict(d) == transform
    assert InputTransform.from_dict(json.loads(json.dumps(d))) == transform


def test_kind_and_description():
    assert InputTransform().kind == "identity"
    t = InputTransform((MinMax(),)).then(TFR(n_fft=32, hop=4, iq=False))
    assert t.kind == "minmax+tfr"
    assert t.describe() == ("min-max per row to [0, 1], then TFR n_fft 32, hop 4, real, "
                            "clipped")


@pytest.mark.parametrize("d, message", [
    ([], "input_transform: expected an object {\"steps\": [...]}, got list"),
    ({}, "input_transform: field 'steps' is missing"),
    ({"steps": [], "hop": 4}, "input_transform: unknown field 'hop' (expected only 'steps')"),
    ({"steps": {}}, "input_transform.steps: expected a list, got dict"),
    ({"steps": ["tfr"]}, "input_transform.steps[0]: expected an object, got str"),
    ({"steps": [{"kind": "stft"}]},
     "input_transform.steps[0].kind: expected one of ['minmax', 'scale', 'tfr'], got 'stft'"),
    ({"steps": [{"kind": "minmax"}, {"kind": "tfr", "n_fft": 32, "hop": 4, "iq": False}]},
     "input_transform.steps[1]: field 'clip' is missing (kind 'tfr' takes "
     "['n_fft', 'hop', 'iq', 'clip'])"),
    ({"steps": [{"kind": "tfr", "n_fft": 32, "hop": 4.0, "iq": False, "clip": True}]},
     "input_transform.steps[0].hop: expected an integer >= 1, got 4.0"),
    ({"steps": [{"kind": "tfr", "n_fft": 1, "hop": 4, "iq": False, "clip": True}]},
     "input_transform.steps[0].n_fft: expected an integer >= 2, got 1"),
    ({"steps": [{"kind": "tfr", "n_fft": 32, "hop": 4, "iq": 1, "clip": True}]},
     "input_transform.steps[0].iq: expected true or false, got 1"),
    ({"steps": [{"kind": "scale", "divisor": 0}]},
     "input_transform.steps[0].divisor: expected a finite number > 0, got 0"),
    ({"steps": [{"kind": "minmax", "axis": -1}]},
     "input_transform.steps[0]: unknown field 'axis' for kind 'minmax' (expected [])"),
])
def test_bad_dicts_are_refused_naming_the_field(d, message):
    with pytest.raises(InputError) as info:
        InputTransform.from_dict(d)
    assert str(info.value) == message


def test_output_shape():
    hits = InputTransform((TFR(n_fft=32, hop=32, iq=True),))
    assert hits.output_shape((2, 2048)) == (1, 32, 64)
    esr = InputTransform((MinMax(), TFR(n_fft=32, hop=4, iq=False)))
    assert esr.output_shape((1, 178)) == (1, 32, 37)         # the paper's 32 x 37
    assert InputTransform().output_shape((2, 2048)) == (2, 2048)
    with pytest.raises(ValueError, match=r"step 0 \(TFR n_fft 32, hop 32, I/Q, clipped\): "
                                         r"the I/Q TFR takes 2 channels \(I, Q\), got 1"):
        hits.output_shape((1, 178))
    with pytest.raises(InputError, match=r"on samples \[1, 178\].*2 channels"):
        apply_transform(hits, np.zeros((3, 1, 178)))


# ------------------------------------------------------------- the one function, by hand


def test_scale_divides_pixels():
    pixels = np.array([[[[0, 51, 255]]]], np.uint8)
    out = apply_transform(InputTransform((Scale(255.0),)), pixels)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.array([[[[0.0, 0.2, 1.0]]]], np.float32))


def test_minmax_of_known_rows():
    rows = np.array([[[2.0, 4.0, 6.0, 10.0]], [[-1.0, -1.0, -1.0, -1.0]],
                     [[5.0, -5.0, 0.0, 5.0]]])
    out = apply_transform({"steps": [{"kind": "minmax"}]}, rows)
    assert out.dtype == np.float32 and out.shape == (3, 1, 4)
    np.testing.assert_array_equal(out[0, 0], [0.0, 0.25, 0.5, 1.0])
    np.testing.assert_array_equal(out[1, 0], [0.0, 0.0, 0.0, 0.0])     # no range: zeros
    np.testing.assert_array_equal(out[2, 0], [1.0, 0.0, 0.5, 1.0])


def _hand_tfr(z, n_fft, hop, clip):
    """The TFR of one complex or real signal, frame by frame with numpy."""
    w = np.blackman(n_fft)
    frames = [z[s:s + n_fft] * w for s in range(0, len(z) - n_fft + 1, hop)]
    spec = np.stack([np.fft.fftshift(np.fft.fft(f)) for f in frames], axis=1)
    db = 20 * np.log10(np.abs(spec) ** 2 + 1e-12)
    if clip:
        db = np.clip(db, db.mean(), db.mean() + 9 * db.std())
    return db


@pytest.mark.parametrize("bin_", [3, -7])
def test_tfr_of_a_pure_tone_peaks_at_its_bin(bin_):
    """An I/Q tone exactly on bin k: row 16 + k in every frame, at 20 log10((A Σw)²)."""
    n_fft, hop, amplitude = 32, 32, 0.5
    n = np.arange(2048)
    z = amplitude * np.exp(1j * (2 * np.pi * bin_ * n / n_fft + 0.7))
    iq = np.stack([z.real, z.imag])[None].astype(np.float32)
    out = apply_transform(InputTransform((TFR(n_fft, hop, iq=True, clip=False),)), iq)
    assert out.shape == (1, 1, 32, 64)
    assert (out[0, 0].argmax(axis=0) == 16 + bin_).all()
    peak = 20 * np.log10((amplitude * np.blackman(n_fft).sum()) ** 2)
    np.testing.assert_allclose(out[0, 0, 16 + bin_], peak, atol=1e-3)
    z32 = iq[0, 0].astype(np.float64) + 1j * iq[0, 1].astype(np.float64)
    np.testing.assert_allclose(out[0, 0], _hand_tfr(z32, n_fft, hop, clip=False), atol=2e-3)


def test_minmax_then_tfr_of_a_row_equals_the_hand_computation():
    rng = np.random.default_rng(4)
    rows = rng.integers(-500, 500, size=(2, 1, 178)).astype(np.float64)
    t = InputTransform((MinMax(), TFR(n_fft=32, hop=4, iq=False)))
    out = apply_transform(t, rows)
    assert out.shape == (2, 1, 32, 37)
    for r in range(2):
        row = rows[r, 0]
        scaled = ((row - row.min()) / (row.max() - row.min())).astype(np.float32)
        np.testing.assert_allclose(out[r, 0], _hand_tfr(scaled.astype(np.float64), 32, 4,
                                                        clip=True), atol=2e-3)


def test_identity_and_empty_batches():
    x = np.random.default_rng(0).normal(size=(3, 2, 2048)).astype(np.float32)
    np.testing.assert_array_equal(apply_transform(InputTransform(), x), x)
    hits = InputTransform((TFR(n_fft=32, hop=32, iq=True),))
    assert apply_transform(hits, np.zeros((0, 2, 2048), np.float32)).shape == (0, 1, 32, 64)
    esr = InputTransform((MinMax(), TFR(n_fft=32, hop=4, iq=False)))
    assert apply_transform(esr, np.zeros((0, 1, 178))).shape == (0, 1, 32, 37)


# ------------------------------------------------------------------- where it is recorded


def test_presets_say_what_the_version_1_pipeline_computed():
    """Before the transform was data, training chose it from the data set and the
    architecture: the loader's scaling (MNIST pixel / 255, ESR min-max per row), then for
    the TFR CNN a TFR with n_fft 32 and hop 32 (HITS) or 4 (ESR). Every preset on its data
    set must say exactly that, or version 1 model files would be read wrongly."""
    from sw.models import PRESET_INPUTS, PRESETS

    def legacy(dataset, arch):
        steps = {"mnist": [{"kind": "scale", "divisor": 255.0}],
                 "esr": [{"kind": "minmax"}], "hits": []}[dataset]
        if arch == "tfr_cnn":
            steps = steps + [{"kind": "tfr", "n_fft": 32, "hop": 32 if dataset == "hits"
                              else 4, "iq": dataset == "hits", "clip": True}]
        return {"steps": steps}

    assert set(PRESET_INPUTS) == set(PRESETS)
    for name, (dataset, transform) in PRESET_INPUTS.items():
        assert transform.to_dict() == legacy(dataset, PRESETS[name][0]), name


def test_loaders_default_scaling_is_the_models_transform():
    from sw.data.mnist import PIXEL_SCALING, load_mnist
    from sw.models import preset_transform
    assert preset_transform("mnist_cnn") == PIXEL_SCALING
    raw = load_mnist(raw=True)
    assert raw.x_test.max() == 255.0
    np.testing.assert_array_equal(load_mnist().x_test,
                                  apply_transform(PIXEL_SCALING, raw.x_test))


def test_load_dataset_applies_the_given_transform(tmp_path):
    from sw.data.esr import read_esr_csv
    from sw.data.esr_synthetic import write_synthetic_esr
    from sw.train.pipeline import load_dataset
    path = write_synthetic_esr(tmp_path / "esr.csv", n_rows=40, seed=2)
    split = load_dataset("esr", "esr_cnn_transformer", seed=0, data_path=path)
    _, signals, _ = read_esr_csv(path)
    lo, hi = signals.min(axis=1, keepdims=True), signals.max(axis=1, keepdims=True)
    by_hand = ((signals - lo) / (hi - lo)).astype(np.float32)
    rows = {tuple(r) for r in by_hand}
    assert all(tuple(r) in rows for r in split.x_train[:, 0])
    assert split.description.endswith("; model input: min-max per row to [0, 1]")
    tfr = load_dataset("esr", seed=0, data_path=path, transform={"steps": [
        {"kind": "minmax"}, {"kind": "tfr", "n_fft": 32, "hop": 8, "iq": False,
                             "clip": True}]})
    assert tfr.x_train.shape[1:] == (1, 32, 19)


@pytest.mark.parametrize("name, preset", [("mnist", "mnist_cnn"), ("hits", "hits_tfr_cnn")])
def test_committed_models_and_programs_record_the_transform(name, preset):
    from sw.models import preset_transform, read_record
    from sw.program.file import load
    for kind in ("attq", "fp"):
        rec = read_record(ROOT / "models" / f"{name}_{kind}.pt")
        assert rec["format_version"] == 2 and rec["preset"] == preset
        assert rec["input_transform"] == preset_transform(preset).to_dict()
    program = load(ROOT / "models" / f"{name}_attq.attq")
    assert program.input_transform == preset_transform(preset)
    raw_shape = {"mnist": (1, 20, 20), "hits": (2, 2048)}[name]
    assert program.input_transform.output_shape(raw_shape) == program.input_shape
