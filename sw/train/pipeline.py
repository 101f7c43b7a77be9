"""One repetition of the paper's protocol: FP pre-training, then each quantization method
fine-tuned from the FP model, then test metrics. Tasks are plain dicts so they can run in
a process pool or on a Ray cluster."""

import copy
import time
from pathlib import Path

import numpy as np

__all__ = ["load_dataset", "run_repetition", "TASK_DEFAULTS"]

#: Keys of a task dict and their defaults.
TASK_DEFAULTS = dict(
    dataset="mnist", preset=None, data_path=None, rep=0, seed=0,
    methods=("fp", "dorefa", "ttq", "attq"), epochs_scale=1.0, epochs=None,
    n_train=None, n_test=None, t_min=None, t_max=None, recipe=None, pruned_grad=None,
    init_scales=None, out_dir=None, resume=True, progress=False, threads=1, device="cpu",
    fp_path=None, model_config=None,
)


def load_dataset(dataset, preset=None, *, seed, data_path=None, transform=None):
    """The :class:`sw.data.Split` of ``dataset``: its raw samples (MNIST pixels 0..255,
    ESR rows as in the CSV, HITS I/Q segments) through the model's input transform,
    computed by :func:`sw.data.transform.apply_transform`.

    ``transform`` (an :class:`~sw.program.transform.InputTransform` or its dict, e.g. a
    saved model's ``input_transform``) defaults to ``preset``'s
    (:data:`sw.models.registry.PRESET_INPUTS`).
    """
    from ..data.transform import apply_transform
    from ..program.transform import InputTransform
    from ..errors import InputError
    from ..models.registry import preset_transform

    if transform is None:
        if preset is None:
            raise ValueError("load_dataset: give a preset or a transform")
        transform = preset_transform(preset)
    transform = InputTransform.from_dict(transform)
    if dataset == "mnist":
        from ..data.mnist import load_mnist
        split = load_mnist(seed=seed, raw=True)
    elif dataset == "esr":
        from ..data.esr import load_esr
        if data_path is None:
            raise InputError("--data: the ESR dataset needs the path of its CSV file")
        split = load_esr(data_path, seed=seed, raw=True)
    elif dataset == "hits":
        from ..data.hits import load_hits
        if data_path is None:
            raise InputError("--data: the HITS dataset needs its directory "
                             "(attq-fpga data make hits --out DIR)")
        split = load_hits(data_path, seed=seed)
    else:
        raise InputError(f"--dataset: expected mnist, esr or hits, got {dataset!r}")
    split.x_train = apply_transform(transform, split.x_train)
    split.x_test = apply_transform(transform, split.x_test)
    split.description += f"; model input: {transform.describe()}"
    return split


def _subset(x, y, n, seed):
    if n is None or n >= len(y):
        return x, y
    idx = np.sort(np.random.default_rng(seed).permutation(len(y))[:n])
    return x[idx], y[idx]


