"""Interchange with the quantized-FPGA ecosystem: a trained model as QONNX (docs/qonnx.md).

QONNX is the ONNX dialect that FINN and hls4ml read: plain ONNX operators plus ``Quant``
nodes that say how a tensor is quantized. :func:`export_qonnx` writes a saved model's
ternary layers in the two-branch form that both can fold.
"""

from .qonnx_export import QUANT_DOMAIN, check_export, export_qonnx, run_qonnx

__all__ = ["QUANT_DOMAIN", "export_qonnx", "run_qonnx", "check_export"]
