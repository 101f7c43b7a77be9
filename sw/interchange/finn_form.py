"""An exported model in the form FINN's flow converts: its cost twin, for FINN's estimates.

FINN (finn-plus 1.6.1) turns a QONNX graph into its dataflow layers only when every
weight is one ``Quant`` before a ``Conv``, ``Gemm`` or ``MatMul``, every activation is an
unsigned ``Quant`` after a ``Relu``, and a ``MaxPool`` takes quantized input
(scripts/finn_estimate.py says what fails otherwise). :func:`sw.interchange.qonnx_export`
writes what the model computes, which FINN does not take as it stands:

* a ternary layer is two branches, one per sign, each with its own scale (``w_r``,
  ``|w_l|``). FINN's streamlining leaves the activation scale before their fork, so their
  inputs stay float. Here the branches become one layer with the codes and one scale per
  output channel, the mean of the two: the same shape, the same 2-bit codes, the same
  zeros, and other values;
* the layers the program runs dense (int8 weights on the lanes' multipliers, where the
  model keeps float weights) get an 8-bit signed narrow-range ``Quant``;
* activations are float. Here each ``Relu`` gets an unsigned ``act_bits`` ``Quant`` whose
  scale covers the largest value on the calibration inputs; a ``LeakyRelu`` becomes a
  ``Relu`` first (FINN does not convert it), and a ``MaxPool`` straight before a ``Relu``
  moves after it (both orders give the same values, and FINN pools only quantized data);
* the input: the engine takes int8 codes from the host, so the graph does too. Its input
  is marked ``INT8`` and multiplied by the input scale first, which FINN's streamlining
  moves into the first layer.

FINN's estimates depend on the layers' shapes, bit widths and folding, not on the weights'
values, so the twin costs what the model would; it does not compute what the model
computes, and nothing here compares their outputs.
"""

import numpy as np

from .qonnx_export import INPUT_NAME, QUANT_DOMAIN

__all__ = ["finn_form"]

#: The bit width of a dense layer's weights on the engine (int8 on the lanes' multipliers).
DENSE_WEIGHT_BITS = 8


def finn_form(proto, calibration, *, act_bits=8):
    """FINN's form of ``proto`` (an export by :func:`~sw.interchange.export_qonnx`).

    Parameters
    ----------
    proto : onnx.ModelProto
        Not changed.
    calibration : numpy.ndarray
        Inputs ``[N, *sample_shape]`` (as the model takes them) for the activations'
        scales and the input's.
    act_bits : int
        Bits of each activation after a ``Relu`` (unsigned).

    Returns
    -------
    onnx.ModelProto
        Its input takes int8 codes: ``round(x / input_scale)``.
    """
    import onnx
    from qonnx.core.datatype import DataType
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.general import GiveUniqueNodeNames
    from qonnx.transformation.infer_shapes import InferShapes

    proto = onnx.ModelProto.FromString(proto.SerializeToString())
    graph = proto.graph
    # The nodes as a list of their own (a repeated field copies what it takes in), put
    # back into the graph by _set_nodes.
    nodes = [onnx.NodeProto.FromString(n.SerializeToString()) for n in graph.node]
    nodes = _merge_branches(graph, nodes)
    nodes = _quantize_dense_weights(graph, nodes)
    for node in nodes:
        if node.op_type == "LeakyRelu":
            node.op_type = "Relu"
            del node.attribute[:]
    nodes = _relu_before_pool(nodes)
    _set_nodes(graph, nodes)
    calibration = np.asarray(calibration, dtype=np.float32)
    relus = [n.output[0] for n in nodes if n.op_type == "Relu"]
    relu_max = _largest_values(proto, calibration, relus)
    for tensor in relus:
        top = relu_max[tensor]
        scale = (top if top > 0 else 1.0) / (2 ** act_bits - 1)
        nodes = _quant_after(graph, nodes, tensor, scale, act_bits, signed=0, narrow=0)
    in_top = float(np.abs(calibration).max())
    in_scale = (in_top if in_top > 0 else 1.0) / 127
    codes = f"{INPUT_NAME}.scaled"
    for node in nodes:
        for i, name in enumerate(node.input):
            if name == INPUT_NAME:
                node.input[i] = codes
    nodes.insert(0, onnx.helper.make_node(
        "Mul", [INPUT_NAME, _const(graph, "input_scale", np.float32(in_scale))], [codes]))
    _set_nodes(graph, nodes)
    _prune_initializers(graph)
    model = ModelWrapper(proto)
    model.set_tensor_datatype(INPUT_NAME, DataType["INT8"])
    model = model.transform(InferShapes()).transform(GiveUniqueNodeNames())
    model.set_metadata_prop("attq_input_scale", repr(in_scale))
    return model.model


def _const(graph, name, array):
    from onnx import numpy_helper
    base, k = name, 0
    names = {i.name for i in graph.initializer}
    while name in names:
        k += 1
        name = f"{base}_{k}"
    graph.initializer.append(numpy_helper.from_array(np.asarray(array, dtype=np.float32),
                                                     name))
    return name


def _inits(graph):
    from onnx import numpy_helper
    return {i.name: numpy_helper.to_array(i) for i in graph.initializer}


def _producers(nodes):
    return {out: node for node in nodes for out in node.output}


def _set_nodes(graph, nodes):
    """``nodes`` into ``graph``, without the shapes of the nodes before (tensors may
    have moved: qonnx's InferShapes works them out again)."""
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.value_info[:]


