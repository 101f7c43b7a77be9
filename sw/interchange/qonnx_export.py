"""A saved model as QONNX: PyTorch's ONNX export, each ternary layer in two branches.

A ternary layer's weight is ``w_r`` where its code is +1, ``w_l`` where it is -1 and 0
elsewhere (docs/model-format.md). QONNX's ``Quant`` node quantizes a tensor with one
scale per tensor, per channel or per element. One node with a per-element scale
(``w_r`` or ``|w_l|`` by the code's sign) would be exact, but FINN's ``FoldQuantWeights``
folds a weight scale only up to one per output channel, and hls4ml likewise. So each
ternary layer becomes two branches, each of which both can fold:

    y = Conv(x, Quant(w_r * [code = +1], |w_r|)) + Conv(x, Quant(w_l * [code = -1], |w_l|)) + b

each ``Quant`` a 2-bit signed narrow-range quantizer (codes -1, 0, +1) with a positive
scale per tensor, or per output channel where the layer has one (per-channel DoReFa);
the bias is a separate ``Add`` after the branches, since folding moves a weight's scale
behind its convolution (onto a bias inside the node as well). Each branch reproduces its
weights exactly: ``round(w / |w|) * |w| = w``. A linear layer's branches are ``MatMul``
nodes on the transposed weight (FINN folds scales into ``MatMul``, not ``Gemm``). Every
other operator is PyTorch's own export (batch norm kept as a node, so that the graph shows
the model as trained), with batch size 1, as FINN takes it.
"""

import io
import warnings

import numpy as np

__all__ = ["QUANT_DOMAIN", "INPUT_NAME", "OUTPUT_NAME", "export_qonnx", "run_qonnx",
           "check_export"]

#: The ONNX domain of QONNX's ``Quant`` node.
QUANT_DOMAIN = "qonnx.custom_op.general"
#: The graph's input and output, named as FINN's flow expects them.
INPUT_NAME, OUTPUT_NAME = "global_in", "global_out"
#: ONNX opset of the export.
OPSET = 13


