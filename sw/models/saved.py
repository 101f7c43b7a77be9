"""The saved-model file: a trained model with its quantization and metrics.

One ``torch.save`` dict, loadable with ``torch.load(path, weights_only=True)``; every field
is documented in docs/model-format.md (the compiler reads it).
"""

import datetime
import platform
import warnings

import torch

from ..atomic import atomic_path
from ..errors import InputError
from ..file_kinds import wrong_kind_message
from ..program.transform import InputTransform
from .registry import ARCHITECTURES, PRESET_INPUTS, build_model

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "save_model", "load_model", "read_record",
           "deployed_state_dict", "implied_transform", "upgrade_model_file"]

FORMAT_NAME = "attq-fpga-model"
#: 2: the record holds the model's ``input_transform``. Version 1 files (without it) are
#: still read when their preset and data set determine it (:func:`read_record`).
FORMAT_VERSION = 2
#: Versions :func:`read_record` reads.
READABLE_VERSIONS = (1, 2)


def deployed_state_dict(model):
    """State dict with quantized weights materialised (no parametrizations, no scales)."""
    from ..quant import quantized_layers

    # Built key by key: removing the parametrizations of a deep copy would also strip the
    # original, because both share the generated parametrized class.
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for name, (module, _) in quantized_layers(model).items():
        prefix = f"{name}.parametrizations.weight."
        for key in [k for k in state if k.startswith(prefix)]:
            del state[key]
        with torch.no_grad():
            state[f"{name}.weight"] = module.weight.detach().clone()
    return state


def save_model(path, model, *, arch, quant=None, metrics=None, data=None, training=None,
               preset=None, input_transform=None):
    """Write ``model`` to ``path`` (atomically) in the documented format.

    Parameters
    ----------
    path : path-like
    model : torch.nn.Module
        Trained, possibly quantized (:func:`sw.quant.quantize_model`) model with a
        ``config`` dict attribute.
    arch : str
        Architecture name (:data:`sw.models.ARCHITECTURES`).
    quant : sw.quant.QuantConfig, optional
        None for a full-precision model.
    metrics, data, training : dict, optional
        JSON-like dicts recorded as they are.
    preset : str, optional
    input_transform : sw.program.transform.InputTransform or dict, optional
        What turns a raw sample into the model's input; default: the preset's
        (:data:`sw.models.registry.PRESET_INPUTS`). Without a known preset it is required.
    """
    from ..quant import QuantConfig, export_quantized

    if input_transform is None:
        if preset not in PRESET_INPUTS:
            raise ValueError(f"save_model: input_transform is required for a model without "
                             f"a known preset (preset {preset!r})")
        input_transform = PRESET_INPUTS[preset][1]
    input_transform = InputTransform.from_dict(input_transform)
    quant = quant or QuantConfig(method="fp")
    record = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "arch": arch,
        "preset": preset,
        "input_transform": input_transform.to_dict(),
        "config": dict(model.config),
        "quant": quant.to_dict(),
        "quantized_layers": export_quantized(model),
        "state_dict": deployed_state_dict(model),
        "train_state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "metrics": dict(metrics or {}),
        "data": dict(data or {}),
        "training": dict(training or {}),
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "software": {"torch": str(torch.__version__), "python": platform.python_version()},
    }
    with atomic_path(path) as tmp:
        torch.save(record, tmp)
    return record


def implied_transform(rec, path="<record>"):
    """The input transform of a version 1 record, which does not hold one.

    Version 1 training chose the transform from the data set and the architecture
    (``load_dataset`` before the transform was data); every preset was trained on one data
    set (:data:`sw.models.registry.PRESET_INPUTS`), and on that data set the preset's
    transform is exactly what that training computed. So the transform is taken from the
    preset only when the record names a known preset **and** its ``data.dataset`` is the
    preset's data set; otherwise (no preset, an unknown one, another data set) it is not
    determined and the file is refused.
    """
    preset = rec.get("preset")
    data = rec.get("data")
    dataset = data.get("dataset") if isinstance(data, dict) else None
    if isinstance(preset, str) and preset in PRESET_INPUTS \
            and dataset == PRESET_INPUTS[preset][0]:
        return PRESET_INPUTS[preset][1]
    raise InputError(
        f"{path}: model file version 1 records no input transform, and its preset "
        f"{preset!r} with data set {dataset!r} does not determine one (known presets and "
        f"their data sets: "
        + ", ".join(f"{p} ({d})" for p, (d, _) in sorted(PRESET_INPUTS.items()))
        + "): write it with sw.models.upgrade_model_file(path, input_transform=...) "
          "(docs/model-format.md), or train the model again")


