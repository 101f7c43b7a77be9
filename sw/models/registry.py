"""Architectures by name, and the presets of the paper and of the project."""

from ..data.esr import ROW_SCALING
from ..data.mnist import PIXEL_SCALING
from ..program.transform import TFR, InputTransform
from .cnn_transformer import CNNTransformer
from .mnist_cnn import MnistCNN
from .tfr_cnn import TFRCNN

__all__ = ["ARCHITECTURES", "PRESETS", "PRESET_INPUTS", "build_model", "build_preset",
           "read_model_config",
           "preset_transform", "HITS_DEFAULT", "HITS_TFR_HOP", "TFR_N_FFT", "ESR_TFR_HOP"]

#: Architecture name -> class. A saved model records its name and ``model.config``.
ARCHITECTURES = {
    "mnist_cnn": MnistCNN,
    "tfr_cnn": TFRCNN,
    "cnn_transformer": CNNTransformer,
}

#: TFR window of every TFR model (the paper's 32).
TFR_N_FFT = 32
#: TFR hop for the HITS default model: 2048 I/Q samples, n_fft 32, hop 32 -> 32 × 64 map.
HITS_TFR_HOP = 32
#: TFR hop of the ESR 2D CNN (the paper's 4): 178 samples -> 32 × 37 map.
ESR_TFR_HOP = 4

#: Presets: name -> (architecture, config). Counts are checked in tests/test_models.py.
PRESETS = {
    # Table 1: 9,840 parameters.
    "mnist_cnn": ("mnist_cnn", {}),
    # Table 1: 1,555,842 parameters (ESR TFR is 1 × 32 × 37).
    "esr_tfr_cnn": ("tfr_cnn", dict(in_channels=1, input_shape=[32, 37], n_filters=64,
                                     n_classes=2)),
    # The paper's ESR 2D CNN narrowed as the HITS default is (8 filters, not 64), so that it
    # runs wholly on the engine of the Arty A7-35T (docs/esr-model.md).
    "esr_tfr_cnn_narrow": ("tfr_cnn", dict(in_channels=1, input_shape=[32, 37], n_filters=8,
                                            n_classes=2)),
    # Table 1: 109,942 parameters.
    "esr_cnn_transformer": ("cnn_transformer", {}),
    # Project default for HITS: sized for the Arty A7-35T block RAM (docs/hits-model.md).
    "hits_tfr_cnn": ("tfr_cnn", dict(in_channels=1, input_shape=[32, 64], n_filters=8,
                                      n_classes=3)),
    # The paper's 2D CNN width (n = 64) on the HITS TFR; too big for the 35T.
    "hits_tfr_cnn_paper": ("tfr_cnn", dict(in_channels=1, input_shape=[32, 64],
                                            n_filters=64, n_classes=3)),
    # 1D CNN-transformer on the raw I/Q segment (2 channels × 2048 samples).
    "hits_cnn_transformer": ("cnn_transformer", dict(in_channels=2, n_samples=2048,
                                                      n_classes=3, n_conv_layers=4)),
}

#: Presets: name -> (the data set it is trained on, its input transform). The one place
#: that says what each preset's model takes; training records it in the model file
#: (docs/model-format.md), the compiler copies it into the program, and everything computes
#: it with ``sw.data.transform.apply_transform``. Raw samples: MNIST cropped pixels 0..255
#: ``[1, 20, 20]``, ESR rows ``[1, 178]``, HITS I/Q segments ``[2, 2048]``.
PRESET_INPUTS = {
    "mnist_cnn": ("mnist", PIXEL_SCALING),
    "esr_tfr_cnn": ("esr", ROW_SCALING.then(TFR(n_fft=TFR_N_FFT, hop=ESR_TFR_HOP,
                                                  iq=False))),
    "esr_tfr_cnn_narrow": ("esr", ROW_SCALING.then(TFR(n_fft=TFR_N_FFT, hop=ESR_TFR_HOP,
                                                         iq=False))),
    "esr_cnn_transformer": ("esr", ROW_SCALING),
    "hits_tfr_cnn": ("hits", InputTransform((TFR(n_fft=TFR_N_FFT, hop=HITS_TFR_HOP,
                                                 iq=True),))),
    "hits_tfr_cnn_paper": ("hits", InputTransform((TFR(n_fft=TFR_N_FFT, hop=HITS_TFR_HOP,
                                                       iq=True),))),
    "hits_cnn_transformer": ("hits", InputTransform()),
}

#: The default HITS model preset.
HITS_DEFAULT = "hits_tfr_cnn"


def preset_transform(name):
    """The input transform of preset ``name`` (:data:`PRESET_INPUTS`)."""
    if name not in PRESET_INPUTS:
        raise ValueError(f"unknown model preset {name!r}; known: {sorted(PRESET_INPUTS)}")
    return PRESET_INPUTS[name][1]


def build_model(arch, config=None):
    """Build architecture ``arch`` with keyword ``config``."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; known: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[arch](**(config or {}))


def build_preset(name, **overrides):
    """Build preset ``name`` (see :data:`PRESETS`), with config ``overrides``."""
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; known: {sorted(PRESETS)}")
    arch, config = PRESETS[name]
    return build_model(arch, {**config, **overrides})


def read_model_config(text, preset):
    """The preset's architecture options that ``--model-config`` changes (a dict; ``{}``
    for None): ``text`` is a JSON object, inline or in a file, of the preset's
    architecture's options, or ``{"arch": ..., "config": {...}}`` as a saved model records
    them. InputError names the source and what was expected."""
    import inspect
    import json
    from pathlib import Path

    from ..errors import InputError

    if preset not in PRESETS:
        raise InputError(f"--preset {preset}: unknown preset; known: {', '.join(sorted(PRESETS))}")
    arch, base = PRESETS[preset]
    if text is None:
        return {}
    source = "--model-config"
    if not text.lstrip().startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise InputError(f"--model-config {text}: expected a JSON object or a JSON "
                             f"file; no such file")
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read the model configuration ({exc})") \
                from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: expected a JSON object of {arch} options, not JSON "
                         f"({exc})") from None
    if not isinstance(config, dict):
        raise InputError(f"{source}: expected a JSON object of {arch} options, got "
                         f"{type(config).__name__}")
    if "arch" in config:
        if config["arch"] != arch:
            raise InputError(f"{source}: field 'arch': a configuration of "
                             f"{config['arch']!r}; expected {arch!r} (the architecture "
                             f"of preset {preset})")
        config = config.get("config", {})
        if not isinstance(config, dict):
            raise InputError(f"{source}: field 'config': expected a JSON object of {arch} "
                             f"options")
    known = [n for n in inspect.signature(ARCHITECTURES[arch]).parameters if n != "self"]
    unknown = sorted(set(config) - set(known))
    if unknown:
        raise InputError(f"{source}: {unknown} are not options of {arch} (preset {preset});"
                         f" expected some of {known}")
    if "n_classes" in config:
        raise InputError(f"{source}: 'n_classes' comes from the data set; leave it out")
    return config
