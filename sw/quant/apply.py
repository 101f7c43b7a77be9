"""Put quantizers on a model's layers, and take their results back out for the compiler."""

import torch
from torch import nn
from torch.nn.utils import parametrize

from .attq import ATTQQuantizer
from .config import QuantConfig
from .dorefa import DoReFaQuantizer
from .ttq import TTQQuantizer

__all__ = ["make_quantizer", "quantize_model", "quantized_layers", "export_quantized",
           "parameter_groups", "layer_kind", "QUANTIZABLE_TYPES"]

#: Layer types whose ``weight`` can be quantized.
QUANTIZABLE_TYPES = (nn.Conv1d, nn.Conv2d, nn.Linear)


def layer_kind(module):
    """``"conv1d"``, ``"conv2d"`` or ``"linear"``."""
    for t, name in ((nn.Conv1d, "conv1d"), (nn.Conv2d, "conv2d"), (nn.Linear, "linear")):
        if isinstance(module, t):
            return name
    raise TypeError(f"{type(module).__name__} is not a quantizable layer type "
                    f"(Conv1d, Conv2d or Linear)")


def make_quantizer(weight, config):
    """The quantizer module of ``config.method`` for ``weight`` (None for "fp")."""
    if config.method == "attq":
        return ATTQQuantizer(weight, config.t_min, config.t_max,
                             pruned_grad=config.pruned_grad, init_scales=config.init_scales)
    if config.method == "ttq":
        return TTQQuantizer(weight, config.t, init_scales=config.init_scales,
                            normalize=config.ttq_normalize)
    if config.method == "dorefa":
        return DoReFaQuantizer(weight, per_channel=config.dorefa_per_channel)
    return None


def quantize_model(model, config, layers=None):
    """Register ``config``'s quantizer on the ``weight`` of each named layer, in place.

    Parameters
    ----------
    model : torch.nn.Module
    config : QuantConfig
    layers : list of str, optional
        Layer names; default ``config.layers``, and if that is empty the model's
        ``default_quantized`` (the paper's selection).

    Returns
    -------
    model : torch.nn.Module
        The same model. Its quantized layers keep the full-precision copy in
        ``layer.parametrizations.weight.original``; ``layer.weight`` is quantized.
    """
    if not isinstance(config, QuantConfig):
        raise TypeError("config must be a QuantConfig")
    names = list(config.layers if layers is None else layers)
    if config.method == "fp":
        return model
    if not names:
        # The model's own default selection (the paper's Hessian-based lists).
        names = list(getattr(model, "default_quantized", ()))
        if not names:
            raise ValueError("no layers to quantize: give QuantConfig.layers (the model "
                             "has no default_quantized list)")
    modules = dict(model.named_modules())
    missing = [n for n in names if n not in modules]
    if missing:
        raise ValueError(f"layers {missing} are not in the model; its layers are "
                         f"{[n for n, m in modules.items() if isinstance(m, QUANTIZABLE_TYPES)]}")
    for name in names:
        module = modules[name]
        layer_kind(module)
        if parametrize.is_parametrized(module, "weight"):
            raise ValueError(f"layer {name!r} is already quantized")
        quantizer = make_quantizer(module.weight, config)
        parametrize.register_parametrization(module, "weight", quantizer)
    return model


def quantized_layers(model):
    """``{name: (layer, quantizer)}`` of every quantized layer, in module order."""
    out = {}
    for name, module in model.named_modules():
        if parametrize.is_parametrized(module, "weight"):
            q = module.parametrizations.weight[0]
            if isinstance(q, (ATTQQuantizer, TTQQuantizer, DoReFaQuantizer)):
                out[name] = (module, q)
    return out


@torch.no_grad()
def export_quantized(model):
    """Per quantized layer: codes (int8), W_r, W_l, thresholds, bias, shape, kind.

    See docs/model-format.md for the fields.
    """
    out = {}
    for name, (module, q) in quantized_layers(model).items():
        w = module.parametrizations.weight.original
        rec = q.export(w)
        rec.update(method=q.method, kind=layer_kind(module), shape=list(w.shape),
                   bias=None if module.bias is None else module.bias.detach().clone(),
                   nnz_pos=int((rec["codes"] > 0).sum()), nnz_neg=int((rec["codes"] < 0).sum()))
        out[name] = rec
    return out


def parameter_groups(model):
    """The three groups the authors optimise separately (each with its own Adamax).

    Returns
    -------
    dict
        ``{"other": [...], "fp_copies": [...], "scales": [...]}``: the layers that are not
        quantized (with all biases and norms), the full-precision copies of the quantized
        kernels, and the quantizers' scales. Empty groups are kept as empty lists.
    """
    fp_copies, scales = [], []
    for module, q in quantized_layers(model).values():
        fp_copies.append(module.parametrizations.weight.original)
        scales.extend(q.parameters())
    taken = {id(p) for p in fp_copies + scales}
    other = [p for p in model.parameters() if id(p) not in taken]
    return {"other": other, "fp_copies": fp_copies, "scales": scales}
