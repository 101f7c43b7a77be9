"""The ternary sparse engine: lanes, the shared epilogue, and the layer engine around them."""

from hw.engine.lane import Lane
from hw.engine.layer_engine import LayerEngine
from hw.engine.layouts import (fields_layout, lane_config_layout, lane_result_layout,
                               layer_config_layout, param_word_layout, weight_word_layout)
from hw.engine.ports import LaneWriteSignature

__all__ = ["Lane", "LaneWriteSignature", "LayerEngine", "fields_layout", "lane_config_layout",
           "lane_result_layout", "layer_config_layout", "param_word_layout",
           "weight_word_layout"]