def export_qonnx(model, record):
    """The deployed ``model`` (:func:`sw.models.load_model`) as a QONNX ``ModelProto``.

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode, with ``sample_shape`` (one input's shape).
    record : dict
        The saved model's record: ``quantized_layers`` gives each ternary layer's codes,
        ``w_r``, ``w_l`` and bias.

    Returns
    -------
    onnx.ModelProto
    """
    import onnx
    import torch
    from onnx import helper
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.general import GiveUniqueNodeNames
    from qonnx.transformation.infer_shapes import InferShapes

    model.eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of the dynamo one, which
        # needs onnxscript's rewriter and folds batch norm; this one keeps names.
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, *model.sample_shape),), buf, dynamo=False,
                          opset_version=OPSET, do_constant_folding=False,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME])
    proto = onnx.load_from_string(buf.getvalue())
    graph = proto.graph
    layers = record.get("quantized_layers") or {}
    by_weight = {f"{name}.weight": name for name in layers}
    # A linear layer without bias is exported as MatMul(x, Transpose(weight)).
    transposes = {node.output[0]: node for node in graph.node
                  if node.op_type == "Transpose" and node.input[0] in by_weight}
    nodes, done = [], []
    for node in graph.node:
        if node.output[0] in transposes:
            continue
        weight = node.input[1] if len(node.input) > 1 else None
        if weight in transposes:
            weight = transposes[weight].input[0]
        name = by_weight.get(weight)
        if name is None:
            nodes.append(node)
            continue
        nodes += _branches(graph, node, name, layers[name])
        done.append(name)
    missing = sorted(set(layers) - set(done))
    if missing:
        raise ValueError(f"no Conv, Gemm or MatMul node of the export takes the weight of "
                         f"{', '.join(missing)}")
    del graph.node[:]
    graph.node.extend(nodes)
    used = {i for node in graph.node for i in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    proto.opset_import.append(helper.make_opsetid(QUANT_DOMAIN, 1))
    wrapped = ModelWrapper(proto)
    wrapped = wrapped.transform(InferShapes()).transform(GiveUniqueNodeNames())
    return wrapped.model


def _branches(graph, node, name, layer):
    """The nodes that replace ``node`` (a Conv, Gemm or MatMul on layer ``name``'s weight)."""
    from onnx import helper, numpy_helper

    codes = np.asarray(layer["codes"], dtype=np.int8)
    shape = codes.shape
    # Per output channel where the layer has a scale per channel, else one.
    per = [shape[0]] + [1] * (codes.ndim - 1)
    values = {+1: np.asarray(layer["w_r"], dtype=np.float32),
              -1: np.asarray(layer["w_l"], dtype=np.float32)}
    values = {k: (v.reshape(per) if v.ndim else v) for k, v in values.items()}
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if node.op_type == "Gemm":
        if (attrs.get("transA", 0), attrs.get("transB", 0)) != (0, 1) or \
                attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
            raise ValueError(f"{name}: a Gemm other than x @ W.T + b ({attrs})")
    elif node.op_type not in ("Conv", "MatMul"):   # MatMul: the transposed weight, no bias
        raise ValueError(f"{name}: its weight feeds a {node.op_type} node; expected Conv, "
                         f"Gemm or MatMul")

    def const(suffix, array):
        tensor = numpy_helper.from_array(np.asarray(array, dtype=np.float32),
                                         f"{name}.{suffix}")
        graph.initializer.append(tensor)
        return tensor.name

    nodes, outs = [], []
    # A sign without codes has no branch; a layer without codes keeps one, of zeros.
    branches = [(sign, tag) for sign, tag in ((+1, "plus"), (-1, "minus"))
                if (codes == sign).any()]
    for sign, tag in branches or [(+1, "plus")]:
        weight = values[sign] * (codes == sign)
        # A zero scale (a channel whose value is 0: its weights are 0) would divide by 0.
        scale = np.where(values[sign] == 0, np.float32(1), np.abs(values[sign]))
        if node.op_type != "Conv":
            weight = weight.T
            scale = scale.T if np.ndim(scale) else scale
        q_out = f"{name}.weight_{tag}_quant"
        nodes.append(helper.make_node(
            "Quant", [const(f"weight_{tag}", weight), const(f"scale_{tag}", scale),
                      const(f"zeropt_{tag}", 0.0), const(f"bitwidth_{tag}", 2.0)],
            [q_out], domain=QUANT_DOMAIN, signed=1, narrow=1, rounding_mode="ROUND"))
        out = f"{name}.{tag}"
        if node.op_type == "Conv":
            nodes.append(helper.make_node("Conv", [node.input[0], q_out], [out], **attrs))
        else:
            nodes.append(helper.make_node("MatMul", [node.input[0], q_out], [out]))
        outs.append(out)
    total = outs[0]
    if len(outs) == 2:
        total = f"{name}.sum"
        nodes.append(helper.make_node("Add", outs, [total]))
    has_bias = node.op_type != "MatMul" and len(node.input) > 2 and node.input[2]
    if has_bias:
        bias = np.asarray(layer["bias"], dtype=np.float32)
        if node.op_type == "Conv":
            bias = bias.reshape([1, -1] + [1] * (codes.ndim - 2))
        nodes.append(helper.make_node("Add", [total, const("bias_add", bias)],
                                      [node.output[0]]))
    else:
        # The last node (a branch, or their sum) gives the layer's output.
        nodes[-1].output[0] = node.output[0]
    return nodes


def run_qonnx(proto, inputs):
    """``inputs`` (``[N, *sample_shape]``) through ``proto`` with qonnx's executor, one
    sample at a time; the outputs stacked, ``[N, ...]``."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    wrapped = ModelWrapper(proto)
    inputs = np.asarray(inputs, dtype=np.float32)
    return np.stack([execute_onnx(wrapped, {INPUT_NAME: x[None]})[OUTPUT_NAME][0]
                     for x in inputs])


def check_export(model, proto, inputs):
    """The largest ``|PyTorch - QONNX|`` over the outputs of ``inputs``, and the largest
    ``|PyTorch|`` (for a relative tolerance)."""
    import torch

    with torch.no_grad():
        want = model(torch.as_tensor(np.asarray(inputs, dtype=np.float32))).numpy()
    got = run_qonnx(proto, inputs)
    return float(np.abs(want - got).max()), float(np.abs(want).max())
