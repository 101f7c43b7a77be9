"""Read a PyTorch model as a chain of engine stages (layer, batch norm, activation, pooling).

The model is traced with :mod:`torch.fx`; the traced graph must be a chain (each operation
takes the previous one's output). Each Conv1d, Conv2d or Linear starts a :class:`Stage`;
the BatchNorm, ReLU/LeakyReLU and MaxPool that follow it join that stage (they become the
epilogue and the pooling of one engine layer); dropout, identity and flatten are dropped
(inference no-ops; flatten of a channel-major map is a no-op in memory); a final softmax or
log-softmax becomes a host op. Anything else is refused with the operation's name.
"""

import dataclasses
import operator

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from ..errors import InputError
from ..spec import ActMode

__all__ = ["Stage", "extract_stages", "stage_forward"]

_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Linear)
_NOOP_MODULES = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
                 nn.Identity, nn.Flatten)
_NOOP_FUNCS = {F.dropout, F.dropout1d, F.dropout2d, torch.flatten}
_NOOP_METHODS = {"flatten", "view", "reshape", "contiguous"}


@dataclasses.dataclass
class Stage:
    """One engine layer as PyTorch computes it: layer -> [bn] -> act -> [pool] (any order of
    act and pool: they commute)."""

    name: str
    layer: nn.Module
    bn: nn.Module = None
    act: ActMode = ActMode.NONE
    slope: float = 0.0
    pool: tuple = (1, 1)

    @property
    def kind(self):
        for t, name in ((nn.Conv1d, "conv1d"), (nn.Conv2d, "conv2d"), (nn.Linear, "linear")):
            if isinstance(self.layer, t):
                return name
        raise TypeError(f"{type(self.layer).__name__} is not an engine layer")


class _Tracer(torch.fx.Tracer):
    def is_leaf_module(self, m, qualname):
        # Parametrized layers (quantizers) are leaves: their weight is read as a whole.
        if isinstance(m, _LAYERS) or parametrize.is_parametrized(m):
            return True
        return super().is_leaf_module(m, qualname)


def _pool_of(where, kernel, stride, padding, dilation, ceil_mode, dims):
    def pair(v, fill=1):
        v = (v,) * dims if isinstance(v, int) else tuple(v)
        return (fill,) + v if dims == 1 else v
    k = pair(kernel)
    s = k if stride is None or stride == [] or stride == () else pair(stride)
    if s != k or any(pair(padding, 0)) or set(pair(dilation)) != {1} or ceil_mode:
        raise InputError(f"{where}: max pooling must have stride = window, no padding, no "
                         f"dilation and floor mode (the engine's pooling); got kernel {k}, "
                         f"stride {s}, padding {padding}, dilation {dilation}, "
                         f"ceil_mode {ceil_mode}")
    return k


