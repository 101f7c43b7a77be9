"""Models of the paper (MNIST CNN, 2D CNN on TFR, 1D CNN-transformer) and HITS presets."""

from .budget import engine_budget
from .saved import load_model, read_record, save_model, upgrade_model_file
from .cnn_transformer import CNNTransformer
from .mnist_cnn import MnistCNN
from .registry import (ARCHITECTURES, HITS_DEFAULT, HITS_TFR_HOP, PRESET_INPUTS, PRESETS,
                       build_model, build_preset, preset_transform)
from .tfr_cnn import TFRCNN

__all__ = ["MnistCNN", "TFRCNN", "CNNTransformer", "ARCHITECTURES", "PRESETS",
           "HITS_DEFAULT", "HITS_TFR_HOP", "PRESET_INPUTS", "preset_transform",
           "build_model", "build_preset",
           "engine_budget", "save_model", "load_model",
           "read_record", "upgrade_model_file"]
