"""The saved-model file: a trained model with its quantization and metrics.

One ``torch.save`` dict, loadable with ``torch.load(path, weights_only=True)``; every field
is documented in docs/model-format.md (the compiler reads it).
"""

import datetime
import platform

import torch

from ..atomic import atomic_path
from ..errors import InputError
from .registry import build_model

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "save_model", "load_model", "read_record",
           "deployed_state_dict"]

FORMAT_NAME = "attq-fpga-model"
FORMAT_VERSION = 1


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
               preset=None):
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
    """
    from ..quant import QuantConfig, export_quantized

    quant = quant or QuantConfig(method="fp")
    record = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "arch": arch,
        "preset": preset,
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


def read_record(path):
    """Load and check the dict of a saved model; raise InputError naming the bad field."""
    try:
        rec = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{path}: no such model file") from None
    except Exception as exc:
        raise InputError(f"{path}: not a saved attq-fpga model ({exc})") from None
    if not isinstance(rec, dict) or rec.get("format") != FORMAT_NAME:
        raise InputError(f"{path}: field 'format': expected {FORMAT_NAME!r}")
    if rec.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{path}: field 'format_version': expected {FORMAT_VERSION}, "
                         f"got {rec.get('format_version')!r}")
    for key in ("arch", "config", "quant", "quantized_layers", "state_dict"):
        if key not in rec:
            raise InputError(f"{path}: field {key!r} is missing")
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
    model = build_model(rec["arch"], rec["config"])
    if trainable:
        quantize_model(model, QuantConfig.from_dict(rec["quant"]))
        model.load_state_dict(rec["train_state_dict"])
    else:
        model.load_state_dict(rec["state_dict"])
    return model.eval(), rec