def extract_stages(model, example):
    """Trace ``model`` and return ``(stages, tail)``.

    Parameters
    ----------
    model : torch.nn.Module
    example : torch.Tensor
        One input batch (used to check the chain against the model's own forward).

    Returns
    -------
    stages : list of Stage
    tail : list of str
        Host ops after the last stage: "softmax" / "log_softmax".
    """
    try:
        graph = _Tracer().trace(model)
    except Exception as exc:  # noqa: BLE001 - report any tracing failure as unsupported
        raise InputError(f"model {type(model).__name__}: cannot be traced into a chain of "
                         f"engine layers ({type(exc).__name__}: {exc})") from None
    modules = dict(model.named_modules())
    stages, tail = [], []
    prev = None
    for node in graph.nodes:
        if node.op == "placeholder":
            if prev is not None:
                raise InputError("model: more than one input")
            prev = node
            continue
        if node.op == "get_attr":
            raise InputError(f"model: operation {node.target!r} reads a parameter directly; "
                             f"only chains of layers are compiled")
        if node.op == "output":
            break
        args = [a for a in node.args if isinstance(a, torch.fx.Node)]
        if not args or args[0] is not prev or len(args) > 1:
            raise InputError(f"model: operation {node.name!r} does not take the previous "
                             f"operation's output alone; only chains of layers are compiled")
        where = f"model operation {node.name!r}"
        cur = stages[-1] if stages else None
        fixed = None  # ("act", mode, slope) / ("pool", k) / ("bn", m) / ("layer", m, name)
        if node.op == "call_module":
            m = modules[node.target]
            if isinstance(m, _LAYERS):
                fixed = ("layer", m, node.target)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                fixed = ("bn", m)
            elif isinstance(m, nn.ReLU):
                fixed = ("act", ActMode.RELU, 0.0)
            elif isinstance(m, nn.LeakyReLU):
                fixed = ("act", ActMode.LEAKY, float(m.negative_slope))
            elif isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)):
                dims = 1 if isinstance(m, nn.MaxPool1d) else 2
                fixed = ("pool", _pool_of(where, m.kernel_size, m.stride, m.padding,
                                          m.dilation, m.ceil_mode, dims))
            elif isinstance(m, _NOOP_MODULES):
                fixed = ("noop",)
            elif isinstance(m, (nn.Softmax, nn.LogSoftmax)):
                fixed = ("tail", "softmax" if isinstance(m, nn.Softmax) else "log_softmax",
                         m.dim)
            else:
                raise InputError(f"{where}: module {type(m).__name__} has no engine or host "
                                 f"equivalent")
        elif node.op == "call_function":
            fn, kw = node.target, dict(node.kwargs)
            pos = list(node.args[1:])
            if fn in (F.relu, torch.relu):
                fixed = ("act", ActMode.RELU, 0.0)
            elif fn is F.leaky_relu:
                slope = pos[0] if pos else kw.get("negative_slope", 0.01)
                fixed = ("act", ActMode.LEAKY, float(slope))
            elif fn in (F.max_pool1d, F.max_pool2d):
                names = ["kernel_size", "stride", "padding", "dilation", "ceil_mode",
                         "return_indices"]
                p = dict(zip(names, pos))
                p.update(kw)
                if p.get("return_indices"):
                    raise InputError(f"{where}: max pooling with indices is not supported")
                fixed = ("pool", _pool_of(where, p["kernel_size"], p.get("stride"),
                                          p.get("padding", 0), p.get("dilation", 1),
                                          p.get("ceil_mode", False),
                                          1 if fn is F.max_pool1d else 2))
            elif fn in _NOOP_FUNCS:
                fixed = ("noop",)
            elif fn in (F.softmax, F.log_softmax, torch.softmax, torch.log_softmax):
                dim = pos[0] if pos else kw.get("dim")
                fixed = ("tail", "softmax" if fn in (F.softmax, torch.softmax)
                         else "log_softmax", dim)
            elif fn is operator.getitem:
                raise InputError(f"{where}: indexing is not supported")
            else:
                raise InputError(f"{where}: function {getattr(fn, '__name__', fn)} has no "
                                 f"engine or host equivalent")
        elif node.op == "call_method":
            if node.target in _NOOP_METHODS:
                fixed = ("noop",)
            elif node.target == "relu":
                fixed = ("act", ActMode.RELU, 0.0)
            else:
                raise InputError(f"{where}: method {node.target!r} has no engine or host "
                                 f"equivalent")
        prev = node
        what = fixed[0]
        if what == "noop":
            continue
        if tail and what != "tail":
            raise InputError(f"{where}: only softmax / log-softmax may follow a softmax")
        if what == "layer":
            stages.append(Stage(name=fixed[2], layer=fixed[1]))
            continue
        if cur is None:
            raise InputError(f"{where}: {what} before the first conv/linear layer is not "
                             f"supported")
        if what == "bn":
            if cur.bn is not None or cur.act is not ActMode.NONE or cur.pool != (1, 1):
                raise InputError(f"{where}: batch norm must follow its layer directly")
            cur.bn = fixed[1]
        elif what == "act":
            if cur.act is not ActMode.NONE:
                raise InputError(f"{where}: two activations in a row after {cur.name}")
            cur.act, cur.slope = fixed[1], fixed[2]
        elif what == "pool":
            if cur.pool != (1, 1):
                raise InputError(f"{where}: two poolings in a row after {cur.name}")
            cur.pool = fixed[1]
        elif what == "tail":
            if fixed[2] not in (-1, 1, None):
                raise InputError(f"{where}: softmax must run over the class axis")
            tail.append(fixed[1])
    if not stages:
        raise InputError(f"model {type(model).__name__}: no Conv1d, Conv2d or Linear layer")
    _check_chain(model, stages, tail, example)
    return stages, tail


def stage_forward(stage, x):
    """PyTorch's value of one stage (eval mode): layer, batch norm, activation, pooling."""
    m = stage.layer
    if isinstance(m, nn.Linear):
        x = x.flatten(1)
    y = m(x)
    if stage.bn is not None:
        y = stage.bn(y)
    if stage.pool != (1, 1):
        y = (F.max_pool1d(y, stage.pool[1]) if y.dim() == 3
             else F.max_pool2d(y, stage.pool))
    if stage.act is ActMode.RELU:
        y = F.relu(y)
    elif stage.act is ActMode.LEAKY:
        y = F.leaky_relu(y, stage.slope)
    return y


@torch.no_grad()
def _check_chain(model, stages, tail, example):
    """The stages, replayed in order, must give the model's own output."""
    was = model.training
    model.eval()
    try:
        want = model(example)
        y = example
        for s in stages:
            y = stage_forward(s, y)
        for t in tail:
            y = F.softmax(y, -1) if t == "softmax" else F.log_softmax(y, -1)
    finally:
        model.train(was)
    if y.shape != want.shape or not torch.allclose(y, want, rtol=1e-4, atol=1e-5):
        raise InputError(f"model {type(model).__name__}: its forward pass is not the chain "
                         f"of layers the compiler read ({[s.name for s in stages]}); it "
                         f"cannot be compiled")
