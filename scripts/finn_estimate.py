#!/usr/bin/env python3
"""FINN's own cost estimate of a quantized CNN given as QONNX: cycles and resources per layer.

Runs inside FINN's virtual environment (scripts/setup_finn_venv makes build/finn-venv):

    scripts/setup_finn_venv
    build/finn-venv/bin/python scripts/finn_estimate.py MODEL.onnx --out OUT.json \\
        [--target-cycles N | --lut-budget N] [--fpga-part xc7a35ticsg324-1L] [--clock-ns 10]

The model goes through FINN's own build steps: those of FINN's default flow
(``finn.builder.build_dataflow_config.default_build_dataflow_steps``) up to and including
``step_generate_estimate_reports``: QONNX to FINN, tidy up, streamline, convert to HW
layers, minimize bit widths, dataflow partition, specialize layers, folding, transpose
decomposition, estimate reports; plus FINN's own ``step_pre_streamline``
(``finn.builder.custom_step_library.conv1d``) before streamlining when the model has 1-D
convolutions. Each is called as FINN's builder calls it, ``step(model, cfg)`` with a
``DataflowBuildConfig`` whose ``generate_outputs`` is ``[ESTIMATE_REPORTS]``, and the
numbers are read from the reports that step writes. None of these steps needs Vivado or
Vitis. FINN's builder entry point (``build_dataflow_cfg``) is not used, because it ends by
reading ``XILINX_VIVADO`` and takes over sys.stdout; and FINN's step module imports the
Vivado XSI simulator binding when it loads, which is stubbed here (no step of this flow
simulates anything).

Folding: ``--target-cycles N`` is FINN's ``SetFolding(target_cycles_per_frame=N)`` (what
``step_target_fps_parallelization`` does for ``target_fps = clock / N``). ``--lut-budget
N`` searches the target cycles per frame (bisection) for the folding whose total LUT
estimate is closest to N without exceeding it; when even the smallest folding exceeds N it
takes that one and says so. Neither: fully folded (every PE and SIMD 1).

OUT.json (written atomically; nothing is written on an error) has FINN's version, the
part, the folding target, each HW layer (name, op type, PE/SIMD, estimated cycles, LUT,
BRAM_18K, URAM, DSP), the totals, the largest cycles of a layer (the initiation
interval), the critical-path latency of one frame (FINN's ``dataflow_performance``), the
steps that ran and those that did not, with the reason.

Exit status: 0 done, 1 a FINN step failed or a layer could not be mapped to FINN's HW
layers, 2 bad input or usage.
"""

import argparse
import contextlib
import copy
import importlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# The project's own argument types and atomic writes (standard library only, so they load
# in FINN's environment too).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sw.arguments import positive_float, positive_int  # noqa: E402
from sw.atomic import write_text  # noqa: E402

DEFAULT_PART = "xc7a35ticsg324-1L"
#: The FINN step after which folding starts: the steps before it run once, the rest once
#: per folding tried.
FOLDING_STEP = "step_target_fps_parallelization"
#: Op types that carry the network's arithmetic: left outside FINN's HW layers, the
#: estimate would silently miss a layer, so they are an error.
COMPUTE_OPS = {"Conv", "MatMul", "Gemm", "ConvTranspose", "MultiThreshold", "Quant",
               "BipolarQuant", "Trunc", "MaxPool", "MaxPoolNHWC", "AveragePool", "Im2Col",
               "XnorPopcountMatMul", "BatchNormalization", "Relu", "LeakyRelu"}
#: Op types that FINN's step_convert_to_hw converts in some form (when their inputs are
#: quantized), after streamlining.
CONVERTIBLE_OPS = {"MatMul", "Conv", "Gemm", "Im2Col", "MultiThreshold", "Quant", "MaxPool",
                   "MaxPoolNHWC", "AveragePool", "QuantAvgPool2d", "GlobalAveragePool", "Pad",
                   "Relu", "Add", "Mul", "Sub", "Div", "Concat", "Split", "Transpose",
                   "Reshape", "Flatten", "TopK", "Softmax", "LayerNormalization", "Gather",
                   "Upsample", "Resize", "ReduceMax", "ReduceSum", "ReduceMean", "Where",
                   "Sigmoid", "Tanh", "Gelu", "Erf", "XnorPopcountMatMul", "Trunc",
                   "BipolarQuant", "BatchNormalization"}
