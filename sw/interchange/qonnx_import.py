"""A QONNX model as a PyTorch chain the compiler takes, its ternary layers recognised.

:func:`read_qonnx` walks the graph in order and rebuilds it as named PyTorch modules
(``Conv1d``/``Conv2d``/``Linear``, batch norm, ReLU/LeakyReLU, max pooling, flatten, a final
(log-)softmax): the chain that :func:`sw.compiler.compile_model` lowers. A weight that
comes out of a ``Quant`` node (or ``BipolarQuant``) is evaluated with qonnx's own
quantizer; the layer is ternary when its weight takes, per tensor or per output channel,
one positive value, one negative value and zero, as a 2-bit signed narrow-range ``Quant``
gives (Brevitas's ternary weights: ``±scale``) or as the two branches that
:func:`sw.interchange.export_qonnx` writes add up to (``w_r``, ``w_l``). Any other weight
is a full-precision layer, which the compiler quantizes to int8.

Supported: ``Constant``; ``Quant``, ``BipolarQuant``, ``Transpose``, ``Identity`` and
``Reshape`` on constants; ``Conv`` (group 1), ``Gemm`` (``x @ W.T + b``), ``MatMul`` on a
constant; ``Add`` of two layers on the same input (branches) or of a constant (bias);
``Mul`` by a positive constant per tensor or per output channel; ``BatchNormalization``,
``Relu``, ``LeakyRelu``, ``MaxPool``, ``Flatten``, a ``Reshape`` to ``[N, features]``,
``Dropout``, ``Identity``, ``Softmax``, ``LogSoftmax``. Anything else is refused, naming
the node and its operator.
"""

import collections
import dataclasses

import numpy as np

from ..errors import InputError

__all__ = ["read_qonnx", "QonnxModel"]


@dataclasses.dataclass
class QonnxModel:
    """What :func:`read_qonnx` gives the compiler.

    Attributes
    ----------
    model : torch.nn.Module
        The chain, in eval mode, with ``sample_shape`` (one input's shape, without the
        batch).
    records : dict
        ``{layer name: {"codes", "w_r", "w_l", "bias"}}`` of its ternary layers
        (docs/model-format.md, ``quantized_layers``).
    """
    model: object
    records: dict


@dataclasses.dataclass
class _Weight:
    """A constant weight: its value, and its quantizer's scale when it has one."""
    value: np.ndarray
    quant: bool = False
    origin: str = ""       # the initializer it comes from, for the layer's name


@dataclasses.dataclass
class _Layer:
    """A Conv or linear layer still open to branches, a bias or a scale."""
    kind: str              # conv1d, conv2d or linear
    source: str            # the activation it reads
    attrs: dict
    weight: np.ndarray     # PyTorch's order ([out, in, ...]; linear [out, in])
    bias: np.ndarray
    quant: bool            # every part came out of a quantizer
    node: str              # the first node's name, for messages
    origin: str            # its weight's initializer


def read_qonnx(path):
    """Read the QONNX file ``path`` (InputError naming the node and operator of anything
    the engine's compiler cannot take; nothing is written).

    Returns
    -------
    QonnxModel
    """
    import onnx
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.infer_shapes import InferShapes

    try:
        proto = onnx.load(str(path))
    except Exception as exc:        # onnx raises DecodeError, OSError and others
        raise InputError(f"{path}: not an ONNX file ({type(exc).__name__}: {exc})") from None
    wrapped = ModelWrapper(proto)
    try:
        wrapped = wrapped.transform(InferShapes())
    except Exception as exc:
        raise InputError(f"{path}: qonnx cannot infer its tensor shapes ({exc})") from None
    graph = wrapped.graph
    consts = {init.name: onnx.numpy_helper.to_array(init).astype(np.float64)
              for init in graph.initializer}
    inputs = [i for i in graph.input if i.name not in consts]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise InputError(f"{path}: expected one input and one output, got "
                         f"{[i.name for i in inputs]} and {[o.name for o in graph.output]}")
    shape = wrapped.get_tensor_shape(inputs[0].name)
    if not shape or shape[0] != 1 or any(not isinstance(d, int) or d < 1 for d in shape):
        raise InputError(f"{path}: input {inputs[0].name!r}: expected a shape [1, ...] of "
                         f"known sizes, got {shape}")
    return _Reader(path, consts, inputs[0].name, graph.output[0].name).run(
        graph.node, tuple(shape[1:]))


