"""``attq-fpga infer``: classify the HITS of a recording (or ESR rows) on a device.

::

    attq-fpga infer RECORDING [--model MODEL.attq] [--device sim|golden|serial:///dev/ttyUSB1|
                    socket://HOST:PORT] [--out DIR] [--truth CSV]
    attq-fpga infer --dataset esr CSV --model MODEL.attq [--device ...] [--out DIR]

Reads and checks every input (recording, truth CSV, program) before it opens the device,
and opens the device before it writes anything; every output is written atomically, after
all inferences, so an error leaves ``--out`` as it was. An inference that fails on the
device gets a row with its error; the command then exits with status 1.

Writes in ``--out``: ``results.csv``, ``results.json`` (one row per event,
:mod:`sw.infer.report`), ``energy.json``, ``energy.png`` (:mod:`sw.infer.energy`) and, with
a truth, ``confusion.png``.
"""

import sys
from pathlib import Path

__all__ = ["register", "run", "DEFAULT_MODEL", "DEFAULT_FP_MODEL"]

ROOT = Path(__file__).resolve().parent.parent.parent
#: The bundled default HITS program (models/README.md).
DEFAULT_MODEL = ROOT / "models" / "hits_attq.attq"
#: The full-precision model it was trained from (EC_G^T's reference).
DEFAULT_FP_MODEL = ROOT / "models" / "hits_fp.pt"


