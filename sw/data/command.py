"""The ``attq-fpga data`` command: check a data set, make a labelled one.

::

    attq-fpga data check mnist
    attq-fpga data check esr PATH/Epileptic_Seizure_Recognition.csv [--png tfr.png]
    attq-fpga data check hits DATASET_DIR [--seed 0] [--png tfr.png]
    attq-fpga data make hits --out DIR [--counts 403 569 569] [--subjects 12] [--seed 0]
    attq-fpga data make esr-synthetic OUT.csv [--rows 1150] [--seed 0]
    attq-fpga data from-recordings DIR --labels LABELS.csv --out OUT [--test-fraction 0.37]
        [--seed 0] [--no-split] [--require-detection] [--tolerance-s 0.05] [--no-progress]
"""

__all__ = ["register", "run_check", "run_synthetic_esr", "run_from_recordings"]

#: Mismatch rows printed; all of them are in OUT/mismatches.csv.
_PRINTED_MISMATCHES = 40


def register(subparsers):
    """Add ``data`` and its sub-commands to the ``attq-fpga`` parser."""
    parser = subparsers.add_parser(
        "data", help="check a data set (MNIST, ESR, HITS) or make a labelled one",
        description="check: load a data set as training would, report its split, and "
                    "optionally draw one time-frequency map per class as a PNG. make: "
                    "write a labelled data set (HITS segments from simulated patients, "
                    "the synthetic ESR stand-in). from-recordings: the HITS segment data "
                    "set from one's own labelled recordings.")
    sub = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    check = sub.add_parser("check", help="load a data set and print its split")
    check.add_argument("dataset", choices=("mnist", "esr", "hits"))
    check.add_argument("path", nargs="?", help="ESR CSV file or HITS dataset folder")
    check.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    check.add_argument("--png", help="save one time-frequency map per class (ESR, HITS)")
    check.set_defaults(func=run_check)

    make = sub.add_parser("make", help="make a labelled data set (HITS, synthetic ESR)",
                          description="Write a labelled data set in the layout "
                                      "`data check` and `train` read (docs/data.md).")
    kinds = make.add_subparsers(dest="make_dataset", required=True, metavar="DATASET")
    hits = kinds.add_parser(
        "hits", help="HITS segments (artefact, gaseous, solid) from simulated patients",
        description="Simulate patients' recordings, cut their HITS and write the labelled "
                    "segment data set (docs/data.md, docs/doppler-simulator.md).")
    from ..doppler.commands import add_hits_dataset_arguments
    add_hits_dataset_arguments(hits)

    syn = kinds.add_parser("esr-synthetic",
                           help="a SYNTHETIC stand-in for the ESR CSV (not EEG)")
    syn.add_argument("out", help="output CSV")
    syn.add_argument("--rows", type=int, default=1150, help="rows (default 1150)")
    syn.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    syn.set_defaults(func=run_synthetic_esr)

    rec = sub.add_parser(
        "from-recordings",
        help="the HITS segment data set from one's own recordings and a labels CSV",
        description="Run the HITS front end over a folder of recordings, match its "
                    "detections to the labelled events of LABELS.csv (recording,onset_s,"
                    "duration_s,class,subject[,split]), cut each event as `infer` would, "
                    "report every mismatch, and write the labelled segment data set that "
                    "`train hits` reads, split by subject (docs/data.md, 'Your own "
                    "recordings').")
    rec.add_argument("recordings", metavar="DIR",
                     help="folder of the recordings (stereo I/Q .wav or .npz)")
    rec.add_argument("--labels", required=True, metavar="LABELS.csv",
                     help="labelled events: recording,onset_s,duration_s,class,subject"
                          "[,split]")
    rec.add_argument("--out", required=True, help="output data set folder (new or empty)")
    rec.add_argument("--test-fraction", type=float, default=0.37,
                     help="share of the labelled events in the subject-wise test split "
                          "when the labels have no split column (default 0.37)")
    rec.add_argument("--seed", type=int, default=0, help="seed of that split (default 0)")
    rec.add_argument("--no-split", action="store_true",
                     help="leave the split column empty (the loader splits by subject)")
    rec.add_argument("--require-detection", action="store_true",
                     help="leave out labelled events the front end does not detect "
                          "(default: cut them centred on the label)")
    rec.add_argument("--tolerance-s", type=float, default=0.05,
                     help="widening of the intervals when detections are matched to "
                          "labels (default 0.05 s)")
    rec.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    rec.set_defaults(func=run_from_recordings)


