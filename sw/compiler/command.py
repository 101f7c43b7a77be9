"""The ``attq-fpga compile`` command: saved model -> integer program file.

::

    attq-fpga compile MODEL.pt -o model.attq [--calibration max|percentile]
        [--percentile 99.99] [--calibration-samples 512] [--data PATH] [--seed 0]
        [--board arty_a7|ulx3s|virtual] [--variant 35t|100t] [--lanes P] [--width V]
        [--allow-fp]

Before any work the model file is read (a file of another kind, a program or a recording,
is named as such), ``-o`` is checked to be writable, and a model without a ternary layer
(a full-precision one) is refused unless ``--allow-fp`` asks for its all-int8 program.
The program is checked against the engine of the chosen board (default: the Arty A7-35T)
before anything is written: a layer that does not fit is named with the memory or
register and both amounts, and no file is written.
"""

from .. import spec

__all__ = ["register", "run"]


def register(subparsers):
    """Add ``compile`` to the ``attq-fpga`` parser."""
    p = subparsers.add_parser(
        "compile", help="compile a trained (aTTQ) model into an integer program (.attq)",
        description="Fold batch norm, calibrate activation scales on training data, lower "
                    "ternary layers to offset lists and other layers to int8, and write the "
                    "program file (docs/program-format.md, docs/compiler.md).")
    p.add_argument("model", help="saved model file (docs/model-format.md), or a QONNX "
                                 "model (.onnx, docs/qonnx.md) with --inputs")
    p.add_argument("--inputs", metavar="PRESET", default=None,
                   help="for a QONNX model: the model preset whose data set and input "
                        "transform it takes (mnist_cnn, hits_tfr_cnn, esr_tfr_cnn, ...), "
                        "for calibration and for infer")
    p.add_argument("-o", "--out", required=True, help="program file to write (.attq)")
    p.add_argument("--calibration", choices=("max", "percentile"), default="max",
                   help="activation scale statistic (default max)")
    p.add_argument("--percentile", type=float, default=99.99,
                   help="percentile of |a| for --calibration percentile (default 99.99)")
    p.add_argument("--calibration-samples", type=int, default=512,
                   help="training samples used for calibration (default 512)")
    p.add_argument("--data", help="data file/folder of the model's data set (ESR, HITS)")
    p.add_argument("--seed", type=int, default=0, help="calibration sample seed (default 0)")
    p.add_argument("--board", default="arty_a7",
                   help="the board whose engine the program must fit: arty_a7, ulx3s or "
                        "virtual, as python -m hw.build names them (default arty_a7)")
    p.add_argument("--variant", default=None,
                   help="the board's variant: 35t or 100t for arty_a7 (default: the "
                        "board's first, the 35T)")
    p.add_argument("--lanes", type=int, default=None,
                   help="compile for an engine of this many lanes: report its cycles (cycle "
                        "model) and record it in the program, so that a device of another "
                        "P or V refuses it (default: any engine)")
    p.add_argument("--width", type=int, default=None, choices=spec.ENGINE_WIDTHS,
                   help="the engine's positions per weight word V, for the counts, cycles "
                        "and (with --lanes) the recorded engine (default: the board's)")
    p.add_argument("--allow-fp", action="store_true",
                   help="compile a model without a quantized (ternary) layer, e.g. the "
                        "full-precision _fp.pt, into an all-int8 program; without it such "
                        "a model is refused, since the engine is built for ternary layers")
    p.set_defaults(func=run)