def _refuse_other_kinds(path):
    """Refuse a file that is recognisably something else (a program, a recording), before
    ``torch.load`` fails on it with a message about pickles and zip archives."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return      # torch.load says what is wrong (no such file, a folder...)
    message = wrong_kind_message(path, head, "model", whole=False)
    if message is not None:
        raise InputError(message)


def read_record(path):
    """Load and check the dict of a saved model; raise InputError naming the bad field.

    The returned record always holds ``input_transform`` (a checked dict): a version 1
    file gets the one its preset implies (:func:`implied_transform`) or is refused.
    """
    _refuse_other_kinds(path)
    try:
        with warnings.catch_warnings():
            # torch warns about the pickle protocol of a damaged file before failing on
            # it; the InputError below is what the user needs.
            warnings.simplefilter("ignore", UserWarning)
            rec = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{path}: no such model file") from None
    except Exception as exc:
        raise InputError(f"{path}: not a saved attq-fpga model ({exc})") from None
    if not isinstance(rec, dict) or rec.get("format") != FORMAT_NAME:
        raise InputError(f"{path}: field 'format': expected {FORMAT_NAME!r}")
    if rec.get("format_version") not in READABLE_VERSIONS:
        raise InputError(f"{path}: field 'format_version': expected one of "
                         f"{list(READABLE_VERSIONS)}, got {rec.get('format_version')!r}")
    for key in ("arch", "config", "quant", "quantized_layers", "state_dict"):
        if key not in rec:
            raise InputError(f"{path}: field {key!r} is missing")
    if not isinstance(rec["arch"], str) or rec["arch"] not in ARCHITECTURES:
        raise InputError(f"{path}: field 'arch': expected one of {sorted(ARCHITECTURES)}, "
                         f"got {rec['arch']!r}")
    for key in ("config", "quant", "quantized_layers", "state_dict"):
        if not isinstance(rec[key], dict):
            raise InputError(f"{path}: field {key!r}: expected a dict, got "
                             f"{type(rec[key]).__name__}")
    if rec["format_version"] == 1:
        rec["input_transform"] = implied_transform(rec, path).to_dict()
    elif "input_transform" not in rec:
        raise InputError(f"{path}: field 'input_transform' is missing")
    else:
        rec["input_transform"] = InputTransform.from_dict(
            rec["input_transform"], f"{path}: field 'input_transform'").to_dict()
    return rec


def upgrade_model_file(path, out=None, *, input_transform=None):
    """Rewrite a version 1 model file as version 2: the record unchanged, plus its input
    transform (``input_transform``, or the one :func:`implied_transform` finds).

    Writes ``out`` (default: ``path`` itself) atomically and returns the record. A version
    2 file is rewritten unchanged unless ``input_transform`` replaces its transform.
    """
    _refuse_other_kinds(path)
    try:
        rec = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(f"{path}: not a saved attq-fpga model ({exc})") from None
    if input_transform is None:
        input_transform = read_record(path)["input_transform"]
    where = f"{path}: input_transform"
    rec["input_transform"] = InputTransform.from_dict(input_transform, where).to_dict()
    rec["format_version"] = FORMAT_VERSION
    with atomic_path(out if out is not None else path) as tmp:
        torch.save(rec, tmp)
    return rec


def load_model(path, *, trainable=False):
    """Rebuild a saved model.

    Parameters
    ----------
    trainable : bool
        False (default): the deployed model, quantized weights as plain tensors.
        True: the quantizers are put back and the full-precision copies and scales
        restored, to continue training.

    Returns
    -------
    (torch.nn.Module, dict)
        The model (eval mode) and the record.
    """
    from ..quant import QuantConfig, quantize_model

    rec = read_record(path)
    _check_config(path, rec)
    model = build_model(rec["arch"], rec["config"])
    key = "train_state_dict" if trainable else "state_dict"
    if trainable:
        if not isinstance(rec.get(key), dict):
            raise InputError(f"{path}: field {key!r}: expected a dict of the weights to "
                             f"continue training, got {type(rec.get(key)).__name__}")
        try:
            quantize_model(model, QuantConfig.from_dict(rec["quant"]))
        except (TypeError, ValueError, KeyError) as exc:
            raise InputError(f"{path}: field 'quant': {rec['quant']!r} is not a "
                             f"quantization of {rec['arch']!r} ({exc})") from None
    try:
        model.load_state_dict(rec[key])
    except (RuntimeError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: field {key!r}: does not fit architecture "
                         f"{rec['arch']!r} with config {rec['config']!r} ({exc})") from None
    return model.eval(), rec


def _check_config(path, rec):
    """Refuse a config that cannot be built or does not make the file's weights.

    The model is built on the meta device first (shapes only, no memory), so that a
    damaged config (a size of 2^31) is refused here instead of allocating a model of that
    size.
    """
    arch, config = rec["arch"], rec["config"]
    try:
        with torch.device("meta"), warnings.catch_warnings():
            # A damaged config may make empty layers, which torch warns about; the shape
            # check below says what is wrong.
            warnings.simplefilter("ignore", UserWarning)
            probe = build_model(arch, config)
    except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
        raise InputError(f"{path}: field 'config': {config!r} does not build architecture "
                         f"{arch!r} ({exc})") from None
    state = rec["state_dict"]
    for name, want in probe.state_dict().items():
        got = state.get(name)
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            what = "missing" if not isinstance(got, torch.Tensor) else \
                f"of shape {list(got.shape)}"
            raise InputError(f"{path}: field 'state_dict': weight {name!r} is {what}; "
                             f"architecture {arch!r} with config {config!r} expects shape "
                             f"{list(want.shape)}")