def run_check(args):
    """Load the data set named by ``args`` and print its description and class counts."""
    import numpy as np

    from ..errors import InputError

    if args.dataset != "mnist" and not args.path:
        raise InputError(f"data check {args.dataset}: expected a PATH "
                         f"({'the ESR CSV' if args.dataset == 'esr' else 'the dataset folder'})")
    if args.dataset == "mnist":
        from .mnist import load_mnist
        split = load_mnist(seed=args.seed)
    elif args.dataset == "esr":
        from .esr import load_esr
        split = load_esr(args.path, seed=args.seed)
    else:
        from .hits import load_hits
        split = load_hits(args.path, seed=args.seed)
    print(split.description)
    print(f"source: {split.source}")
    print(f"x_train {list(split.x_train.shape)}  x_test {list(split.x_test.shape)}")
    for name, train, test in zip(split.classes, split.class_counts("train"),
                                 split.class_counts("test")):
        print(f"  {name:>14}: {train:6d} train {test:6d} test")
    if args.png:
        if args.dataset == "mnist":
            raise InputError("--png: time-frequency maps are for ESR and HITS, not MNIST")
        from .tfr import tfr
        from .tfr_plot import save_tfr_png
        picks = [np.flatnonzero(split.y_train == c)[:1] for c in range(split.n_classes)]
        picks = np.concatenate(picks)
        rate = 178.0 if args.dataset == "esr" else _hits_rate(args.path)
        save_tfr_png(tfr(split.x_train[picks]), args.png, sample_rate_hz=rate,
                     titles=[split.classes[c] for c in split.y_train[picks]])
        print(f"wrote {args.png}")
    return 0


def _hits_rate(directory):
    import json
    from pathlib import Path

    return json.loads((Path(directory) / "dataset.json").read_text())["sample_rate_hz"]


def run_synthetic_esr(args):
    """Write the synthetic ESR CSV named by ``args``."""
    from ..atomic import check_output
    from ..errors import InputError
    from .esr_synthetic import write_synthetic_esr

    if args.rows < 5:
        raise InputError(f"--rows: expected at least 5 (one per label), got {args.rows}")
    check_output(args.out, what=f"out {args.out}")
    path = write_synthetic_esr(args.out, n_rows=args.rows, seed=args.seed)
    print(f"wrote {path}: {args.rows} SYNTHETIC rows in the ESR CSV format (not EEG; "
          "no accuracy is claimed on it)")
    return 0


def _from_recordings_command(args):
    """The command line as parsed, for dataset.json (``sys.argv`` is not it when
    :func:`sw.cli.main` is called with a list)."""
    import shlex

    words = ["attq-fpga", "data", "from-recordings", args.recordings, "--labels",
             args.labels, "--out", args.out, "--test-fraction", str(args.test_fraction),
             "--seed", str(args.seed), "--tolerance-s", str(args.tolerance_s)]
    words += ["--no-split"] * args.no_split + \
        ["--require-detection"] * args.require_detection
    return shlex.join(words)


def run_from_recordings(args):
    """``data from-recordings``: write the data set, print its split and the mismatches."""
    from ..atomic import check_output
    from ..doppler.from_recordings import MISMATCH_KINDS, dataset_from_recordings
    from ..doppler.recording import CLASSES

    check_output(args.out, what=f"--out {args.out}", directory=True)
    summary = dataset_from_recordings(
        args.recordings, args.labels, args.out, test_fraction=args.test_fraction,
        seed=args.seed, write_split=not args.no_split,
        require_detection=args.require_detection, tolerance_s=args.tolerance_s,
        progress=not args.no_progress, command=_from_recordings_command(args))
    per_class = summary["per_class"]
    total = {c: sum(per_class[c].values()) for c in CLASSES}
    print(f"wrote {args.out}: {summary['segments']} segments "
          f"({', '.join(f'{total[c]} {c}' for c in CLASSES)}) from "
          f"{len(summary['recordings'])} recordings")
    print(f"split: {summary['split_rule']}")
    splits = [s for s in ("train", "test", "") if s in summary["subjects"]]
    print(f"  {'':>6} " + " ".join(f"{c:>9}" for c in CLASSES) + "  subjects")
    for split in splits:
        names = summary["subjects"][split]
        print(f"  {split or '(none)':>6} " +
              " ".join(f"{per_class[c].get(split, 0):9d}" for c in CLASSES) +
              f"  {len(names)}: {', '.join(names)}")
    if len(summary["subjects"].get("", [])) == 1:
        print("note: one subject: the loader's subject-wise split needs at least 2; add "
              "recordings of other subjects before training on it")
    mismatches = summary["mismatches"]
    counts = summary["mismatch_counts"]
    kinds = ", ".join(f"{counts[k]} {k}" for k in MISMATCH_KINDS if counts[k])
    print(f"mismatches: {len(mismatches)}" + (f" ({kinds})" if kinds else "") +
          f"; listed in {args.out}/mismatches.csv")
    if mismatches:
        cols = ("kind", "recording", "label_row", "class", "onset_s", "duration_s",
                "detection_onset_s", "detection_duration_s", "action")
        table = [cols] + [tuple(str(m[c]) for c in cols)
                          for m in mismatches[:_PRINTED_MISMATCHES]]
        widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
        for r in table:
            print("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
        if len(mismatches) > _PRINTED_MISMATCHES:
            print(f"  ... and {len(mismatches) - _PRINTED_MISMATCHES} more in "
                  f"{args.out}/mismatches.csv")
    return 0