def _quant_codes(node, inits):
    """The integer codes and the scale of a weight ``Quant`` node on initializers."""
    x, scale = inits[node.input[0]], inits[node.input[1]]
    return np.round(x / scale), scale


def _merge_branches(graph, nodes):
    """Each ``Add`` of two branches (a Conv or MatMul each, on one input, each weight a
    ``Quant``) becomes one layer: the codes summed, one scale per channel, the mean."""
    from onnx import helper
    inits = _inits(graph)
    made = _producers(nodes)
    drop = set()
    for add in [n for n in nodes if n.op_type == "Add"]:
        branches = [made.get(i) for i in add.input]
        if not all(b is not None and b.op_type in ("Conv", "MatMul") for b in branches):
            continue
        quants = [made.get(b.input[1]) for b in branches]
        if (branches[0].input[0] != branches[1].input[0]
                or not all(q is not None and q.op_type == "Quant" for q in quants)):
            continue
        (c0, s0), (c1, s1) = (_quant_codes(q, inits) for q in quants)
        codes, scale = c0 + c1, (s0 + s1) / 2
        name = quants[0].input[0].rsplit("_", 1)[0]
        q_out = f"{name}_quant"
        keep = branches[0]
        new_quant = helper.make_node(
            "Quant", [_const(graph, f"{name}_codes", codes * scale),
                      _const(graph, f"{name}_scale", scale), quants[0].input[2],
                      quants[0].input[3]],
            [q_out], domain=QUANT_DOMAIN, signed=1, narrow=1, rounding_mode="ROUND")
        keep.input[1] = q_out
        keep.output[0] = add.output[0]
        nodes.insert(_index(nodes, keep), new_quant)
        drop.update(id(n) for n in (add, branches[1], *quants))
    return [n for n in nodes if id(n) not in drop]


def _index(nodes, node):
    return next(i for i, n in enumerate(nodes) if n is node)


def _quantize_dense_weights(graph, nodes):
    """A float weight initializer of a Conv, Gemm or MatMul gets an 8-bit ``Quant``."""
    from onnx import helper
    inits = _inits(graph)
    nodes = list(nodes)
    for node in list(nodes):
        if node.op_type not in ("Conv", "Gemm", "MatMul") or node.input[1] not in inits:
            continue
        w = inits[node.input[1]]
        top = 2 ** (DENSE_WEIGHT_BITS - 1) - 1
        scale = np.float32(np.abs(w).max() / top if np.abs(w).max() > 0 else 1.0)
        q_out = f"{node.input[1]}_quant"
        nodes.insert(_index(nodes, node), helper.make_node(
            "Quant", [node.input[1], _const(graph, f"{node.input[1]}_scale", scale),
                      _const(graph, f"{node.input[1]}_zeropt", 0.0),
                      _const(graph, f"{node.input[1]}_bitwidth", DENSE_WEIGHT_BITS)],
            [q_out], domain=QUANT_DOMAIN, signed=1, narrow=1, rounding_mode="ROUND"))
        node.input[1] = q_out
    return nodes


def _relu_before_pool(nodes):
    """``MaxPool -> Relu`` (the MaxPool's output read by the Relu only) becomes
    ``Relu -> MaxPool``."""
    nodes = list(nodes)
    readers = {}
    for node in nodes:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    for pool in [n for n in nodes if n.op_type == "MaxPool"]:
        users = readers.get(pool.output[0], [])
        if len(users) != 1 or users[0].op_type != "Relu":
            continue
        relu = users[0]
        x, y = pool.input[0], relu.output[0]
        relu.input[0], relu.output[0] = x, pool.output[0]
        pool.input[0], pool.output[0] = pool.output[0], y
        i, j = _index(nodes, pool), _index(nodes, relu)
        nodes[i], nodes[j] = nodes[j], nodes[i]
    return nodes


def _quant_after(graph, nodes, tensor, scale, bits, *, signed, narrow):
    """``Quant`` on ``tensor``; its readers read the quantized tensor."""
    from onnx import helper
    q_out = f"{tensor}_quant"
    nodes = list(nodes)
    for node in nodes:
        for i, name in enumerate(node.input):
            if name == tensor:
                node.input[i] = q_out
    for out in graph.output:
        if out.name == tensor:
            raise ValueError(f"{tensor}: a Relu gives the graph's output; FINN's form "
                             f"needs a layer after it")
    producer = _producers(nodes)[tensor]
    nodes.insert(_index(nodes, producer) + 1, helper.make_node(
        "Quant", [tensor, _const(graph, f"{tensor}_act_scale", np.float32(scale)),
                  _const(graph, f"{tensor}_act_zeropt", 0.0),
                  _const(graph, f"{tensor}_act_bitwidth", bits)],
        [q_out], domain=QUANT_DOMAIN, signed=signed, narrow=narrow, rounding_mode="ROUND"))
    return nodes


def _largest_values(proto, inputs, tensors):
    """The largest value of each of ``tensors`` over ``inputs``, with qonnx's executor."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes
    model = ModelWrapper(proto).transform(InferShapes())
    top = {t: 0.0 for t in tensors}
    for x in inputs:
        ctx = execute_onnx(model, {INPUT_NAME: x[None]}, return_full_exec_context=True)
        for t in tensors:
            top[t] = max(top[t], float(np.max(ctx[t])))
    return top


def _prune_initializers(graph):
    used = {i for node in graph.node for i in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