def run(args):
    """Compile ``args.model`` to ``args.out``; print the layers, counts and content hash."""
    import torch

    from ..errors import InputError
    from ..mapping.boards import board_variant
    from ..mapping.counts import program_counts
    from ..mapping.cycle_model import program_cycles
    from ..mapping.plan import fit_problems
    from ..power.estimate import program_energy
    from ..program import save

    torch.set_num_threads(1)
    if args.calibration_samples < 1:
        raise InputError(f"--calibration-samples: expected >= 1, got "
                         f"{args.calibration_samples}")
    if args.lanes is not None and not 1 <= args.lanes <= 64:
        raise InputError(f"--lanes: expected 1 to 64, got {args.lanes}")
    board = board_variant(args.board, args.variant)
    engine = board.replace(lanes=args.lanes or board.lanes, width=args.width or board.width)
    # Everything the user can get wrong is checked before calibration, which loads the
    # data set and takes the time.
    _check_paths(args.model, args.out)
    if str(args.model).lower().endswith(".onnx"):
        prog = _compile_onnx(args)
    else:
        if args.inputs is not None:
            raise InputError(f"--inputs: only for a QONNX model (.onnx); {args.model} "
                             f"records its own data set and input transform")
        prog = _compile_pt(args)
    width = engine.width
    problems = fit_problems(prog, engine.hello())
    if problems:
        raise InputError(
            f"{args.model}: the program does not fit the engine of {_describe(engine)}; "
            f"nothing written:\n" + "\n".join(
                f"  {'the whole program' if layer is None else f'layer {layer!r}'}: {problem}"
                for layer, problem in problems))
    if args.lanes is not None:
        prog.meta["engine"] = {"lanes": args.lanes, "width": width}
    digest = save(prog, args.out)
    print(f"fits the engine of {_describe(engine)}")
    print(prog.summary())
    print(f"engine counts at V = {width}:")
    for c in program_counts(prog, width):
        print(f"  {c.name:10s} adds {c.adds_plus}+{c.adds_minus}  weight words "
              f"{c.weight_words}  act reads {c.act_reads}  act writes {c.act_writes}")
    e = program_energy(prog)
    print(f"EC_T (Eq. 3, estimated from the program): {e['ec_t_j']:.4e} J "
          f"({e['mult_adds']} mult-adds, {e['transfers']} transfers)")
    try:
        cycles = program_cycles(prog, args.lanes, width) if args.lanes is not None else None
    except ValueError as exc:
        print(f"engine cycles at P = {args.lanes}: not available ({exc})")
        cycles = None
    if cycles is not None:
        try:
            busy = sum(int(c["busy_cycles"]) for c in cycles)
            bound = sum(int(c["bound"]) for c in cycles)
            print(f"engine cycles at P = {args.lanes}, V = {width} (sw.mapping.cycle_model): {busy} "
                  f"(bound {bound}): " + ", ".join(f"{c['name']} {c['busy_cycles']}"
                                                   for c in cycles))
        except (TypeError, KeyError):
            print(f"engine cycles at P = {args.lanes}: {cycles}")
    print(f"wrote {args.out} (sha256 {digest})")
    return 0


def _compile_pt(args):
    from ..atomic import check_output
    from ..errors import InputError
    from ..models import read_record
    from .compiler import compile_saved

    rec = read_record(args.model)
    if not rec["quantized_layers"] and not args.allow_fp:
        method = (rec.get("quant") or {}).get("method")
        raise InputError(
            f"{args.model}: no layer of this model is quantized (field 'quant.method' = "
            f"{method!r}): a full-precision model compiles to an all-int8 program, without "
            f"the ternary layers the engine is built for; compile the quantized model "
            f"(attq-fpga train writes it beside the _fp.pt), or pass --allow-fp to "
            f"compile this one anyway; nothing written")
    check_output(args.out, what=f"-o {args.out}")
    prog, _, _ = compile_saved(args.model, data_path=args.data, calibration=args.calibration,
                               percentile=args.percentile,
                               n_calibration=args.calibration_samples, seed=args.seed)
    return prog


def _compile_onnx(args):
    from pathlib import Path

    from ..atomic import check_output
    from ..errors import InputError
    from .compiler import compile_qonnx

    if not Path(args.model).is_file():
        raise InputError(f"{args.model}: no such file")
    if args.inputs is None:
        raise InputError(f"--inputs: a QONNX model does not say which data it takes; name "
                         f"the model preset whose data set and input transform it was "
                         f"trained on (for example --inputs mnist_cnn)")
    check_output(args.out, what=f"-o {args.out}")
    prog, read = compile_qonnx(args.model, inputs=args.inputs, data_path=args.data,
                               calibration=args.calibration, percentile=args.percentile,
                               n_calibration=args.calibration_samples, seed=args.seed,
                               allow_fp=args.allow_fp)
    print(f"ternary layers (from its Quant nodes): {', '.join(read.records) or 'none'}")
    return prog


def _check_paths(model, out):
    """Refuse ``-o`` naming the model itself, which the program would overwrite."""
    from pathlib import Path

    from ..errors import InputError

    model, out = Path(model), Path(out)
    if model.exists() and out.exists() and out.resolve() == model.resolve():
        raise InputError(f"-o {out}: is the model file itself; the program would replace "
                         f"it: give the program a name of its own (e.g. "
                         f"{model.with_suffix('.attq')})")


def _describe(engine):
    return (f"{engine.name} (P = {engine.lanes} lanes, V = {engine.width}, {engine.lane_words} "
            f"weight words a lane, {engine.act_depth}-byte activation memory)")