class _Reader:
    def __init__(self, path, consts, input_name, output_name):
        self.path = path
        self.values = {name: _Weight(value, origin=name) for name, value in consts.items()}
        self.output = output_name
        self.act = input_name          # the one activation the chain carries
        self.modules = collections.OrderedDict()
        self.records = {}
        self.counts = collections.Counter()
        self.last_kind = None           # of the last layer closed, for batch norm's rank

    def refuse(self, node, why):
        raise InputError(f"{self.path}: node {node.name or '(unnamed)'!r} ({node.op_type}): "
                         f"{why}; nothing written")

    def run(self, nodes, sample_shape):
        import torch
        from torch import nn

        for node in nodes:
            self.step(node)
        if isinstance(self.values.get(self.output), _Layer):
            self.close(self.output)
        if self.act != self.output:
            raise InputError(f"{self.path}: the output {self.output!r} is not the end of the "
                             f"chain of layers (it ends at {self.act!r})")
        model = nn.Sequential(self.modules).eval()
        model.sample_shape = sample_shape
        with torch.no_grad():
            model(torch.zeros(1, *sample_shape))
        return QonnxModel(model, self.records)

    # -- the nodes --------------------------------------------------------------------------

    def step(self, node):
        op = node.op_type
        attrs = _attrs(node)
        ins = list(node.input)
        if op == "Constant":
            from onnx import numpy_helper
            if "value" not in attrs:
                self.refuse(node, "a Constant without a tensor value")
            self.values[node.output[0]] = _Weight(
                numpy_helper.to_array(attrs["value"]).astype(np.float64),
                origin=node.output[0])
            return
        if not ins:
            self.refuse(node, "an operator without inputs")
        if all(i in self.values and isinstance(self.values[i], _Weight)
                       for i in ins if i):
            return self.constant(node, attrs)
        if op in ("Conv", "Gemm", "MatMul"):
            return self.layer(node, attrs)
        if op == "Add":
            return self.add(node)
        if op == "Mul":
            return self.mul(node)
        if op in ("Identity", "Dropout"):
            return self.alias(node, ins[0])
        # Every other operator takes the chain's activation: a layer still open is closed.
        source = ins[0]
        if isinstance(self.values.get(source), _Layer):
            self.close(source)
        if source != self.act:
            self.refuse(node, f"takes {source!r}, not the chain's activation {self.act!r}")
        module = self.module(node, attrs)
        tag = _MODULE_NAMES[op]
        self.counts[tag] += 1
        self.modules[f"{tag}{self.counts[tag]}"] = module
        self.act = node.output[0]

    def constant(self, node, attrs):
        from qonnx.custom_op.general.quant import quant

        op, ins = node.op_type, [self.values[i].value if i else None for i in node.input]
        origin = self.values[node.input[0]].origin
        if op == "Quant":
            x, scale, zeropt, bits = ins
            if np.any(zeropt != 0):
                self.refuse(node, "a zero point other than 0")
            value = quant(x, scale, zeropt, bits, attrs.get("signed", 1),
                          attrs.get("narrow", 0), attrs.get("rounding_mode", "ROUND"))
            result = _Weight(np.asarray(value, dtype=np.float64), True, origin)
        elif op == "BipolarQuant":
            x, scale = ins
            result = _Weight(np.where(x >= 0, 1.0, -1.0) * scale, True, origin)
        elif op == "Transpose":
            perm = attrs.get("perm")
            result = _Weight(np.transpose(ins[0], perm), self.values[node.input[0]].quant,
                             origin)
        elif op in ("Identity", "Dropout"):
            result = self.values[node.input[0]]
        elif op == "Reshape":
            result = _Weight(ins[0].reshape(ins[1].astype(np.int64)),
                             self.values[node.input[0]].quant, origin)
        else:
            self.refuse(node, "an operator on constants that the compiler does not evaluate")
        self.values[node.output[0]] = result

    def layer(self, node, attrs):
        op, ins = node.op_type, list(node.input)
        source = ins[0]
        if source != self.act:
            self.refuse(node, f"takes {source!r}, not the chain's activation {self.act!r}")
        weight = self.values.get(ins[1])
        if not isinstance(weight, _Weight):
            self.refuse(node, "its weight is not a constant")
        w = weight.value
        bias = self.values[ins[2]].value if len(ins) > 2 and ins[2] else None
        if op == "Conv":
            if attrs.get("group", 1) != 1:
                self.refuse(node, f"group {attrs['group']}: the engine has no grouped "
                                  f"convolution")
            if any(d != 1 for d in attrs.get("dilations", [1])):
                self.refuse(node, f"dilations {attrs['dilations']}: the engine has none")
            if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", b"NOTSET"):
                self.refuse(node, f"auto_pad {attrs['auto_pad']!r}: give pads instead")
            kind = {3: "conv1d", 4: "conv2d"}.get(w.ndim)
            if kind is None:
                self.refuse(node, f"a {w.ndim}-d weight; expected Conv1d or Conv2d")
        elif op == "Gemm":
            if (attrs.get("transA", 0), attrs.get("alpha", 1.0), attrs.get("beta", 1.0)) \
                    != (0, 1.0, 1.0):
                self.refuse(node, "a Gemm other than x @ W.T + b or x @ W + b")
            kind = "linear"
            w = w if attrs.get("transB", 0) else w.T
        else:
            kind, w = "linear", w.T
        if bias is None:
            bias = np.zeros(w.shape[0])
        self.values[node.output[0]] = _Layer(kind, source, attrs, w, bias.reshape(-1).copy(),
                                             weight.quant, node.name, weight.origin)

    def add(self, node):
        a, b = (self.values.get(i) for i in node.input)
        if isinstance(a, _Weight) and isinstance(b, _Layer):
            a, b = b, a
        if isinstance(a, _Layer) and isinstance(b, _Layer):
            if a.source != b.source or a.kind != b.kind or a.weight.shape != b.weight.shape \
                    or a.attrs != b.attrs:
                self.refuse(node, "adds two layers that are not branches of one layer (the "
                                  "same input, kernel and attributes)")
            merged = dataclasses.replace(a, weight=a.weight + b.weight, bias=a.bias + b.bias,
                                         quant=a.quant and b.quant)
            self.values[node.output[0]] = merged
        elif isinstance(a, _Layer) and isinstance(b, _Weight):
            bias = b.value
            # One value, or one per output channel along a single axis.
            if bias.size not in (1, a.weight.shape[0]) or sum(d > 1 for d in bias.shape) > 1:
                self.refuse(node, f"a constant of shape {bias.shape} added to a layer of "
                                  f"{a.weight.shape[0]} outputs; expected a bias")
            self.values[node.output[0]] = dataclasses.replace(
                a, bias=a.bias + np.broadcast_to(bias.reshape(-1), a.bias.shape))
        else:
            self.refuse(node, "an Add other than a layer's branches or its bias (the engine "
                              "has no residual connection)")

    def mul(self, node):
        a, b = (self.values.get(i) for i in node.input)
        if isinstance(a, _Weight) and isinstance(b, _Layer):
            a, b = b, a
        if not (isinstance(a, _Layer) and isinstance(b, _Weight)):
            self.refuse(node, "a Mul other than a layer's output scale")
        c = b.value.reshape(-1)
        if c.size not in (1, a.weight.shape[0]) or np.any(c <= 0):
            self.refuse(node, f"a scale of shape {b.value.shape} (positive, per tensor or "
                              f"per output channel, expected)")
        c = np.broadcast_to(c, a.bias.shape)
        self.values[node.output[0]] = dataclasses.replace(
            a, weight=a.weight * c.reshape((-1,) + (1,) * (a.weight.ndim - 1)),
            bias=a.bias * c)

    def alias(self, node, source):
        value = self.values.get(source)
        if value is not None:
            self.values[node.output[0]] = value
        if source == self.act:
            self.act = node.output[0]

    # -- closing a layer into modules ---------------------------------------------------------

    def close(self, name):
        import torch
        from torch import nn

        layer = self.values.pop(name)
        if layer.source != self.act:
            raise InputError(f"{self.path}: node {layer.node!r}: takes {layer.source!r}, not "
                             f"the chain's activation {self.act!r}; nothing written")
        w = layer.weight
        out_ch, in_ch = w.shape[:2]
        if layer.kind == "linear":
            module = nn.Linear(in_ch, out_ch)
        else:
            pads = list(layer.attrs.get("pads", [0] * (2 * (w.ndim - 2))))
            half = len(pads) // 2
            if pads[:half] != pads[half:]:
                raise InputError(f"{self.path}: node {layer.node!r}: pads {pads}: the engine "
                                 f"pads both sides alike; nothing written")
            strides = tuple(layer.attrs.get("strides", [1] * (w.ndim - 2)))
            cls = nn.Conv1d if layer.kind == "conv1d" else nn.Conv2d
            module = cls(in_ch, out_ch, tuple(w.shape[2:]), stride=strides,
                         padding=tuple(pads[:half]))
        record = _ternary(w) if layer.quant else None
        if record is not None:
            w = record.pop("weight")    # exactly what the codes and scales say
        with torch.no_grad():
            module.weight.copy_(torch.as_tensor(w, dtype=torch.float32))
            module.bias.copy_(torch.as_tensor(layer.bias, dtype=torch.float32))
        tag = "fc" if layer.kind == "linear" else "conv"
        self.counts[tag] += 1
        # The name the weight's initializer gives (PyTorch's, Brevitas's and our export's
        # ``NAME.weight``), else conv1, fc1, ...
        module_name = layer.origin.split(".weight")[0] if ".weight" in layer.origin else ""
        if not module_name.isidentifier() or module_name in self.modules:
            module_name = f"{tag}{self.counts[tag]}"
        self.modules[module_name] = module
        self.last_kind = layer.kind
        if record is not None:
            record["bias"] = module.bias.detach().clone()
            self.records[module_name] = record
        self.act = name

    def module(self, node, attrs):
        from torch import nn

        op = node.op_type
        if op == "Relu":
            return nn.ReLU()
        if op == "LeakyRelu":
            return nn.LeakyReLU(attrs.get("alpha", 0.01))
        if op == "BatchNormalization":
            scale, bias, mean, var = (self.values[i].value for i in node.input[1:5])
            import torch
            bn = (nn.BatchNorm2d if self.last_kind == "conv2d" else nn.BatchNorm1d)(
                len(scale), eps=attrs.get("epsilon", 1e-5))
            with torch.no_grad():
                for p, v in ((bn.weight, scale), (bn.bias, bias), (bn.running_mean, mean),
                             (bn.running_var, var)):
                    p.copy_(torch.as_tensor(v, dtype=torch.float32))
            return bn.eval()
        if op == "MaxPool":
            kernel = tuple(attrs["kernel_shape"])
            pads = list(attrs.get("pads", [0] * 2 * len(kernel)))
            if attrs.get("ceil_mode", 0) or any(pads) or \
                    any(d != 1 for d in attrs.get("dilations", [1])):
                self.refuse(node, "pooling with padding, dilation or ceil_mode")
            strides = tuple(attrs.get("strides", kernel))
            cls = nn.MaxPool1d if len(kernel) == 1 else nn.MaxPool2d
            return cls(kernel, strides)
        if op == "Flatten":
            if attrs.get("axis", 1) != 1:
                self.refuse(node, f"axis {attrs['axis']}: expected 1")
            return nn.Flatten()
        if op == "Reshape":
            # To two dimensions (batch, features): a flatten of the channel-major map.
            target = self.values.get(node.input[1])
            if not isinstance(target, _Weight) or target.value.size != 2:
                self.refuse(node, "a Reshape other than a flatten to [N, features]")
            return nn.Flatten()
        if op in ("Softmax", "LogSoftmax"):
            if attrs.get("axis", -1) not in (-1, 1):
                self.refuse(node, f"axis {attrs['axis']}: expected the class axis")
            return (nn.Softmax if op == "Softmax" else nn.LogSoftmax)(dim=1)
        self.refuse(node, "an operator the engine's compiler does not have")