def register(subparsers):
    """Add ``infer``."""
    p = subparsers.add_parser(
        "infer", help="classify the HITS of a recording (or ESR rows) on a device: "
                      "results CSV/JSON, accuracy, energy report")
    p.add_argument("recording", nargs="?", default=None,
                   help="stereo I/Q .wav or .npz recording (docs/recording-format.md)")
    p.add_argument("--dataset", nargs=2, metavar=("esr", "CSV"), default=None,
                   help="classify the rows of an Epileptic Seizure Recognition CSV instead "
                        "of a recording (needs --model)")
    p.add_argument("--model", default=None,
                   help=f"compiled program (.attq); default for recordings: "
                        f"models/{DEFAULT_MODEL.name}")
    p.add_argument("--device", default="sim",
                   help="sim (the virtual board, default), golden (the golden protocol "
                        "device), serial:///dev/ttyUSB1 (the board), socket://HOST:PORT")
    p.add_argument("--out", default=None,
                   help="output directory (default runs/infer/NAME)")
    p.add_argument("--truth", default=None,
                   help="truth CSV of the recording (default: NAME.truth.csv next to it, "
                        "when it exists)")
    p.add_argument("--fp-model", default=None,
                   help="full-precision PyTorch model (.pt) whose EC_T the energy report "
                        "adds (default for the bundled model: models/hits_fp.pt)")
    p.add_argument("--link-faults", type=float, nargs=2, metavar=("DROP", "CORRUPT"),
                   default=None,
                   help="fault injection: after loading the program, drop / corrupt these "
                        "fractions of the link's bytes in each direction (seeded)")
    p.add_argument("--fault-seed", type=int, default=0, help="seed of --link-faults")
    p.add_argument("--max-clipped-fraction", type=float, default=None,
                   help="largest tolerated fraction of clipped samples (default 0.001)")
    p.add_argument("--table-rows", type=int, default=40,
                   help="rows of the printed table (default 40; all are in results.csv)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def _check_args(args):
    from ..errors import InputError
    if args.dataset is not None:
        name, _ = args.dataset
        if name != "esr":
            raise InputError(f"--dataset {name}: expected 'esr' (recordings are given "
                             f"as the positional argument)")
        if args.recording is not None:
            raise InputError("give either a RECORDING or --dataset esr CSV, not both")
        if args.model is None:
            raise InputError("--dataset esr: --model is required (the bundled default is "
                             "a HITS model)")
        if args.truth is not None:
            raise InputError("--truth: an ESR CSV carries its own labels (column y)")
    elif args.recording is None:
        raise InputError("expected a RECORDING (or --dataset esr CSV)")


def _fp_model_energy(path, program):
    """EC_T (Eq. 3, :func:`sw.metrics.energy`) of a full-precision PyTorch model."""
    import torch

    from .. import metrics
    from ..models import load_model
    model, _ = load_model(path)
    example = torch.zeros((1,) + tuple(program.input_shape))
    return metrics.energy(model, example, rounding="ceil")


def _link_stats(driver):
    """The driver's retry counts and, behind a fault proxy, the damage it did."""
    from ..device import FaultProxy
    stats = {"driver": dict(driver.stats)}
    proxy = driver.port
    if isinstance(proxy, FaultProxy):
        stats["faults"] = {"rates": {k: list(v) for k, v in proxy.rates.items()},
                           "damage": proxy.stats}
    return stats


def run(args):
    """Run the command; return the exit status."""
    from .. import spec
    from ..atomic import write_bytes, write_text
    from ..errors import InputError
    from ..program.file import content_hash, load
    from .classify import classify_all
    from ..device import DeviceError
    from .device import POWER_MEASURED, POWER_MODELLED, DeviceUnavailable, open_for_inference
    from .energy import energy_png, energy_report
    from .inputs import esr_inputs, recording_inputs
    from .report import (build_rows, confusion_png, csv_text, json_text, summary,
                         summary_text, table_text)

    _check_args(args)
    if args.link_faults is not None:
        drop, corrupt = args.link_faults
        if not (0 <= drop <= 1 and 0 <= corrupt <= 1 and drop + corrupt <= 1):
            raise InputError(f"--link-faults {drop} {corrupt}: each must be in [0, 1] and "
                             f"their sum at most 1")
    model_path = Path(args.model) if args.model else DEFAULT_MODEL
    program = load(model_path)
    if not program.classes:
        raise InputError(f"{model_path}: the program names no classes")
    if args.dataset is not None:
        inputs = esr_inputs(args.dataset[1], program, model_path)
        name = Path(args.dataset[1]).stem
    else:
        inputs = recording_inputs(args.recording, program, model_path,
                                  truth_path=args.truth,
                                  max_clipped_fraction=args.max_clipped_fraction)
        name = Path(args.recording).stem
    fp_path = args.fp_model
    if fp_path is None and model_path.resolve() == DEFAULT_MODEL.resolve() \
            and DEFAULT_FP_MODEL.is_file():
        fp_path = DEFAULT_FP_MODEL
    fp_energy = _fp_model_energy(fp_path, program) if fp_path is not None else None
    out = Path(args.out) if args.out else Path("runs") / "infer" / name
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")

    try:
        driver, plan, hello = open_for_inference(args.device, program, model_path,
                                                 faults=args.link_faults,
                                                 fault_seed=args.fault_seed)
    except (DeviceUnavailable, DeviceError) as exc:
        text = str(exc) if args.device in str(exc) else f"device {args.device}: {exc}"
        print(f"attq-fpga infer: {text}", file=sys.stderr)
        return 1
    try:
        caps = int(hello.get("caps", 0))
        clk_hz = int(hello.get("clk_hz", 0)) or None
        board = hello.get("board")
        board_name = spec.Board(board).name if board in set(spec.Board) else str(board)
        print(f"[infer] {len(inputs.x)} {'events' if inputs.kind == 'recording' else 'rows'}"
              f" from {inputs.source}; model {model_path} ({len(program.engine_layers)} "
              f"engine layers); device {args.device} ({board_name}, {hello.get('lanes')} "
              f"lanes, {(clk_hz or 0) / 1e6:g} MHz)", flush=True)
        inferences = classify_all(driver, plan, program, inputs.x,
                                  read_power=bool(caps & (POWER_MEASURED | POWER_MODELLED)),
                                  progress=not args.no_progress)
        link = _link_stats(driver)
    finally:
        driver.close()

    classes = list(program.classes)
    rows = build_rows(inputs, inferences, classes, clk_hz)
    summ = summary(rows, classes, inputs)
    energy = energy_report(program, inferences, hello, fp_model_energy_j=fp_energy)
    meta = {"command": "attq-fpga infer", "argv": sys.argv[1:], "kind": inputs.kind,
            "input": inputs.source, "model": str(model_path),
            "model_hash": content_hash(program), "classes": classes,
            "device": {"spec": args.device, "board_name": board_name,
                       **{k: v for k, v in hello.items() if k != "magic"}},
            "link": link}
    files = {
        "results.csv": csv_text(rows, classes, inputs.kind, inputs.truth is not None),
        "results.json": json_text({**meta, "summary": summ, "events": rows}),
        "energy.json": json_text({**meta, "energy": energy}),
    }
    pngs = {"energy.png": energy_png(energy, title=f"{name}: energy per inference")}
    if summ.get("confusion") is not None:
        pngs["confusion.png"] = confusion_png(
            summ, f"{name}: {summ['scored']} events, accuracy "
                  f"{100 * summ['accuracy']:.1f} %")
    for fname, text in files.items():
        write_text(out / fname, text)
    for fname, data in pngs.items():
        write_bytes(out / fname, data)

    print(table_text(rows, classes, inputs.kind, limit=args.table_rows), end="")
    print(summary_text(summ, classes, energy), end="")
    if link.get("faults") or link.get("driver", {}).get("retries"):
        d = link.get("driver", {})
        print("link: " + ", ".join(f"{k} {v}" for k, v in d.items()) + "".join(
            f"; {direction}: {v['dropped']} of {v['bytes']} bytes dropped, "
            f"{v['corrupted']} corrupted" for direction, v in
            link.get("faults", {}).get("damage", {}).items()))
    print(f"[infer] wrote {', '.join(sorted([*files, *pngs]))} in {out}")
    return 1 if summ["failed"] else 0
