"""``attq-fpga infer DIR``: every recording of a folder, spread over several devices.

::

    attq-fpga infer DIR [--device golden --device golden | --device sim --device sim ...]
                    [--out OUT] [--resume] [--no-html]

The recordings are the folder's ``.wav`` and ``.npz`` files (not its sub-folders); a
``NAME.truth.csv`` beside ``NAME.wav`` is that recording's truth, as for one recording.
Other files are named and left alone.

Before any work it checks what a single run checks (the options, ``--out``, the device
strings, the program) and then **reads every recording and its truth** (the same reader
and checks as the run itself), so that a damaged file is refused, naming it, before a
device is opened; then it opens every device (its handshake, the program's fit, the
program loaded), each once. A device that cannot be opened stops the batch there
(status 1), as for one recording.

The work is a queue of recordings and one thread per device: each thread takes the next
recording, runs the front end, classifies its events on its own device and writes the
recording's files (those of a single run, ``report.html`` included) into ``OUT/NAME/``;
the figures are drawn one recording at a time (matplotlib's pyplot is not thread-safe).
A recording that fails (a file that changed since the check, a journal of another run,
a full disk) gets its failure in the summary and does not stop the others. Each
finished recording prints one line.

Then ``OUT/summary.csv``, ``OUT/summary.json`` and ``OUT/index.html`` (a self-contained
page linking each report): one row per recording, with the device that ran it
(``golden#0``: the first ``--device``), its counts per class, failures, with a truth the
accuracy and MCC, the mean device latency, the wall time and, for a failure, why.

Journal and ``--resume``: each recording has its own journal in its folder
(:mod:`sw.infer.journal`). Without ``--resume`` a folder holding an unfinished run's
journal is refused before the work, as for one recording. With ``--resume``, a recording
whose folder holds complete results of the same program and input (``results.json``,
``report.html`` unless ``--no-html``, and no journal) is skipped and its row read back
from its ``results.json``; one with a journal is taken up where it stopped (on whichever
device takes it: the journal must be of the same device string); the rest run anew.

Exit status: 2 for bad input before the work (nothing written); 1 when a device cannot
be opened, a recording failed or an inference failed; 0 otherwise; 130 when interrupted
(the journals kept, ``--resume`` goes on).
"""

import datetime
import json
import queue
import sys
import threading
import time
from pathlib import Path

__all__ = ["run_batch", "find_recordings", "RECORDING_SUFFIXES", "SUMMARY_FILES",
           "summary_row", "SUMMARY_COLUMNS"]

#: What counts as a recording in the folder.
RECORDING_SUFFIXES = (".wav", ".npz")
#: The batch's own files in ``--out``.
SUMMARY_FILES = ("summary.csv", "summary.json", "index.html")
#: The summary's columns before the per-class counts.
SUMMARY_COLUMNS = ("recording", "folder", "status", "device", "device_slot", "events",
                   "classified", "failed", "duration_s", "truth_events", "matched",
                   "missed", "false_alarms", "accuracy", "mcc", "cycles_mean",
                   "latency_us_mean", "seconds", "error")


def find_recordings(folder):
    """``(recordings, ignored)``: the folder's recordings sorted by name, and the other
    entries (sub-folders, files of other kinds) that are not truth CSVs of a recording.

    Raises InputError when there is none.
    """
    from ..errors import InputError
    folder = Path(folder)
    entries = sorted(folder.iterdir(), key=lambda p: p.name)
    recordings = [p for p in entries if p.is_file() and not p.name.startswith(".")
                  and p.suffix.lower() in RECORDING_SUFFIXES]
    truths = {r.with_suffix(".truth.csv").name for r in recordings}
    ignored = [p for p in entries if p not in recordings and p.name not in truths
               and not p.name.startswith(".")]
    if not recordings:
        raise InputError(f"{folder}: no recording in the folder (expected "
                         f"{' or '.join(RECORDING_SUFFIXES)} files"
                         + (f"; it holds {', '.join(p.name for p in ignored[:5])}"
                            if ignored else "; it is empty") + ")")
    return recordings, ignored


