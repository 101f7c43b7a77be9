"""Quantizers (aTTQ, TTQ, DoReFa binary) usable on any Conv1d, Conv2d or Linear weight."""

from .apply import (QUANTIZABLE_TYPES, export_quantized, layer_kind, make_quantizer,
                    parameter_groups, quantize_model, quantized_layers)
from .attq import INIT_MODES, PRUNED_GRAD_MODES, ATTQQuantizer, attq_thresholds
from .config import METHODS, QuantConfig
from .dorefa import DoReFaQuantizer
from .ttq import TTQQuantizer, ttq_threshold

__all__ = [
    "ATTQQuantizer", "TTQQuantizer", "DoReFaQuantizer", "QuantConfig", "METHODS",
    "PRUNED_GRAD_MODES", "INIT_MODES", "attq_thresholds", "ttq_threshold",
    "make_quantizer", "quantize_model", "quantized_layers", "export_quantized",
    "parameter_groups", "layer_kind", "QUANTIZABLE_TYPES",
]
