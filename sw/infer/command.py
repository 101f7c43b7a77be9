"""``attq-fpga infer``: classify the HITS of a recording (or ESR rows) on a device.

::

    attq-fpga infer RECORDING [--model MODEL.attq] [--device sim|golden|serial:///dev/ttyUSB1|
                    socket://HOST:PORT] [--out DIR] [--truth CSV]
    attq-fpga infer --dataset esr CSV --model MODEL.attq [--device ...] [--out DIR]

Before any work it checks the arguments, that ``--out`` can be written, the program, and
the device (opened, its handshake and the program's fit checked, the program loaded); then
it reads the recording (the front end) or the CSV and classifies. An inference that fails
on the device gets a row with its error; the command then exits with status 1.

Each finished inference goes at once into ``--out``'s journal (:mod:`sw.infer.journal`),
so an interrupted or crashed run keeps every event already classified, and ``--resume``
classifies only the rest. The results are written atomically after the last inference,
replacing a previous run's as a set (no file of it is left beside them), and the journal is
then removed.

Writes in ``--out``: ``results.csv``, ``results.json`` (one row per event,
:mod:`sw.infer.report`), ``energy.json``, ``energy.png`` (:mod:`sw.infer.energy`) and, with
a truth, ``confusion.png``.
"""

import sys
from pathlib import Path

__all__ = ["register", "run", "DEFAULT_MODEL", "DEFAULT_FP_MODEL", "OUTPUT_FILES"]