#: FINN's custom step that makes 1-D convolutions 2-D (finn.builder.custom_step_library).
CONV1D_STEP = "finn.builder.custom_step_library.conv1d.step_pre_streamline"
#: Node attributes reported per layer where a layer has them.
FOLD_ATTRS = ("PE", "SIMD", "parallel_window", "ram_style", "resType", "mem_mode")


class EstimateError(Exception):
    """An error to report to the user (no traceback), with its exit status."""

    def __init__(self, msg, status=1, show_log=False):
        super().__init__(msg)
        self.status = status
        self.show_log = show_log      # FINN's own output may tell more


def say(msg):
    print(f"[finn-estimate] {msg}", flush=True)


# --------------------------------------------------------------------------- FINN set-up

class _FinnLogs(logging.Handler):
    """Collects FINN's warnings and errors (its `log`), for the report and for errors."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records = []

    def emit(self, record):
        try:
            self.records.append(f"{record.levelname}: {record.getMessage()}")
        except Exception:  # noqa: BLE001 - never let logging break a step
            pass


FINN_LOGS = _FinnLogs()


def load_finn(workdir):
    """Import FINN's builder without Vivado: FINN's settings point into ``workdir``; the
    XSI (Vivado simulator) binding, imported by the step module at load time and used
    only by RTL simulation steps, is stubbed. Returns FINN's build_dataflow_config module
    and its step lookup table."""
    warnings.filterwarnings("ignore")
    os.environ.setdefault("NUM_DEFAULT_WORKERS", "1")
    from finn.interface.settings import FINNSettings
    import finn.util.settings as finn_settings

    (Path(workdir) / "finn_build_dir").mkdir(parents=True, exist_ok=True)
    finn_settings._SETTINGS = FINNSettings.init(
        override_settings_path=Path(workdir) / "finn_settings.yaml",  # need not exist
        flow_config=Path(workdir) / "flow.yaml",
        auto_set_environment_vars=True,
        finn_build_dir=str(Path(workdir) / "finn_build_dir"),
        num_default_workers=1,
    )
    import finn.xsi as xsi

    if "SimEngine" not in vars(xsi):
        def _no_xsi(*_a, **_k):
            raise RuntimeError("RTL simulation needs Vivado's XSI, which is not installed")
        xsi.SimEngine = _no_xsi
    from finn.builder import build_dataflow_config as cfgmod
    from finn.builder.build_dataflow_steps import build_dataflow_step_lookup
    import finn.util.logging as finn_logging

    for name in ("finn", "qonnx", "build_dataflow"):
        logging.getLogger(name).addHandler(FINN_LOGS)
    with contextlib.suppress(Exception):
        finn_logging.log.addHandler(FINN_LOGS)
    return cfgmod, build_dataflow_step_lookup


def finn_version():
    try:
        return version("finn-plus")
    except PackageNotFoundError:
        return "unknown"


def check():
    """``--check``: FINN loads and its estimate steps are there."""
    with tempfile.TemporaryDirectory(prefix="finn-estimate-") as work:
        cfgmod, lookup = load_finn(work)
        missing = [s for s in estimate_steps(cfgmod) if s not in lookup]
        if missing:
            raise EstimateError(f"FINN has no step(s) {missing}")
    import torch

    say(f"finn-plus {finn_version()}, qonnx {version('qonnx')}, onnx {version('onnx')}, "
        f"brevitas {version('brevitas')}, torch {torch.__version__}: the estimate flow's "
        f"{len(estimate_steps(cfgmod))} steps load")


# --------------------------------------------------------------------------- input

def read_model(path):
    """The ModelWrapper of ``path``, or EstimateError (status 2) naming the file."""
    import onnx
    from qonnx.core.modelwrapper import ModelWrapper

    p = Path(path)
    if not p.is_file():
        raise EstimateError(f"{path}: no such file", 2)
    try:
        proto = onnx.load(str(p))
    except Exception as exc:  # noqa: BLE001 - onnx raises DecodeError and others
        raise EstimateError(f"{path}: not an ONNX model ({type(exc).__name__}: {exc})", 2)
    if not proto.graph.node:
        raise EstimateError(f"{path}: not an ONNX model (no graph nodes)", 2)
    if len(proto.graph.input) < 1 or len(proto.graph.output) < 1:
        raise EstimateError(f"{path}: the graph has no input or no output", 2)
    try:
        onnx.checker.check_model(proto)
    except Exception as exc:  # noqa: BLE001
        # QONNX custom ops fail the strict checker in some versions; only note it.
        FINN_LOGS.records.append(f"NOTE: onnx.checker: {exc}")
    return ModelWrapper(proto)


def raised_at(exc):
    """Where in FINN/QONNX ``exc`` was raised: 'package/module.py:LINE in FUNCTION'."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    f = frames[-1]
    parts = Path(f.filename).parts
    for root in ("finn", "qonnx", "onnx"):
        if root in parts:
            parts = parts[len(parts) - 1 - parts[::-1].index(root):]
            break
    return f"{'/'.join(parts[-4:])}:{f.lineno} in {f.name}"


