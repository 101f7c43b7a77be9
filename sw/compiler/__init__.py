"""The compiler: a trained aTTQ PyTorch model -> integer program (docs/compiler.md)."""

from .calibrate import CALIBRATION_METHODS, calibrate
from .compiler import calibration_inputs, compile_model, compile_saved
from .graph import Stage, extract_stages
from .lower import fold_batch_norm, int8_per_channel, lower_stage

__all__ = ["compile_model", "compile_saved", "calibration_inputs", "calibrate",
           "CALIBRATION_METHODS", "extract_stages", "Stage", "lower_stage",
           "fold_batch_norm", "int8_per_channel"]