def run_repetition(task):
    """Run one repetition; return its per-method results (a JSON-able dict).

    ``task`` keys: see :data:`TASK_DEFAULTS`. With ``out_dir``, each trained model is
    saved (docs/model-format.md) as ``models/rep{rep}_{method}.pt``; with ``resume`` a
    saved model trained with the same settings is loaded instead of retrained.
    """
    import torch

    from .. import metrics as M
    from ..errors import InputError
    from ..models import build_preset, load_model, save_model
    from ..models.registry import PRESETS, preset_transform
    from ..quant import QuantConfig, quantize_model
    from .settings import DATASET_PRESET, recipe
    from .trainer import fit, predict, seed_everything, torch_device

    t = {**TASK_DEFAULTS, **task}
    # Resolved here, where the task runs: "auto" takes the GPU of the worker that has one.
    device = torch_device(t["device"])
    how = recipe(t["recipe"])
    overrides = {key: t[key] for key in ("init_scales", "pruned_grad") if t[key] is not None}

    def options(method):
        return {**how.quant_options(method), **overrides}

    torch.set_num_threads(int(t["threads"]))
    preset = t["preset"] or DATASET_PRESET[t["dataset"]]
    seed = int(t["seed"]) + int(t["rep"])
    transform = preset_transform(preset)
    split = load_dataset(t["dataset"], seed=seed, data_path=t["data_path"],
                         transform=transform)
    x_tr, y_tr = _subset(split.x_train, split.y_train, t["n_train"], seed)
    x_te, y_te = _subset(split.x_test, split.y_test, t["n_test"], seed + 1)
    n_classes = split.n_classes
    t_min, t_max = how.t_range(preset)
    t_min = t_min if t["t_min"] is None else float(t["t_min"])
    t_max = t_max if t["t_max"] is None else float(t["t_max"])
    arch = PRESETS[preset][0]
    out_dir = Path(t["out_dir"]) if t["out_dir"] else None
    example = torch.from_numpy(x_te[:1])

    def cfg_for(method):
        cfg = how.train_config(preset, method)
        if t["epochs"] is not None:
            cfg.epochs = int(t["epochs"])
        return cfg.scaled(t["epochs_scale"])

    def trained(method, make, quant):
        cfg = cfg_for(method)
        training = dict(cfg.to_dict(), seed=seed, n_train=len(y_tr))
        path = out_dir / "models" / f"rep{t['rep']}_{method}.pt" if out_dir else None
        if path is not None and t["resume"] and path.exists():
            try:
                model, rec = load_model(path, trainable=True)
            except InputError:
                rec = None  # unreadable or older format: train again
            if (rec is not None and rec["training"].get("settings") == training
                    and rec["quant"] == quant.to_dict()
                    and rec["input_transform"] == transform.to_dict()):
                return model, rec["training"]["seconds"], path
        model = make()
        start = time.perf_counter()
        ckpt = None
        if out_dir is not None:
            # Mid-training state, so an interrupted run resumes where it stopped.
            ckpt = out_dir / "checkpoints" / f"rep{t['rep']}_{method}.ckpt"
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            if not t["resume"]:
                ckpt.unlink(missing_ok=True)
        fit(model, x_tr, y_tr, cfg, n_classes=n_classes, seed=seed,
            progress=t["progress"], desc=f"rep {t['rep']} {method}", checkpoint=ckpt,
            device=device)
        # Measured, saved and compared on the CPU, wherever it was trained.
        return model.cpu(), time.perf_counter() - start, path

    seed_everything(seed)
    fp_quant = QuantConfig(method="fp")
    if t["fp_path"] is not None:
        # A shared pre-trained FP model (the grid experiment trains it once per repetition).
        fp_model, rec = load_model(t["fp_path"])
        fp_seconds, fp_path = rec["training"].get("seconds", 0.0), Path(t["fp_path"])
    else:
        fp_model, fp_seconds, fp_path = trained(
            "fp", lambda: build_preset(preset, **{**(t["model_config"] or {}),
                                                 "n_classes": n_classes}), fp_quant)
    results = {}
    for method in t["methods"]:
        if method == "fp":
            model, seconds, path, quant = fp_model, fp_seconds, fp_path, fp_quant
        else:
            layers = list(fp_model.default_quantized)
            quant = QuantConfig(method=method, layers=layers, t_min=t_min, t_max=t_max,
                                **options(method))

            def make(quant=quant):
                return quantize_model(copy.deepcopy(fp_model), quant)

            model, seconds, path = trained(method, make, quant)
        y_pred = predict(model, x_te)
        layers = list(fp_model.default_quantized)
        r = M.model_metrics(fp_model, model, layers, example, y_te, y_pred)
        r.update(accuracy=float((y_pred == y_te).mean()), train_seconds=seconds,
                 epochs=cfg_for(method).epochs)
        results[method] = r
        if path is not None and not (method == "fp" and t["fp_path"] is not None):
            save_model(path, model, arch=arch, preset=preset, quant=quant, metrics=r,
                       input_transform=transform,
                       data=dict(dataset=t["dataset"], source=split.source,
                                 description=split.description, classes=split.classes,
                                 n_train=len(y_tr), n_test=len(y_te)),
                       training=dict(settings=dict(cfg_for(method).to_dict(), seed=seed,
                                                   n_train=len(y_tr)),
                                     seconds=seconds, method=method))
    return dict(rep=int(t["rep"]), seed=seed, preset=preset, dataset=t["dataset"],
                source=split.source, description=split.description,
                t_min=t_min, t_max=t_max, n_train=len(y_tr), n_test=len(y_te),
                device=str(device), recipe=how.name, **options("attq"),
                ttq_init_scales=options("ttq")["init_scales"],
                methods=results)