def has_1d_ops(model):
    """Whether ``model`` has 1-D convolutions or pooling (a kernel_shape of one number)."""
    for n in model.graph.node:
        if n.op_type in ("Conv", "MaxPool", "AveragePool"):
            for a in n.attribute:
                if a.name == "kernel_shape" and len(a.ints) == 1:
                    return True
    return False


def describe(node):
    return f"node '{node.name}' ({node.op_type})" if node.name else f"a {node.op_type} node"


# --------------------------------------------------------------------------- steps

class Flow:
    """FINN's estimate-only build steps, run the way FINN's builder runs them."""

    def __init__(self, model_path, model, args, workdir):
        self.model_path = model_path
        self.args = args
        self.workdir = Path(workdir)
        self.cfgmod, self.lookup = load_finn(workdir)
        self.steps = estimate_steps(self.cfgmod)
        if has_1d_ops(model):
            # FINN's own step for 1-D convolutions ([N, C, L] -> [N, C, L, 1]), inserted
            # where FINN's 1-D examples put it.
            self.steps.insert(self.steps.index("step_streamline"), CONV1D_STEP)
        self.prefix = self.steps[: self.steps.index(FOLDING_STEP)]
        self.suffix = self.steps[self.steps.index(FOLDING_STEP):]
        self.ran = []          # [{"step", "seconds", ...}]
        self.finn_log = self.workdir / "finn_stdout.log"
        self.n_evals = 0
        self.unmapped = []
        self.prefix_warnings = []

    def config(self, out_dir, target_cycles):
        cfgmod = self.cfgmod
        cfg = cfgmod.DataflowBuildConfig(
            output_dir=str(out_dir),
            synth_clk_period_ns=self.args.clock_ns,
            fpga_part=self.args.fpga_part,
            generate_outputs=[cfgmod.DataflowOutputType.ESTIMATE_REPORTS],
            steps=list(self.steps),
            save_intermediate_models=False,
            standalone_thresholds=self.args.standalone_thresholds,
            mvau_wwidth_max=self.args.mvau_wwidth_max,
        )
        if target_cycles is not None:
            # step_target_fps_parallelization reads int(clock / target_fps): give it N as is.
            cfg.target_fps = max(1, round(1e9 / self.args.clock_ns / target_cycles))
            cfg._resolve_cycles_per_frame = lambda n=int(target_cycles): n
        return cfg

    def run_step(self, name, model, cfg, record=True):
        if name in self.lookup:
            step = self.lookup[name]
        else:
            mod, _, fn = name.rpartition(".")
            step = getattr(importlib.import_module(mod), fn)
        t0 = time.perf_counter()
        with open(self.finn_log, "a", encoding="utf-8") as log, \
                contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            print(f"===== {name}", flush=True)
            model = step(model, cfg)
        dt = time.perf_counter() - t0
        if record:
            self.ran.append({"step": name, "seconds": round(dt, 3)})
        return model, dt

    def step_error(self, name, exc):
        errs = [r for r in FINN_LOGS.records if r.startswith(("ERROR", "CRITICAL"))][-3:]
        hint = ("; FINN logged: " + " | ".join(errs)) if errs else ""
        where = diagnose_qonnx(self.original) if name == "step_qonnx_to_finn" else ""
        return EstimateError(f"{self.model_path}: FINN step {name} failed: "
                             f"{type(exc).__name__}: {exc} (at {raised_at(exc)}){where}{hint}",
                             show_log=True)

    def run_prefix(self, model):
        """The steps before folding, once. Returns the dataflow partition's model."""
        self.original = copy.deepcopy(model.model)
        cfg = self.config(self.workdir / "prefix", None)
        for name in self.prefix:
            say(f"step {name} ...")
            try:
                model, dt = self.run_step(name, model, cfg)
            except EstimateError:
                raise
            except Exception as exc:  # noqa: BLE001 - FINN raises many kinds
                raise self.step_error(name, exc) from exc
            say(f"step {name} done ({dt:.1f} s)")
            if name == "step_convert_to_hw":
                self.unmapped = self.check_mapped(model)
        self.prefix_warnings = list(FINN_LOGS.records)
        return model

    def check_mapped(self, model):
        """After step_convert_to_hw: every node that does arithmetic, and every node
        between two HW layers, is a FINN HW layer (the rest runs on the host)."""
        is_hw = {n.name: n.domain.startswith("finn.custom_op.fpgadataflow")
                 for n in model.graph.node}
        left = [n for n in model.graph.node if not is_hw[n.name]]
        bad = [n for n in left
               if n.op_type in COMPUTE_OPS or between_hw_layers(model, n, is_hw)]
        if bad:
            names = original_names(self.original, model)
            lines = "\n".join(f"  {describe(n)}{names.get(n.name, '')}: "
                              f"{why_unmapped(model, n)}" for n in bad)
            raise EstimateError(
                f"{self.model_path}: FINN could not convert {len(bad)} node(s) to HW layers "
                f"(FINN's names after step_convert_to_hw):\n{lines}\n"
                f"  (see 'What FINN converts' in scripts/finn_estimate.py --help)")
        return [{"node": n.name, "op_type": n.op_type,
                 "note": "left outside the dataflow partition (runs on the host)"}
                for n in left]

    def evaluate(self, partition, target_cycles, verbose=True):
        """Folding + estimate steps on a copy of ``partition``; FINN's reports as a dict."""
        from qonnx.core.modelwrapper import ModelWrapper

        self.n_evals += 1
        first_log = len(FINN_LOGS.records)
        out = self.workdir / f"fold_{self.n_evals}"
        cfg = self.config(out, target_cycles)
        model = ModelWrapper(copy.deepcopy(partition.model))
        times = {}
        for name in self.suffix:
            if verbose:
                say(f"step {name} ...")
            try:
                model, dt = self.run_step(name, model, cfg, record=False)
            except Exception as exc:  # noqa: BLE001
                raise self.step_error(name, exc) from exc
            times[name] = dt
            if verbose:
                say(f"step {name} done ({dt:.1f} s)")
        rep = cfg.get_report_directory()
        reports = {}
        for key, fname in (("cycles", "estimate_layer_cycles.json"),
                           ("resources", "estimate_layer_resources.json"),
                           ("performance", "estimate_network_performance.json"),
                           ("ops", "op_and_param_counts.json")):
            f = rep / fname
            reports[key] = json.loads(f.read_text()) if f.is_file() else None
        if reports["cycles"] is None or reports["resources"] is None:
            raise EstimateError(f"{self.model_path}: step_generate_estimate_reports wrote no "
                                f"estimate (in {rep})")
        reports["model"] = model
        reports["times"] = times
        reports["warnings"] = FINN_LOGS.records[first_log:]
        reports["target_cycles"] = target_cycles
        return reports