#: The modules' names in the chain, by operator (layers: conv and fc, numbered).
_MODULE_NAMES = {"Relu": "relu", "LeakyRelu": "lrelu", "BatchNormalization": "bn",
                 "MaxPool": "pool", "Flatten": "flatten", "Reshape": "flatten",
                 "Softmax": "softmax", "LogSoftmax": "logsoftmax"}


def _attrs(node):
    from onnx import helper
    out = {}
    for a in node.attribute:
        value = helper.get_attribute_value(a)
        out[a.name] = value.decode() if isinstance(value, bytes) else value
    return out


def _ternary(weight):
    """The ternary record of a quantized weight (with ``weight``: the float32 weight its
    codes and scales give), or None when it is not ternary: per tensor or per output
    channel, one positive value, one negative value and zeros."""
    import torch

    w = np.asarray(weight, dtype=np.float64)
    rows = w.reshape(len(w), -1)
    values = [(np.unique(r[r > 0]), np.unique(r[r < 0])) for r in rows]
    # Branches added in float may differ in the last bits: values within a relative 1e-6
    # are one value.
    if any(len(v) and np.ptp(v) > 1e-6 * np.abs(v).max() for pair in values for v in pair):
        return None
    r = np.array([p.mean() if len(p) else 0.0 for p, _ in values])
    l = np.array([n.mean() if len(n) else 0.0 for _, n in values])
    codes = np.sign(rows).astype(np.int8).reshape(w.shape)
    per = (-1,) + (1,) * (w.ndim - 1)

    def scale(v, present):
        # One value per tensor where every channel that has one agrees, as a saved model
        # records it; else one per channel.
        used = v[present]
        if not len(used):
            return 0.0
        if np.allclose(used, used[0], rtol=1e-6, atol=0):
            return float(used[0])
        return [float(x) for x in v]

    w_r = scale(r, np.array([len(p) > 0 for p, _ in values]))
    w_l = scale(l, np.array([len(n) > 0 for _, n in values]))
    rebuilt = (np.asarray(w_r, dtype=np.float32).reshape(per if np.ndim(w_r) else ())
               * (codes == 1) + np.asarray(w_l, dtype=np.float32).reshape(
                   per if np.ndim(w_l) else ()) * (codes == -1))
    return {"codes": torch.as_tensor(codes), "w_r": w_r, "w_l": w_l, "weight": rebuilt}
