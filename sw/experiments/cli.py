"""``attq-fpga experiment table2|grid``: the paper's two experiments."""

import sys

__all__ = ["register", "run"]


def _common(p):
    p.add_argument("--dataset", choices=("mnist", "esr", "hits"), default="mnist")
    p.add_argument("--data", dest="data_path", default=None,
                   help="ESR: the CSV file; HITS: the dataset directory")
    p.add_argument("--preset", default=None, help="model preset (default per dataset)")
    p.add_argument("--model-config", default=None, metavar="JSON",
                   help='preset overrides, e.g. \'{"n_filters": 12}\'')
    p.add_argument("--reps", type=int, default=None, help="repetitions (seeds seed..)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/experiment", help="output directory")
    p.add_argument("--epochs-scale", type=float, default=1.0,
                   help="multiply Table 1's epochs by this factor")
    p.add_argument("--epochs", type=int, default=None, help="override every method's epochs")
    p.add_argument("--n-train", type=int, default=None, help="use a subset of training data")
    p.add_argument("--n-test", type=int, default=None, help="use a subset of test data")
    p.add_argument("--pruned-grad", choices=("code", "paper"), default="code",
                   help="aTTQ STE in the pruned band: 1·g (code) or 0 (Eq. 2)")
    p.add_argument("--init-scales", choices=("mean", "code"), default="mean")
    p.add_argument("--workers", type=int, default=None,
                   help="local processes (default: one per core, at most one per task)")
    p.add_argument("--ray", dest="ray_address", default=None, metavar="ADDRESS",
                   help="run the tasks on a Ray cluster (needs the optional ray package)")
    p.add_argument("--no-progress", action="store_true")


def register(subparsers):
    p = subparsers.add_parser("experiment", help="run the paper's experiments (Table 2, grid)")
    sub = p.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    t = sub.add_parser("table2", help="FP, DoReFa, TTQ and aTTQ, mean ± std (Table 2)")
    _common(t)
    t.add_argument("--t-min", type=float, default=None, help="aTTQ t_min (default Table 1)")
    t.add_argument("--t-max", type=float, default=None, help="aTTQ t_max (default Table 1)")
    t.add_argument("--methods", default="fp,dorefa,ttq,attq")
    t.add_argument("--no-save-models", action="store_true")
    t.set_defaults(func=run)
    g = sub.add_parser("grid", help="t_min × t_max grid of aTTQ with MCC/SRQW heatmaps")
    _common(g)
    g.add_argument("--values", default="-2,-1.5,-1,-0.5,0,0.5,1,1.5,2",
                   help="comma-separated values of t_min and t_max")
    g.set_defaults(func=run)


def run(args):
    from ..errors import InputError
    from ..models.registry import read_model_config
    from ..train.settings import DATASET_PRESET

    model_config = read_model_config(args.model_config,
                                     args.preset or DATASET_PRESET[args.dataset]) or None
    common = dict(dataset=args.dataset, model_config=model_config, out_dir=args.out,
                  preset=args.preset,
                  data_path=args.data_path, seed=args.seed, epochs_scale=args.epochs_scale,
                  epochs=args.epochs, n_train=args.n_train, n_test=args.n_test,
                  pruned_grad=args.pruned_grad, init_scales=args.init_scales,
                  workers=args.workers, ray_address=args.ray_address,
                  progress=not args.no_progress, argv=["attq-fpga"] + sys.argv[1:])
    if args.epochs_scale <= 0:
        raise InputError(f"--epochs-scale: expected a positive factor, got {args.epochs_scale}")
    if args.experiment == "table2":
        from .table2 import METHODS_ORDER, run_table2
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
        bad = [m for m in methods if m not in METHODS_ORDER]
        if bad:
            raise InputError(f"--methods: unknown {bad}; expected some of {METHODS_ORDER}")
        if (args.t_min is not None and args.t_max is not None and args.t_min > args.t_max):
            raise InputError(f"--t-min/--t-max: aTTQ needs t_min <= t_max, got "
                             f"{args.t_min} > {args.t_max}")
        rec = run_table2(reps=args.reps or 10, methods=methods, t_min=args.t_min,
                         t_max=args.t_max, save_models=not args.no_save_models, **common)
        print(rec["markdown"])
        print(f"wrote {args.out}")
        return 0
    from .grid import run_grid
    try:
        values = [float(v) for v in args.values.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"--values: expected comma-separated numbers, got {args.values!r}") \
            from None
    rec = run_grid(values=values, reps=args.reps or 5, **common)
    print(f"grid done in {rec['wall_seconds']:.0f} s; wrote {args.out}")
    return 0