def _dtype(model, tensor):
    with contextlib.suppress(Exception):
        dt = model.get_tensor_datatype(tensor)
        return dt.name if dt is not None else "unknown"
    return "unknown"


def _reach(model, node, forward):
    """Every node reachable from ``node`` downstream (forward) or upstream."""
    seen, todo = {}, [node]
    while todo:
        n = todo.pop()
        nxt = (model.find_direct_successors(n) if forward
               else model.find_direct_predecessors(n)) or []
        for m in nxt:
            if m.name not in seen:
                seen[m.name] = m
                todo.append(m)
    return seen


def between_hw_layers(model, node, is_hw):
    up = _reach(model, node, False)
    down = _reach(model, node, True)
    return any(is_hw[k] for k in up) and any(is_hw[k] for k in down)


def original_names(proto, model):
    """FINN renames nodes OpType_K in graph order; where an op type has as many nodes as
    in the input model, name the input model's node too: {finn name: " (input: NAME)"}."""
    from collections import defaultdict

    before, after = defaultdict(list), defaultdict(list)
    for n in proto.graph.node:
        before[n.op_type].append(n.name)
    for n in model.graph.node:
        after[n.op_type].append(n.name)
    out = {}
    for op, names in after.items():
        if len(before.get(op, [])) == len(names):
            for finn_name, orig in zip(names, before[op]):
                if orig and orig != finn_name:
                    out[finn_name] = f" (in the input: '{orig}')"
    return out


def feeds_from_fork(model, node, depth=4):
    """Whether ``node``'s input comes, through at most ``depth`` single-input layout nodes,
    from a tensor that several nodes consume."""
    t = node.input[0]
    for _ in range(depth):
        prod = model.find_producer(t)
        if len(model.find_consumers(t) or []) > 1 or \
                (prod is not None and prod.op_type.startswith("DuplicateStreams")):
            return True
        if prod is None or prod.op_type not in ("Transpose", "Shuffle", "Im2Col", "Reshape",
                                                "Flatten"):
            return False
        t = prod.input[0]
    return False