def _folders(recordings):
    """One output folder name per recording: its stem, or its whole name where two
    recordings share a stem (``a.wav`` and ``a.npz``)."""
    stems = [r.stem for r in recordings]
    return [r.stem if stems.count(r.stem) == 1 else r.name for r in recordings]


def _check_recording(args, path):
    """Read ``path`` and its truth as the run will (InputError naming the file)."""
    from ..doppler.recording import read_recording, read_truth_for
    from .inputs import find_truth_csv
    kwargs = {"accept_truncated": args.accept_truncated}
    if args.max_clipped_fraction is not None:
        kwargs["max_clipped_fraction"] = args.max_clipped_fraction
    rec = read_recording(path, **kwargs)
    truth = find_truth_csv(path)
    if truth is not None:
        read_truth_for(truth, rec)


def _complete(out, model_hash, source, html):
    """The results document in ``out`` when it holds a complete run of this program on
    ``source``; else None."""
    from .journal import Journal
    if Journal.path_in(out).exists() or (html and not (out / "report.html").is_file()):
        return None
    try:
        doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("model_hash") != model_hash \
            or Path(str(doc.get("input"))).resolve() != Path(source).resolve():
        return None
    return doc


def _error_text(exc):
    """One line saying why a recording failed, naming the file for an OS error."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{type(exc).__name__}: {exc.filename}: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def summary_row(recording, folder, doc, *, status, device, slot, seconds, classes,
                error=""):
    """One row of the batch summary, from the recording's ``results.json`` document
    (None for a recording that failed)."""
    row = {"recording": recording, "folder": folder, "status": status, "device": device,
           "device_slot": slot, "seconds": seconds, "error": error}
    if doc is not None:
        s = doc["summary"]
        row.update(events=s["items"], classified=s["classified"], failed=s["failed"],
                   duration_s=s.get("duration_s"), truth_events=s.get("truth_events"),
                   matched=s.get("matched"), missed=s.get("missed"),
                   false_alarms=s.get("false_alarms"), accuracy=s.get("accuracy"),
                   mcc=s.get("mcc"), cycles_mean=s.get("cycles_mean"),
                   latency_us_mean=s.get("latency_us_mean"))
        for c in classes:
            row[f"count_{c}"] = s["class_counts"].get(c, 0)
    return row


def _csv_text(rows, classes):
    import csv
    import io
    columns = list(SUMMARY_COLUMNS) + [f"count_{c}" for c in classes]
    buf = io.StringIO()
    w = csv.DictWriter(buf, columns, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({c: "" if r.get(c) is None else r.get(c) for c in columns})
    return buf.getvalue()


class _Batch:
    """The shared state of the worker threads."""

    def __init__(self, args, program, model_path, fp_energy, out, total):
        self.args, self.program, self.model_path = args, program, model_path
        self.fp_energy, self.out, self.total = fp_energy, out, total
        self.queue = queue.Queue()
        self.rows = {}
        self.stop = threading.Event()
        # pyplot (the energy and confusion charts) is not thread-safe.
        self.figures = threading.Lock()
        self.lock = threading.Lock()
        self.finished = 0

    def say(self, text, err=False):
        with self.lock:
            print(text, file=sys.stderr if err else sys.stdout, flush=True)

    def worker(self, slot, device, driver, plan, hello):
        label = f"{device}#{slot}"
        try:
            while not self.stop.is_set():
                try:
                    k, path, folder = self.queue.get_nowait()
                except queue.Empty:
                    return
                t0 = time.perf_counter()
                try:
                    doc = self.one(path, self.out / folder, device, driver, plan, hello)
                    row = summary_row(path.name, folder, doc, status="done", device=label,
                                      slot=slot, seconds=time.perf_counter() - t0,
                                      classes=self.program.classes)
                except KeyboardInterrupt:
                    return
                except Exception as exc:  # noqa: BLE001 - a failed recording is a row
                    row = summary_row(path.name, folder, None, status="failed",
                                      device=label, slot=slot,
                                      seconds=time.perf_counter() - t0,
                                      classes=self.program.classes,
                                      error=_error_text(exc))
                self.record(k, row)
        finally:
            driver.close()

    def record(self, k, row):
        with self.lock:
            self.rows[k] = row
            self.finished += 1
            n = self.finished
        what = (f"{row['events']} events" + (f", {row['failed']} failed" if row["failed"]
                                              else "")
                + (f", accuracy {100 * row['accuracy']:.1f} %"
                   if row.get("accuracy") is not None else "")
                if row["status"] != "failed" else f"FAILED: {row['error']}")
        self.say(f"[infer] {n}/{self.total} {row['recording']} on {row['device']}"
                 f"{' (complete: skipped)' if row['status'] == 'skipped' else ''}: {what} "
                 f"({row['seconds']:.1f} s)")

    def one(self, source, out, device, driver, plan, hello):
        """Run one recording on this thread's device; its results document."""
        from ..program.file import content_hash
        from .classify import classify_all
        from .pipeline import link_stats, read_inputs, result_files, write_result_files
        from .device import POWER_MEASURED, POWER_MODELLED
        from .journal import Journal, run_identity

        args, program = self.args, self.program
        inputs = read_inputs(args, source, program, self.model_path)
        identity = run_identity(model_hash=content_hash(program), source=inputs.source,
                                x=inputs.x, device=device, items=len(inputs.x))
        journal = (Journal.resume(out, identity) if args.resume
                   and Journal.path_in(out).exists() else Journal.start(out, identity))
        caps = int(hello.get("caps", 0))
        since = dict(driver.stats)

        def on_result(index, inference):
            journal.append(index, inference)
            if self.stop.is_set():
                raise KeyboardInterrupt
        try:
            inferences = classify_all(
                driver, plan, program, inputs.x,
                read_power=bool(caps & (POWER_MEASURED | POWER_MODELLED)), progress=False,
                done=journal.done, on_result=on_result)
        finally:
            journal.close()
        with self.figures:
            files, doc, _ = result_files(
                name=source.stem, inputs=inputs, inferences=inferences, program=program,
                model_path=self.model_path, hello=hello, device_spec=device,
                fp_energy=self.fp_energy, link=link_stats(driver, since),
                html=not args.no_html)
        write_result_files(out, files)
        journal.remove()
        return doc


