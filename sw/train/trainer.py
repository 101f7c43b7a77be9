"""Train and evaluate one model: Adamax (three groups for quantized models), class-weighted
cross entropy, plateau or Noam schedules, deterministic on the CPU."""

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..quant import parameter_groups, quantized_layers
from .noam import noam_scheduler

__all__ = ["fit", "predict", "class_weights", "seed_everything", "torch_device"]


def seed_everything(seed):
    """Seed torch and numpy, and ask torch for deterministic kernels."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    torch.use_deterministic_algorithms(True, warn_only=True)


def torch_device(name):
    """The torch device of a ``--device`` value: ``cpu``, ``cuda`` or ``auto`` (CUDA when
    present, else the CPU).

    Raises
    ------
    InputError
        For ``cuda`` where torch sees no CUDA device.
    """
    from ..errors import InputError

    available = torch.cuda.is_available()
    if name == "cuda" and not available:
        raise InputError(f"--device cuda: CUDA is not available here (torch "
                         f"{torch.__version__}, {torch.cuda.device_count()} CUDA devices); "
                         f"use --device cpu, or auto (which takes CUDA when present)")
    if name not in ("cpu", "cuda", "auto"):
        raise InputError(f"--device {name}: expected cpu, cuda or auto")
    return torch.device("cuda" if name == "cuda" or (name == "auto" and available)
                        else "cpu")


def class_weights(y, n_classes):
    """``n / (k · n_c)`` per class (sklearn's "balanced"); absent classes get 0."""
    counts = np.bincount(np.asarray(y), minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 0.0)
    return torch.tensor(w, dtype=torch.float32)


def _optimizer(model, cfg):
    kw = dict(lr=cfg.lr, betas=(0.9, 0.999), weight_decay=cfg.weight_decay)
    if quantized_layers(model):
        # The authors' three optimizers (other parameters, full-precision copies of the
        # quantized kernels, scales) with one learning rate: Adamax keeps per-parameter
        # state, so three param groups of one Adamax are the same update.
        groups = [{"params": g, "name": n} for n, g in parameter_groups(model).items() if g]
    else:
        groups = [{"params": list(model.parameters()), "name": "all"}]
    return torch.optim.Adamax(groups, **kw)


def _save_checkpoint(path, state):
    """Write a mid-training checkpoint atomically."""
    from ..atomic import atomic_path

    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def fit(model, x, y, cfg, *, n_classes, seed=0, progress=True, desc="train",
        checkpoint=None, checkpoint_every=10, checkpoint_meta=None, device=None,
        on_epoch=None):
    """Train ``model`` in place on ``(x, y)``.

    Parameters
    ----------
    model : torch.nn.Module
    x, y : numpy.ndarray
        Inputs (float32) and labels (int64).
    cfg : TrainConfig
    n_classes : int
    seed : int
        Seeds the initial state and the batch order.
    progress : bool
        Show a tqdm bar over epochs.
    checkpoint : path-like, optional
        Every ``checkpoint_every`` epochs the whole training state (model, optimizer,
        schedulers, random generators, history) is written here; if the file exists when
        ``fit`` starts, training resumes from it and ends with the same weights as an
        uninterrupted run. The file is removed when training completes.
    checkpoint_meta : dict, optional
        Recorded in the checkpoint (``meta``, e.g. the training phase); a checkpoint whose
        ``meta`` differs is refused with ValueError instead of resumed.
    device : torch.device or str, optional
        Where to train (default: where the model is). The model is moved there and left
        there; batches are moved one by one. Only CPU runs are bit-for-bit repeatable.
    on_epoch : callable, optional
        ``on_epoch(epochs_done, history)`` after each epoch, once its checkpoint is
        written (a ``KeyboardInterrupt`` raised here stops training like Ctrl-C).

    Returns
    -------
    dict
        ``loss`` (mean training loss per epoch) and ``lr`` (first group's lr per epoch).
    """
    from tqdm.auto import tqdm

    seed_everything(seed)
    if device is not None:
        model.to(device)
    device = next(model.parameters()).device
    xt, yt = torch.from_numpy(np.asarray(x)), torch.from_numpy(np.asarray(y))
    weight = class_weights(y, n_classes) if cfg.class_weights else None
    loss_fn = nn.CrossEntropyLoss(weight=None if weight is None else weight.to(device))
    opt = _optimizer(model, cfg)
    step_sched = epoch_sched = None
    if cfg.optimizer == "noam":
        step_sched = noam_scheduler(opt, cfg.d_model, cfg.warmup)
    elif cfg.optimizer != "adamax":
        raise ValueError(f"optimizer must be 'adamax' or 'noam', not {cfg.optimizer!r}")
    if cfg.plateau:
        epoch_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.1, patience=5)
    gen = torch.Generator().manual_seed(seed)
    history = {"loss": [], "lr": []}
    start = 0
    if checkpoint is not None and Path(checkpoint).exists():
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        if state.get("meta") != checkpoint_meta:
            raise ValueError(f"{checkpoint}: written by another run (meta "
                             f"{state.get('meta')!r}, expected {checkpoint_meta!r})")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        if step_sched is not None:
            step_sched.load_state_dict(state["step_sched"])
        if epoch_sched is not None:
            epoch_sched.load_state_dict(state["epoch_sched"])
        gen.set_state(state["gen"])
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], device)
        history, start = state["history"], state["epoch"]
    n = len(xt)
    bar = tqdm(range(start, cfg.epochs), desc=desc, disable=not progress, leave=False,
               initial=start, total=cfg.epochs)
    for epoch in bar:
        model.train()
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[idx].to(device)), yt[idx].to(device))
            loss.backward()
            opt.step()
            if step_sched is not None:
                step_sched.step()
            total += loss.item() * len(idx)
        mean = total / n
        if epoch_sched is not None:
            epoch_sched.step(mean)
        history["loss"].append(mean)
        history["lr"].append(opt.param_groups[0]["lr"])
        bar.set_postfix(loss=f"{mean:.4f}")
        done = epoch + 1
        if checkpoint is not None and done < cfg.epochs and done % checkpoint_every == 0:
            _save_checkpoint(checkpoint, dict(
                model=model.state_dict(), opt=opt.state_dict(),
                step_sched=step_sched.state_dict() if step_sched is not None else None,
                epoch_sched=epoch_sched.state_dict() if epoch_sched is not None else None,
                gen=gen.get_state(), torch_rng=torch.get_rng_state(), history=history,
                epoch=done, meta=checkpoint_meta,
                cuda_rng=(torch.cuda.get_rng_state(device) if device.type == "cuda"
                          else None)))
        if on_epoch is not None:
            on_epoch(done, history)
    if checkpoint is not None:
        Path(checkpoint).unlink(missing_ok=True)
    model.eval()
    return history


@torch.no_grad()
def predict(model, x, batch_size=512):
    """Class index predictions of ``model`` (eval mode, on its device) on ``x``."""
    model.eval()
    device = next(model.parameters()).device
    xt = torch.from_numpy(np.asarray(x))
    out = [model(xt[i:i + batch_size].to(device)).argmax(1).cpu()
           for i in range(0, len(xt), batch_size)]
    return torch.cat(out).numpy()