def why_unmapped(model, node):
    """Why FINN's step_convert_to_hw left ``node`` as it was, as far as can be told."""
    ins = [_dtype(model, t) for t in node.input]
    if node.op_type == "LeakyRelu":
        return ("FINN has no HW layer for LeakyRelu (nor converts LeakyRelu + Quant to "
                "thresholds); for the estimate use Relu + an unsigned Quant, which costs about the "
                "same thresholds")
    if node.op_type not in CONVERTIBLE_OPS:
        return (f"FINN has no HW layer for {node.op_type}"
                f"{', and it sits between HW layers' if node.op_type not in COMPUTE_OPS else ''}")
    if node.op_type in ("Quant", "BipolarQuant", "Trunc"):
        return "a Quant FINN could not fold into weights or thresholds"
    if node.op_type == "MultiThreshold":
        return f"thresholds FINN could not place in a HW layer (input {ins[0]})"
    if ins and ins[0] in ("FLOAT32", "FLOAT16", "unknown"):
        extra = ""
        if feeds_from_fork(model, node):
            extra = ("; its input forks into parallel branches (e.g. two weight branches "
                     "added), and FINN's streamlining leaves the activation's scale before "
                     "the fork: give each layer one weight Quant")
        if node.op_type in ("MaxPool", "MaxPoolNHWC", "AveragePool"):
            extra = ("; put the activation's Relu + Quant before the pooling (max pooling "
                     "commutes with them)")
        return (f"its input is not quantized ({ins[0]}): an activation Quant must come "
                f"before it{extra}")
    if node.op_type in ("MatMul", "Gemm", "Conv") and len(ins) > 1 and \
            ins[1] in ("FLOAT32", "FLOAT16", "unknown"):
        return f"its weight is not quantized ({ins[1]}): the weight must come from one Quant node"
    return (f"FINN has no HW layer for {node.op_type} (input types {ins}), and it sits "
            f"between HW layers")


def diagnose_qonnx(proto):
    """Name the nodes behind FINN's known refusals in ConvertQONNXtoFINN."""
    from qonnx.core.modelwrapper import ModelWrapper

    model = ModelWrapper(proto)
    bad = []
    for n in model.graph.node:
        if n.op_type != "Quant":
            continue
        prod = model.find_producer(n.input[0])
        if prod is None or prod.op_type != "Relu":
            continue
        attrs = {a.name: a.i for a in n.attribute}
        if attrs.get("signed", 1) or attrs.get("narrow", 0):
            bad.append(f"{describe(n)} after {describe(prod)} is "
                       f"{'signed' if attrs.get('signed', 1) else 'unsigned'}"
                       f"{', narrow' if attrs.get('narrow', 0) else ''}")
    if bad:
        return (" [" + "; ".join(bad) + ": FINN takes a Relu's Quant only unsigned and not "
                "narrow, e.g. Brevitas QuantReLU(bit_width=8)]")
    return ""


def has_lut_model(inst):
    """False where ``inst``'s class leaves FINN's LUT estimate at its default 0 (FINN has
    no resource model for it, e.g. Pool_hls), so its 0 means unknown, not free."""
    from finn.custom_op.fpgadataflow.hwcustomop import HWCustomOp

    return type(inst).lut_estimation is not HWCustomOp.lut_estimation


# --------------------------------------------------------------------------- folding

def total_lut(rep):
    return float(rep["resources"]["total"].get("LUT", 0.0))


def search_lut_budget(flow, partition, budget):
    """Bisection over target cycles per frame for the largest LUT total <= budget."""
    tried = {}

    def ev(t):
        if t not in tried:
            rep = flow.evaluate(partition, t, verbose=False)
            tried[t] = rep
            label = "fully folded" if t >= 10 ** 12 else f"target {t} cycles/frame"
            say(f"  {label}: LUT {total_lut(rep):.0f}, "
                f"max cycles {max(rep['cycles'].values())}")
        return tried[t]

    say(f"searching the folding for a LUT budget of {budget}")
    # The most folded design: a target no layer can miss, every PE and SIMD 1.
    lo_par = ev(10 ** 12)
    hi = int(max(lo_par["cycles"].values()))      # a target at or above it: same folding
    if total_lut(lo_par) > budget:
        rep = ev(hi)
        rep["within_budget"] = False
        return rep, tried
    hi_rep = ev(hi)
    fast = ev(1)                                  # the most parallel design
    if total_lut(fast) <= budget:
        fast["within_budget"] = True
        return fast, tried
    lo = 1                                        # LUT(lo) > budget, LUT(hi) <= budget
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if total_lut(ev(mid)) <= budget:
            hi = mid
        else:
            lo = mid
    # LUT is not strictly monotonic in the target: take the best of everything tried.
    ok = [(total_lut(r), -t) for t, r in tried.items()
          if total_lut(r) <= budget and t < 10 ** 12]
    best_t = -max(ok)[1] if ok else hi
    rep = tried.get(best_t, hi_rep)
    rep["within_budget"] = True
    return rep, tried


