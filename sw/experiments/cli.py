"""``attq-fpga experiment table2|grid``: the paper's two experiments."""

import sys

from ..train.settings import DEFAULT_RECIPE, RECIPES

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
    p.add_argument("--recipe", choices=sorted(RECIPES), default=None,
                   help="training recipe (sw.train.settings.RECIPES; default "
                        f"{DEFAULT_RECIPE}): paper is the authors' training, project "
                        "trains TTQ from its region means without normalizing it")
    p.add_argument("--pruned-grad", choices=("code", "paper"), default=None,
                   help="aTTQ STE in the pruned band: 1·g (code) or 0 (Eq. 2); default "
                        "the recipe's")
    p.add_argument("--init-scales", default=None, metavar="START",
                   help="the scales' start: unit ((1, -1), the authors' magnitudes with "
                        "aTTQ's sign), mean (region means) or code ((1, 1) as the authors' "
                        "code); default the recipe's. table2 takes a comma-separated list "
                        "and sets the tables side by side")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto",
                   help="where each task trains: auto (default) takes CUDA where the "
                        "worker has it, else the CPU; only CPU runs repeat bit for bit")
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
                   help="comma-separated values of t_min and t_max; a list that starts "
                        "with a minus sign goes after an equals sign: --values=-1,0,1")
    g.set_defaults(func=run)


def run(args):
    from ..errors import InputError
    from ..models.registry import read_model_config
    from ..quant import INIT_MODES
    from ..train.settings import DATASET_PRESET

    starts = ([v.strip() for v in args.init_scales.split(",") if v.strip()]
              if args.init_scales is not None else [None])
    bad = [v for v in starts if v is not None and v not in INIT_MODES]
    if bad or not starts or len(set(starts)) != len(starts):
        raise InputError(f"--init-scales {args.init_scales}: expected distinct values "
                         f"among {', '.join(INIT_MODES)}")
    if len(starts) > 1 and args.experiment != "table2":
        raise InputError(f"--init-scales {args.init_scales}: one start for the grid; "
                         f"table2 compares several")
    if len(starts) > 1 and getattr(args, "no_save_models", False):
        raise InputError("--init-scales with several starts keeps the FP models to share "
                         "them; drop --no-save-models")
    if args.device == "cuda" and not args.ray_address:
        # Local tasks run here: a missing GPU is known before any training. On a Ray
        # cluster the workers, not this machine, must have one.
        from ..train.trainer import torch_device
        torch_device("cuda")
    model_config = read_model_config(args.model_config,
                                     args.preset or DATASET_PRESET[args.dataset]) or None
    common = dict(dataset=args.dataset, model_config=model_config, out_dir=args.out,
                  preset=args.preset,
                  data_path=args.data_path, seed=args.seed, epochs_scale=args.epochs_scale,
                  epochs=args.epochs, n_train=args.n_train, n_test=args.n_test,
                  recipe=args.recipe, pruned_grad=args.pruned_grad, device=args.device,
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
        table = dict(reps=args.reps or 10, methods=methods, t_min=args.t_min,
                     t_max=args.t_max, **common)
        if len(starts) > 1:
            from .table2 import run_table2_starts
            rec = run_table2_starts(starts, **table)
        else:
            rec = run_table2(init_scales=starts[0], save_models=not args.no_save_models,
                             **table)
        print(rec["markdown"])
        print(f"wrote {args.out}")
        return 0
    from .grid import run_grid
    try:
        values = [float(v) for v in args.values.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"--values: expected comma-separated numbers, got {args.values!r}") \
            from None
    rec = run_grid(values=values, reps=args.reps or 5, init_scales=starts[0], **common)
    print(f"grid done in {rec['wall_seconds']:.0f} s; wrote {args.out}")
    return 0