def run_batch(args, devices):
    """``attq-fpga infer DIR``; the exit status."""
    from ..atomic import check_output, write_text
    from ..device import DeviceError, check_device_string
    from ..errors import InputError
    from ..program.file import content_hash
    from .pipeline import OUTPUT_ROOM, board_name_of, check_run_options, load_program
    from .device import DeviceUnavailable, open_for_inference
    from .html_report import batch_index_html
    from .journal import Journal
    from .report import json_text

    folder = Path(args.recording)
    if args.truth is not None:
        raise InputError(f"--truth {args.truth}: for a folder, each recording's truth is "
                         f"the NAME.truth.csv beside it")
    check_run_options(args)
    recordings, ignored = find_recordings(folder)
    names = _folders(recordings)
    out = Path(args.out) if args.out else Path("runs") / "infer" / folder.resolve().name
    check_output(out, what=f"--out {out}", directory=True,
                 need_bytes=OUTPUT_ROOM * len(recordings))
    if not args.resume:
        for name in names:
            Journal.check_absent(out / name)
    for device in devices:
        check_device_string(device)
    program, model_path, fp_energy = load_program(args)
    model_hash = content_hash(program)
    for path in recordings:
        _check_recording(args, path)
    if ignored:
        print(f"[infer] not recordings, left alone: {', '.join(p.name for p in ignored)}")

    batch = _Batch(args, program, model_path, fp_energy, out, len(recordings))
    todo = []
    for k, (path, name) in enumerate(zip(recordings, names)):
        doc = _complete(out / name, model_hash, path, not args.no_html) \
            if args.resume else None
        if doc is not None:
            batch.record(k, summary_row(path.name, name, doc, status="skipped",
                                        device=doc.get("device", {}).get("spec"),
                                        slot=None, seconds=0.0, classes=program.classes))
        else:
            todo.append((k, path, name))

    opened, failures = [None] * len(devices), []

    def open_one(slot, device):
        try:
            opened[slot] = open_for_inference(device, program, model_path,
                                              faults=args.link_faults,
                                              fault_seed=args.fault_seed,
                                              timeout=args.link_timeout)
        except (DeviceUnavailable, DeviceError, InputError, OSError) as exc:
            failures.append((slot, device, exc))

    if todo:
        # The devices open side by side: the virtual board takes a while to start.
        openers = [threading.Thread(target=open_one, args=(slot, device), daemon=True)
                   for slot, device in enumerate(devices)]
        for t in openers:
            t.start()
        for t in openers:
            t.join()
        if failures:
            for got in opened:
                if got is not None:
                    got[0].close()
            for slot, device, exc in sorted(failures, key=lambda f: f[0]):
                if isinstance(exc, InputError):
                    raise exc
                text = str(exc) if device in str(exc) else f"device {device}: {exc}"
                print(f"attq-fpga infer: {text}", file=sys.stderr)
            return 1
        print(f"[infer] {len(todo)} of {len(recordings)} recordings from {folder} on "
              f"{len(devices)} device(s): " + ", ".join(
                  f"{d}#{slot} ({board_name_of(opened[slot][2])})"
                  for slot, d in enumerate(devices)), flush=True)
        for item in todo:
            batch.queue.put(item)
        workers = [threading.Thread(target=batch.worker,
                                    args=(slot, device, *opened[slot]), daemon=True)
                   for slot, device in enumerate(devices)]
        for t in workers:
            t.start()
        try:
            for t in workers:
                while t.is_alive():
                    t.join(0.2)
        except KeyboardInterrupt:
            batch.stop.set()
            for t in workers:
                t.join()
            print(f"[infer] interrupted: {batch.finished} of {len(recordings)} recordings "
                  f"finished; the classified events of the others are kept in their "
                  f"journals; continue with the same command and --resume", file=sys.stderr)
            raise

    rows = [batch.rows[k] for k in range(len(recordings))]
    for row in rows:
        if (out / row["folder"] / "report.html").is_file() and row["status"] != "failed":
            row["report"] = f"{row['folder']}/report.html"
    classes = list(program.classes)
    created = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    doc = {"command": "attq-fpga infer", "argv": sys.argv[1:], "folder": str(folder),
           "model": str(model_path), "model_hash": model_hash, "classes": classes,
           "devices": [f"{d}#{slot}" for slot, d in enumerate(devices)],
           "recordings": rows}
    write_text(out / "summary.csv", _csv_text(rows, classes))
    write_text(out / "summary.json", json_text(doc))
    write_text(out / "index.html", batch_index_html(
        rows, title=f"attq-fpga infer: {folder.resolve().name}", created=created,
        classes=classes))
    failed = [r for r in rows if r["status"] == "failed"]
    bad_events = sum(r.get("failed") or 0 for r in rows)
    print(f"[infer] {len(rows) - len(failed)} of {len(rows)} recordings reported"
          + (f", {len(failed)} FAILED (see summary.csv)" if failed else "")
          + (f", {bad_events} inferences failed" if bad_events else "")
          + f"; wrote {', '.join(SUMMARY_FILES)} in {out}")
    return 1 if failed or bad_events else 0