ROOT = Path(__file__).resolve().parent.parent.parent
#: The bundled default HITS program (models/README.md).
DEFAULT_MODEL = ROOT / "models" / "hits_attq.attq"
#: The full-precision model it was trained from (EC_G^T's reference).
DEFAULT_FP_MODEL = ROOT / "models" / "hits_fp.pt"
#: Every file a run may write in ``--out``; those a run does not write are removed, so that
#: no earlier run's file is read as this one's.
OUTPUT_FILES = ("results.csv", "results.json", "energy.json", "energy.png", "confusion.png")
#: Room asked of ``--out``'s file system before the run (the results of a long recording).
_OUTPUT_ROOM = 16 << 20


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
    p.add_argument("--link-timeout", type=float, default=None, metavar="SECONDS",
                   help="how long a request waits for its answer before it is sent again "
                        "(default 0.5 s; 5 s on the virtual board, a slow simulation)")
    p.add_argument("--max-clipped-fraction", type=float, default=None,
                   help="largest tolerated fraction of clipped samples (default 0.001)")
    p.add_argument("--accept-truncated", action="store_true",
                   help="classify the frames that are there of a WAV shorter than its "
                        "header says (default: refuse it)")
    p.add_argument("--table-rows", type=int, default=40,
                   help="rows of the printed table (default 40; all are in results.csv)")
    p.add_argument("--resume", action="store_true",
                   help="continue the unfinished run in --out (its journal): only the "
                        "events not yet classified are run")
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
    from ..atomic import check_output, write_bytes, write_text
    from ..device import DeviceError, check_device_string
    from ..errors import InputError
    from ..program.file import content_hash, load
    from .classify import classify_all
    from .device import POWER_MEASURED, POWER_MODELLED, DeviceUnavailable, open_for_inference
    from .energy import energy_png, energy_report
    from .inputs import esr_inputs, recording_inputs
    from .journal import Journal, run_identity
    from .report import (build_rows, confusion_png, csv_text, json_text, summary,
                         summary_text, table_text)

    _check_args(args)
    if args.link_faults is not None:
        drop, corrupt = args.link_faults
        if not (0 <= drop <= 1 and 0 <= corrupt <= 1 and drop + corrupt <= 1):
            raise InputError(f"--link-faults {drop} {corrupt}: each must be in [0, 1] and "
                             f"their sum at most 1")
    if args.link_timeout is not None and not 0 < args.link_timeout <= 600:
        raise InputError(f"--link-timeout {args.link_timeout}: expected seconds in (0, 600]")
    source = args.dataset[1] if args.dataset is not None else args.recording
    if not Path(source).is_file():
        raise InputError(f"{source}: no such file")
    name = Path(source).stem
    out = Path(args.out) if args.out else Path("runs") / "infer" / name
    check_output(out, what=f"--out {out}", directory=True, need_bytes=_OUTPUT_ROOM)
    if args.resume:
        Journal.read_identity(out)
    else:
        Journal.check_absent(out)
    check_device_string(args.device)
    model_path = Path(args.model) if args.model else DEFAULT_MODEL
    program = load(model_path)
    if not program.classes:
        raise InputError(f"{model_path}: the program names no classes")
    fp_path = args.fp_model
    if fp_path is None and model_path.resolve() == DEFAULT_MODEL.resolve() \
            and DEFAULT_FP_MODEL.is_file():
        fp_path = DEFAULT_FP_MODEL
    fp_energy = _fp_model_energy(fp_path, program) if fp_path is not None else None

    try:
        driver, plan, hello = open_for_inference(args.device, program, model_path,
                                                 faults=args.link_faults,
                                                 fault_seed=args.fault_seed,
                                                 timeout=args.link_timeout)
    except (DeviceUnavailable, DeviceError) as exc:
        text = str(exc) if args.device in str(exc) else f"device {args.device}: {exc}"
        print(f"attq-fpga infer: {text}", file=sys.stderr)
        return 1
    journal = None
    try:
        if args.dataset is not None:
            inputs = esr_inputs(source, program, model_path)
        else:
            inputs = recording_inputs(source, program, model_path, truth_path=args.truth,
                                      max_clipped_fraction=args.max_clipped_fraction,
                                      accept_truncated=args.accept_truncated)
            if inputs.info.get("truncation"):
                cut = inputs.info.get("truth_events_after_cut")
                print(f"[infer] {inputs.info['truncation']}"
                      + (f"; {cut} truth events after the cut left out" if cut else ""),
                      flush=True)
        identity = run_identity(model_hash=content_hash(program), source=inputs.source,
                                x=inputs.x, device=args.device, items=len(inputs.x))
        journal = (Journal.resume(out, identity) if args.resume
                   else Journal.start(out, identity))
        caps = int(hello.get("caps", 0))
        clk_hz = int(hello.get("clk_hz", 0)) or None
        board = hello.get("board")
        board_name = spec.Board(board).name if board in set(spec.Board) else str(board)
        noun = "events" if inputs.kind == "recording" else "rows"
        print(f"[infer] {len(inputs.x)} {noun} from {inputs.source}; model {model_path} "
              f"({len(program.engine_layers)} engine layers); device {args.device} "
              f"({board_name}, {hello.get('lanes')} lanes, {(clk_hz or 0) / 1e6:g} MHz)"
              + (f"; resuming: {len(journal.done)} already classified" if args.resume
                 else ""), flush=True)
        try:
            inferences = classify_all(
                driver, plan, program, inputs.x,
                read_power=bool(caps & (POWER_MEASURED | POWER_MODELLED)),
                progress=not args.no_progress, done=journal.done, on_result=journal.append)
        except KeyboardInterrupt:
            print(f"[infer] interrupted: {journal.kept} of {len(inputs.x)} {noun} kept in "
                  f"{journal.path}; continue with the same command and --resume",
                  file=sys.stderr)
            raise
        link = _link_stats(driver)
    finally:
        driver.close()
        if journal is not None:
            journal.close()

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
    files["energy.png"] = energy_png(energy, title=f"{name}: energy per inference")
    if summ.get("confusion") is not None:
        files["confusion.png"] = confusion_png(
            summ, f"{name}: {summ['scored']} events, accuracy "
                  f"{100 * summ['accuracy']:.1f} %")
    for fname, content in files.items():
        (write_text if isinstance(content, str) else write_bytes)(out / fname, content)
    for fname in set(OUTPUT_FILES) - set(files):
        (out / fname).unlink(missing_ok=True)
    journal.remove()

    print(table_text(rows, classes, inputs.kind, limit=args.table_rows), end="")
    print(summary_text(summ, classes, energy), end="")
    if link.get("faults") or link.get("driver", {}).get("retries"):
        d = link.get("driver", {})
        print("link: " + ", ".join(f"{k} {v}" for k, v in d.items()) + "".join(
            f"; {direction}: {v['dropped']} of {v['bytes']} bytes dropped, "
            f"{v['corrupted']} corrupted" for direction, v in
            link.get("faults", {}).get("damage", {}).items()))
    print(f"[infer] wrote {', '.join(sorted(files))} in {out}")
    return 1 if summ["failed"] else 0
