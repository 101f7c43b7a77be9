"""The ``attq-fpga data`` command: check a data set, make a labelled one.

::

    attq-fpga data check mnist
    attq-fpga data check esr PATH/Epileptic_Seizure_Recognition.csv [--png tfr.png]
    attq-fpga data check hits DATASET_DIR [--seed 0] [--png tfr.png]
    attq-fpga data make hits --out DIR [--counts 403 569 569] [--subjects 12] [--seed 0]
    attq-fpga data make esr-synthetic OUT.csv [--rows 1150] [--seed 0]
"""

__all__ = ["register", "run_check", "run_synthetic_esr"]


def register(subparsers):
    """Add ``data`` and its sub-commands to the ``attq-fpga`` parser."""
    parser = subparsers.add_parser(
        "data", help="check a data set (MNIST, ESR, HITS) or make a labelled one",
        description="check: load a data set as training would, report its split, and "
                    "optionally draw one time-frequency map per class as a PNG. make: "
                    "write a labelled data set (HITS segments from simulated patients, "
                    "the synthetic ESR stand-in).")
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