# --------------------------------------------------------------------------- report

def node_attrs(model, name):
    from qonnx.custom_op.registry import getCustomOp

    node = model.get_node_from_name(name)
    if node is None:
        return None, {}, {}
    inst = getCustomOp(node)
    types = inst.get_nodeattr_types()
    fold = {a: inst.get_nodeattr(a) for a in FOLD_ATTRS if a in types}
    info = {}
    if not has_lut_model(inst):
        info["resource_model"] = False
        info["resource_note"] = "FINN has no resource model for this layer: its 0s are unknown"
    for key, fn in (("input_dtype", "get_input_datatype"), ("output_dtype", "get_output_datatype"),
                    ("weight_dtype", "get_weight_datatype")):
        with contextlib.suppress(Exception):
            info[key] = getattr(inst, fn)().name
    for a in ("MW", "MH", "IFMChannels", "ConvKernelDim", "IFMDim", "OFMDim", "NumChannels",
              "Channels", "numInputVectors", "KernelDim", "ImgDim"):
        if a in types:
            with contextlib.suppress(Exception):
                v = inst.get_nodeattr(a)
                info[a] = list(v) if isinstance(v, (list, tuple)) else v
    return node.op_type, fold, info


def _num(v):
    if isinstance(v, dict):
        return {k: _num(x) for k, x in v.items()}
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return round(v, 3) if isinstance(v, float) else v


def build_report(flow, rep, args, folding, unmapped, tried, t_total):
    model = rep["model"]
    layers = []
    for name, cycles in rep["cycles"].items():
        op_type, fold, info = node_attrs(model, name)
        res = rep["resources"].get(name, {})
        layers.append({
            "name": name,
            "op_type": op_type,
            "folding": fold,
            "cycles": int(cycles),
            "LUT": _num(res.get("LUT", 0)),
            "BRAM_18K": _num(res.get("BRAM_18K", 0)),
            "URAM": _num(res.get("URAM", 0)),
            "DSP": _num(res.get("DSP", 0)),
            **info,
        })
    total = rep["resources"]["total"]
    perf = rep["performance"] or {}
    max_cycles = max((l["cycles"] for l in layers), default=0)
    steps = [dict(s) for s in flow.ran]
    for name, dt in rep["times"].items():
        steps.append({"step": name, "seconds": round(dt, 3)})
    not_run = steps_not_run(flow.cfgmod)
    ops = rep.get("ops") or {}
    out = {
        "tool": "FINN (finn-plus)",
        "finn_version": finn_version(),
        "qonnx_version": version("qonnx"),
        "model": str(args.model),
        "fpga_part": args.fpga_part,
        "clock_ns": args.clock_ns,
        "folding": folding,
        "config": {"standalone_thresholds": args.standalone_thresholds,
                   "mvau_wwidth_max": args.mvau_wwidth_max,
                   "two_pass_relaxation": True},
        "layers": layers,
        "totals": {k: _num(total.get(k, 0)) for k in ("LUT", "BRAM_18K", "URAM", "DSP")},
        "max_cycles_per_layer": max_cycles,
        "max_cycles_layer": perf.get("max_cycles_node_name"),
        "latency_cycles": perf.get("critical_path_cycles"),
        "latency_note": "FINN's dataflow_performance: the sum of the layers' cycles along "
                        "the critical path, no overlap assumed (pessimistic)",
        "estimated_throughput_fps": _num(perf.get("estimated_throughput_fps"))
        if perf.get("estimated_throughput_fps") is not None else None,
        "estimated_latency_ns": _num(perf.get("estimated_latency_ns"))
        if perf.get("estimated_latency_ns") is not None else None,
        "op_and_param_counts": {k: _num(v) for k, v in ops.items()
                                if k.startswith("total")} or None,
        "not_mapped": unmapped,
        "steps_run": steps,
        "steps_not_run": not_run,
        "finn_warnings": list(dict.fromkeys(
            " ".join(w.split()) for w in flow.prefix_warnings + rep["warnings"]))[:60],
        "seconds": round(t_total, 2),
    }
    if tried:
        out["folding"]["search"] = [
            {"target_cycles": t if t < 10 ** 12 else None,
             "LUT": _num(total_lut(r)),
             "max_cycles": int(max(r["cycles"].values()))}
            for t, r in sorted(tried.items())]
    return out


