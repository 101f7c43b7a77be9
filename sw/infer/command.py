"""``attq-fpga infer``: classify the HITS of a recording (or ESR rows) on a device.

::

    attq-fpga infer RECORDING [--model MODEL.attq] [--device sim|golden|serial:///dev/ttyUSB1|
                    socket://HOST:PORT] [--out DIR] [--truth CSV] [--no-html]
    attq-fpga infer DIR [--device D1 --device D2 ...] [--out OUT] [--resume]
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
:mod:`sw.infer.report`), ``energy.json``, ``energy.png`` (:mod:`sw.infer.energy`), with
a truth ``confusion.png``, and unless ``--no-html`` ``report.html``, a self-contained page
(:mod:`sw.infer.html_report`).

Given a folder of recordings instead of one, it runs each of them, spread over the
devices given (``--device`` several times), and writes a summary (:mod:`sw.infer.batch`).
"""

import sys
from pathlib import Path

from .pipeline import DEFAULT_DEVICE, DEFAULT_MODEL, OUTPUT_ROOM

__all__ = ["register", "run"]

def register(subparsers):
    """Add ``infer``."""
    p = subparsers.add_parser(
        "infer", help="classify the HITS of a recording (or ESR rows) on a device: "
                      "results CSV/JSON, accuracy, energy report")
    p.add_argument("recording", nargs="?", default=None,
                   help="stereo I/Q .wav or .npz recording (docs/recording-format.md), or "
                        "a folder of them: one report each and a summary")
    p.add_argument("--dataset", nargs=2, metavar=("esr", "CSV"), default=None,
                   help="classify the rows of an Epileptic Seizure Recognition CSV instead "
                        "of a recording (needs --model)")
    p.add_argument("--model", default=None,
                   help=f"compiled program (.attq); default for recordings: "
                        f"models/{DEFAULT_MODEL.name}")
    p.add_argument("--device", action="append", default=None,
                   help="sim (the virtual board, default), golden (the golden protocol "
                        "device), serial:///dev/ttyUSB1 (the board), socket://HOST:PORT; "
                        "for a folder of recordings it may be given several times (e.g. "
                        "--device sim --device sim: two virtual boards), and the "
                        "recordings are spread over the devices")
    p.add_argument("--out", default=None,
                   help="output directory (default runs/infer/NAME)")
    p.add_argument("--no-html", action="store_true",
                   help="do not write report.html (the self-contained HTML report)")
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
                        "events not yet classified are run; for a folder, recordings "
                        "whose results are complete are skipped")
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


def run(args):
    """Run the command; return the exit status."""
    from ..atomic import check_output
    from ..device import DeviceError, check_device_string
    from ..errors import InputError
    from ..program.file import content_hash
    from .classify import classify_all
    from .device import POWER_MEASURED, POWER_MODELLED, DeviceUnavailable, open_for_inference
    from .journal import Journal, run_identity
    from .pipeline import (board_name_of, check_run_options, link_stats, load_program,
                           read_inputs, result_files, write_result_files)
    from .report import summary_text, table_text

    _check_args(args)
    devices = args.device or [DEFAULT_DEVICE]
    if args.dataset is None and Path(args.recording).is_dir():
        from .batch import run_batch
        return run_batch(args, devices)
    if len(devices) > 1:
        raise InputError(f"--device given {len(devices)} times ({', '.join(devices)}): "
                         f"several devices share the recordings of a folder (attq-fpga "
                         f"infer DIR); one recording runs on one device")
    device = devices[0]
    check_run_options(args)
    source = args.dataset[1] if args.dataset is not None else args.recording
    if not Path(source).is_file():
        raise InputError(f"{source}: no such file")
    name = Path(source).stem
    out = Path(args.out) if args.out else Path("runs") / "infer" / name
    check_output(out, what=f"--out {out}", directory=True, need_bytes=OUTPUT_ROOM)
    if args.resume:
        Journal.read_identity(out)
    else:
        Journal.check_absent(out)
    check_device_string(device)
    program, model_path, fp_energy = load_program(args)

    try:
        driver, plan, hello = open_for_inference(device, program, model_path,
                                                 faults=args.link_faults,
                                                 fault_seed=args.fault_seed,
                                                 timeout=args.link_timeout)
    except (DeviceUnavailable, DeviceError) as exc:
        text = str(exc) if device in str(exc) else f"device {device}: {exc}"
        print(f"attq-fpga infer: {text}", file=sys.stderr)
        return 1
    journal = None
    try:
        inputs = read_inputs(args, source, program, model_path, truth_path=args.truth)
        if inputs.info.get("truncation"):
            cut = inputs.info.get("truth_events_after_cut")
            print(f"[infer] {inputs.info['truncation']}"
                  + (f"; {cut} truth events after the cut left out" if cut else ""),
                  flush=True)
        identity = run_identity(model_hash=content_hash(program), source=inputs.source,
                                x=inputs.x, device=device, items=len(inputs.x))
        journal = (Journal.resume(out, identity) if args.resume
                   else Journal.start(out, identity))
        caps = int(hello.get("caps", 0))
        clk_hz = int(hello.get("clk_hz", 0)) or None
        noun = "events" if inputs.kind == "recording" else "rows"
        print(f"[infer] {len(inputs.x)} {noun} from {inputs.source}; model {model_path} "
              f"({len(program.engine_layers)} engine layers); device {device} "
              f"({board_name_of(hello)}, {hello.get('lanes')} lanes, "
              f"{(clk_hz or 0) / 1e6:g} MHz)"
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
        link = link_stats(driver)
    finally:
        driver.close()
        if journal is not None:
            journal.close()

    classes = list(program.classes)
    files, doc, energy = result_files(
        name=name, inputs=inputs, inferences=inferences, program=program,
        model_path=model_path, hello=hello, device_spec=device, fp_energy=fp_energy,
        link=link, html=not args.no_html)
    write_result_files(out, files)
    journal.remove()

    rows, summ = doc["events"], doc["summary"]
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
