"""The steps one ``attq-fpga infer`` run takes, shared by one recording
(:mod:`sw.infer.command`) and a folder of them (:mod:`sw.infer.batch`): the options checked
first, the program loaded, the inputs read, and the result files computed and written.
"""

import sys
from pathlib import Path

__all__ = ["ROOT", "DEFAULT_MODEL", "DEFAULT_FP_MODEL", "DEFAULT_DEVICE", "OUTPUT_FILES",
           "OUTPUT_ROOM", "check_run_options", "load_program", "read_inputs",
           "result_files", "write_result_files", "board_name_of", "link_stats"]

ROOT = Path(__file__).resolve().parent.parent.parent
#: The bundled default HITS program (models/README.md).
DEFAULT_MODEL = ROOT / "models" / "hits_attq.attq"
#: The full-precision model it was trained from (EC_G^T's reference).
DEFAULT_FP_MODEL = ROOT / "models" / "hits_fp.pt"
#: Every file a run may write in ``--out``; those a run does not write are removed, so that
#: no earlier run's file is read as this one's.
OUTPUT_FILES = ("results.csv", "results.json", "energy.json", "energy.png", "confusion.png",
                "report.html")
#: The device used when ``--device`` is not given.
DEFAULT_DEVICE = "sim"
#: Room asked of ``--out``'s file system before the run (the results of a long recording).
OUTPUT_ROOM = 16 << 20


def _fp_model_energy(path, program):
    """EC_T (Eq. 3, :func:`sw.metrics.energy`) of a full-precision PyTorch model."""
    import torch

    from .. import metrics
    from ..models import load_model
    model, _ = load_model(path)
    example = torch.zeros((1,) + tuple(program.input_shape))
    return metrics.energy(model, example, rounding="ceil")


def link_stats(driver, since=None):
    """The driver's retry counts and, behind a fault proxy, the damage it did; with
    ``since`` (an earlier ``driver.stats``), the driver's counts since then."""
    from ..device import FaultProxy
    counts = dict(driver.stats)
    if since is not None:
        counts = {k: v - since.get(k, 0) if isinstance(v, (int, float)) else v
                  for k, v in counts.items()}
    stats = {"driver": counts}
    proxy = driver.port
    if isinstance(proxy, FaultProxy):
        stats["faults"] = {"rates": {k: list(v) for k, v in proxy.rates.items()},
                           "damage": proxy.stats}
    return stats


def check_run_options(args):
    """The options every run checks first (fault injection, time-out): InputError."""
    from ..errors import InputError
    if args.link_faults is not None:
        drop, corrupt = args.link_faults
        if not (0 <= drop <= 1 and 0 <= corrupt <= 1 and drop + corrupt <= 1):
            raise InputError(f"--link-faults {drop} {corrupt}: each must be in [0, 1] and "
                             f"their sum at most 1")
    if args.link_timeout is not None and not 0 < args.link_timeout <= 600:
        raise InputError(f"--link-timeout {args.link_timeout}: expected seconds in (0, 600]")


def load_program(args):
    """``(program, model_path, fp_energy)``: the program of ``--model`` (checked) and the
    full-precision model's EC_T, when one is known."""
    from ..errors import InputError
    from ..program.file import load
    model_path = Path(args.model) if args.model else DEFAULT_MODEL
    program = load(model_path)
    if not program.classes:
        raise InputError(f"{model_path}: the program names no classes")
    fp_path = args.fp_model
    if fp_path is None and model_path.resolve() == DEFAULT_MODEL.resolve() \
            and DEFAULT_FP_MODEL.is_file():
        fp_path = DEFAULT_FP_MODEL
    fp_energy = _fp_model_energy(fp_path, program) if fp_path is not None else None
    return program, model_path, fp_energy


def read_inputs(args, source, program, model_path, truth_path=None):
    """The items of ``source`` (a recording, or the ESR CSV of ``--dataset``)."""
    from .inputs import esr_inputs, recording_inputs
    if args.dataset is not None:
        return esr_inputs(source, program, model_path)
    return recording_inputs(source, program, model_path, truth_path=truth_path,
                            max_clipped_fraction=args.max_clipped_fraction,
                            accept_truncated=args.accept_truncated)


def board_name_of(hello):
    """The HELLO's board as its name (``GOLDEN``, ``VIRTUAL``...)."""
    from .. import spec
    board = hello.get("board")
    return spec.Board(board).name if board in set(spec.Board) else str(board)


def result_files(*, name, inputs, inferences, program, model_path, hello, device_spec,
                 fp_energy, link, html=True):
    """Everything a run writes, computed: ``(files, doc, energy)``.

    ``files`` maps each file name of :data:`OUTPUT_FILES` the run writes to its text or
    bytes; ``doc`` is the ``results.json`` document, ``energy`` the energy report.
    """
    import datetime

    from ..program.file import content_hash
    from .energy import energy_png, energy_report
    from .report import build_rows, confusion_png, json_text, summary, csv_text

    clk_hz = int(hello.get("clk_hz", 0)) or None
    classes = list(program.classes)
    rows = build_rows(inputs, inferences, classes, clk_hz)
    summ = summary(rows, classes, inputs)
    energy = energy_report(program, inferences, hello, fp_model_energy_j=fp_energy)
    meta = {"command": "attq-fpga infer", "argv": sys.argv[1:], "kind": inputs.kind,
            "input": inputs.source, "model": str(model_path),
            "model_hash": content_hash(program), "classes": classes,
            "device": {"spec": device_spec, "board_name": board_name_of(hello),
                       **{k: v for k, v in hello.items() if k != "magic"}},
            "link": link}
    doc = {**meta, "summary": summ, "events": rows}
    files = {
        "results.csv": csv_text(rows, classes, inputs.kind, inputs.truth is not None),
        "results.json": json_text(doc),
        "energy.json": json_text({**meta, "energy": energy}),
    }
    files["energy.png"] = energy_png(energy, title=f"{name}: energy per inference")
    if summ.get("confusion") is not None:
        files["confusion.png"] = confusion_png(
            summ, f"{name}: {summ['scored']} events, accuracy "
                  f"{100 * summ['accuracy']:.1f} %")
    if html:
        from . import html_report as page
        created = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        files["report.html"] = page.html_report(
            doc, energy, energy_png=files["energy.png"], segments=inputs.segments,
            sample_rate_hz=inputs.segment_rate_hz, truth_events=inputs.truth_events,
            created=created)
    return files, doc, energy


def write_result_files(out, files):
    """Write ``files`` into ``out``, each atomically, and remove the files of
    :data:`OUTPUT_FILES` this run does not write (a previous run's)."""
    from ..atomic import write_bytes, write_text
    for fname, content in files.items():
        (write_text if isinstance(content, str) else write_bytes)(Path(out) / fname, content)
    for fname in set(OUTPUT_FILES) - set(files):
        (Path(out) / fname).unlink(missing_ok=True)