#: Why each step of FINN's default flow after the estimate is not run here (checked with
#: finn-plus 1.6.1 on this machine, which has neither Vivado nor Vitis).
WHY_NOT_RUN = {
    "step_assign_ddr_weight_offsets": "runs here, but only acts on MLO (FINNLoop) models "
                                      "and adds nothing to the estimate",
    "step_hw_codegen": "runs here (writes the HLS/RTL sources) but adds nothing to the "
                       "estimate",
    "step_generate_hardware": "needs Vitis HLS: step_hw_ipgen fails with 'XILINX_VIVADO was "
                              "not set but is required'",
    "step_hw_ipgen": "needs Vitis HLS ('XILINX_VIVADO was not set but is required')",
    "step_set_fifo_depths": "needs Vitis HLS IP and Vivado's XSI RTL simulation",
    "step_create_stitched_ip": "needs Vivado and the IP of every layer",
    "step_measure_rtlsim_performance": "needs Vivado's XSI RTL simulation "
                                       "('vivado not found in PATH')",
    "step_out_of_context_synthesis": "needs Vivado synthesis and the stitched IP",
    "step_prepare_synthesis": "needs the stitched IP (Vivado)",
    "step_synthesize_bitfile": "needs Vivado (or Vitis) and a board",
    "step_make_driver": "needs a bitfile build (a board and its shell)",
    "step_deployment_package": "needs a bitfile and driver",
}


def estimate_steps(cfgmod):
    """FINN's default flow up to and including step_generate_estimate_reports (the
    estimate-only flow of FINN plus step_transpose_decomposition, where the default flow
    has it, a no-op without Shuffle layers)."""
    steps = list(cfgmod.default_build_dataflow_steps)
    return steps[: steps.index("step_generate_estimate_reports") + 1]


def steps_not_run(cfgmod):
    steps = list(cfgmod.default_build_dataflow_steps)
    later = steps[steps.index("step_generate_estimate_reports") + 1:]
    return [{"step": s, "reason": WHY_NOT_RUN.get(s, "needs Vivado or Vitis")} for s in later]


# --------------------------------------------------------------------------- main

EPILOG = """
What FINN converts to HW layers (checked with finn-plus 1.6.1 on Brevitas exports):
  - each Conv / Gemm / MatMul weight from ONE Quant node (2-bit signed narrow range for
    ternary; per-tensor or per-output-channel scale); not two branches added (the
    `attq-fpga export` form): FINN's streamlining leaves the scale before the fork;
  - the input: a Quant after it (8-bit, signed or unsigned: a Thresholding layer), or an
    integer data type annotated on the input tensor (then no layer);
  - after each ReLU a Quant that is UNSIGNED and not narrow (Brevitas QuantReLU): FINN
    refuses a signed one; conv -> [BatchNorm] -> ReLU -> Quant -> MaxPool: a MaxPool on
    the float conv output (before ReLU + Quant) is not converted; the two orders give the
    same values, max pooling commutes with ReLU and quantization;
  - bias and BatchNorm are absorbed into the thresholds; 1-D convolutions and
    non-square inputs and kernels work; LeakyReLU does not (use ReLU for the estimate).
  Conv -> ConvolutionInputGenerator + MVAU; ReLU + Quant -> thresholds inside the MVAU
  (or a Thresholding layer with --standalone-thresholds); MaxPool ->
  ConvolutionInputGenerator + Pool; padding -> FMPadding. Nodes left at the graph's start
  or end (the input transpose, LogSoftmax) run on the host and are listed in not_mapped.
"""


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="finn_estimate.py",
        description="FINN's estimated cycles per layer and resources for a QONNX model "
                    "(no Vivado, no Vitis). Runs in build/finn-venv (scripts/setup_finn_venv).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", help="QONNX model (.onnx)")
    ap.add_argument("--out", help="where to write the JSON report")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--target-cycles", type=positive_int, metavar="N",
                   help="FINN's SetFolding(target_cycles_per_frame=N)")
    g.add_argument("--lut-budget", type=positive_int, metavar="N",
                   help="the folding whose LUT estimate is closest to N without exceeding it")
    ap.add_argument("--fpga-part", default=DEFAULT_PART, help=f"default {DEFAULT_PART}")
    ap.add_argument("--clock-ns", type=positive_float, default=10.0,
                    help="clock period in ns (throughput and latency in time; default 10)")
    ap.add_argument("--standalone-thresholds", action="store_true",
                    help="FINN's standalone_thresholds: activations as separate Thresholding "
                         "layers instead of inside the MVAU (FINN's default: inside)")
    ap.add_argument("--mvau-wwidth-max", type=int, default=36,
                    help="SetFolding's cap on an MVAU's weight stream width (FINN's default 36)")
    ap.add_argument("--keep-workdir", metavar="DIR",
                    help="keep FINN's intermediate outputs and log in DIR")
    ap.add_argument("--check", action="store_true",
                    help="only check that FINN loads (used by scripts/setup_finn_venv)")
    args = ap.parse_args(argv)
    if args.check:
        return args
    if not args.model or not args.out:
        ap.error("MODEL and --out are required")
    if not re.fullmatch(r"x[a-z]{1,3}[0-9][0-9a-z]*(-[0-9A-Za-z]+)*", args.fpga_part):
        ap.error(f"--fpga-part {args.fpga_part!r}: expected an AMD/Xilinx part name such as "
                 f"{DEFAULT_PART} (FINN targets only those; it does not check the name)")
    return args


def run(args):
    t0 = time.perf_counter()
    say(f"FINN (finn-plus {finn_version()}) estimate of {args.model} for {args.fpga_part}")
    work = Path(tempfile.mkdtemp(prefix="finn-estimate-"))
    try:
        model = read_model(args.model)
        flow = Flow(args.model, model, args, work)
        partition = flow.run_prefix(model)
        tried = None
        if args.lut_budget is not None:
            rep, tried = search_lut_budget(flow, partition, args.lut_budget)
            folding = {"mode": "lut_budget", "lut_budget": args.lut_budget,
                       "target_cycles_per_frame": rep["target_cycles"]
                       if rep["target_cycles"] < 10 ** 12 else None,
                       "within_budget": rep["within_budget"]}
            say(f"chose target {folding['target_cycles_per_frame']} cycles/frame: LUT "
                f"{total_lut(rep):.0f} ({'within' if rep['within_budget'] else 'over'} "
                f"the budget {args.lut_budget})")
        elif args.target_cycles is not None:
            rep = flow.evaluate(partition, args.target_cycles)
            folding = {"mode": "target_cycles",
                       "target_cycles_per_frame": args.target_cycles}
        else:
            rep = flow.evaluate(partition, None)
            folding = {"mode": "none", "target_cycles_per_frame": None,
                       "note": "no folding asked: every PE and SIMD is 1"}
        out = build_report(flow, rep, args, folding, flow.unmapped, tried,
                           time.perf_counter() - t0)
        write_text(args.out, json.dumps(out, indent=2) + "\n")
        t = out["totals"]
        say(f"{len(out['layers'])} HW layers; LUT {t['LUT']}, BRAM_18K {t['BRAM_18K']}, "
            f"URAM {t['URAM']}, DSP {t['DSP']}; max cycles/layer "
            f"{out['max_cycles_per_layer']}, latency {out['latency_cycles']} cycles")
        say(f"wrote {args.out} ({out['seconds']:.1f} s)")
    except EstimateError as exc:
        if exc.show_log:
            flow_log_tail(work)
        raise
    except Exception:
        flow_log_tail(work)
        raise
    finally:
        if args.keep_workdir:
            shutil.copytree(work, args.keep_workdir, dirs_exist_ok=True)
        shutil.rmtree(work, ignore_errors=True)


def flow_log_tail(work):
    log = Path(work) / "finn_stdout.log"
    if log.is_file():
        lines = log.read_text(errors="replace").splitlines()[-15:]
        if lines:
            print("[finn-estimate] last lines of FINN's output:", file=sys.stderr)
            for line in lines:
                print(f"    {line}", file=sys.stderr)
            return True
    return False


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.check:
            check()
        else:
            run(args)
    except EstimateError as exc:
        print(f"finn_estimate: error: {exc}; nothing written", file=sys.stderr)
        return exc.status
    except ImportError as exc:
        print(f"finn_estimate: error: FINN is not importable here ({exc}); run it with "
              f"build/finn-venv/bin/python after scripts/setup_finn_venv", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
