"""Layer selection by Hessian trace (HAWQ-v2): Hutchinson's estimator per layer.

HAWQ-v2 (Dong et al. 2020) ranks layers by the average Hessian trace of the loss with
respect to their weights, ``Tr(H_l) / n_l``: a small value means the loss is flat in that
layer, so it tolerates quantization. Hutchinson's estimator gives
``Tr(H) = E_v[vᵀ H v]`` with Rademacher ``v``; ``H v`` comes from a second backward pass.

The paper's selections, used by default everywhere, are each model's
``default_quantized`` (MNIST CNN: every convolution; 2D CNN on TFR: every convolution but
the first; 1D CNN-transformer: conv2 and every encoder layer's ``linear2``).
"""

import json

import numpy as np

__all__ = ["hutchinson_traces", "rank_layers", "register", "run"]


def hutchinson_traces(model, loss_fn, batches, layers=None, *, n_samples=50, seed=0):
    """Estimate ``Tr(H)`` of each layer's weight.

    Parameters
    ----------
    model : torch.nn.Module
        Put in eval mode (dropout off, batch norm frozen) for the estimate.
    loss_fn : callable
        ``loss_fn(model, x, y) -> scalar tensor``.
    batches : list of (x, y)
        The loss is the mean over these batches.
    layers : list of str, optional
        Layer names; default every Conv1d, Conv2d and Linear.
    n_samples : int
        Rademacher vectors.

    Returns
    -------
    dict
        ``{name: {"trace", "trace_std", "numel", "mean_trace"}}``; ``trace_std`` is the
        standard error of the estimate.
    """
    import torch
    from torch import nn

    modules = dict(model.named_modules())
    if layers is None:
        layers = [n for n, m in modules.items()
                  if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear))]
    params = [modules[n].weight for n in layers]
    was = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    est = np.zeros((n_samples, len(layers)))
    try:
        for x, y in batches:
            loss = loss_fn(model, x, y) / len(batches)
            grads = torch.autograd.grad(loss, params, create_graph=True)
            for s in range(n_samples):
                vs = [torch.randint(0, 2, p.shape, generator=gen).to(p.dtype) * 2 - 1
                      for p in params]
                hv = torch.autograd.grad(grads, params, grad_outputs=vs, retain_graph=True)
                for i, (v, h) in enumerate(zip(vs, hv)):
                    est[s, i] += float((v * h).sum())
    finally:
        model.train(was)
    out = {}
    for i, name in enumerate(layers):
        n = int(params[i].numel())
        t = float(est[:, i].mean())
        out[name] = dict(trace=t, trace_std=float(est[:, i].std(ddof=1) / np.sqrt(n_samples))
                         if n_samples > 1 else 0.0, numel=n, mean_trace=t / n)
    return out


def rank_layers(traces):
    """Layer names, flattest first (ascending average trace ``Tr(H)/n``)."""
    return sorted(traces, key=lambda n: traces[n]["mean_trace"])


def register(subparsers):
    p = subparsers.add_parser(
        "hessian", help="rank a trained model's layers by Hessian trace (HAWQ-v2)")
    p.add_argument("--model", required=True, help="saved model file (.pt)")
    p.add_argument("--dataset", choices=("mnist", "esr", "hits"), default="mnist")
    p.add_argument("--data", dest="data_path", default=None,
                   help="ESR: the CSV file; HITS: the dataset directory")
    p.add_argument("--samples", type=int, default=50, help="Rademacher vectors")
    p.add_argument("--n-data", type=int, default=256, help="training samples in the loss")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write the ranking as JSON here")
    p.set_defaults(func=run)


def run(args):
    import torch
    from torch import nn

    from .atomic import write_text
    from .errors import InputError
    from .models import load_model
    from .train.pipeline import load_dataset

    if args.samples < 1:
        raise InputError(f"--samples: expected at least 1, got {args.samples}")
    model, rec = load_model(args.model)
    split = load_dataset(args.dataset, transform=rec["input_transform"], seed=args.seed,
                         data_path=args.data_path)
    x = torch.from_numpy(split.x_train[:args.n_data])
    y = torch.from_numpy(split.y_train[:args.n_data])
    batches = [(x[i:i + args.batch_size], y[i:i + args.batch_size])
               for i in range(0, len(x), args.batch_size)]
    ce = nn.CrossEntropyLoss()
    traces = hutchinson_traces(model, lambda m, xb, yb: ce(m(xb), yb), batches,
                               n_samples=args.samples, seed=args.seed)
    order = rank_layers(traces)
    default = list(getattr(model, "default_quantized", ()))
    total = sum(p.numel() for p in model.parameters())
    print(f"{'layer':32s} {'Tr(H)/n':>12s} {'Tr(H)':>12s} {'± s.e.':>10s} {'weights':>9s}  paper")
    for n in order:
        t = traces[n]
        print(f"{n:32s} {t['mean_trace']:12.4g} {t['trace']:12.4g} {t['trace_std']:10.2g} "
              f"{t['numel']:9d}  {'quantized' if n in default else ''}")
    share = sum(traces[n]["numel"] for n in default if n in traces) / total
    print(f"paper's selection (default): {default} = {share:.2%} of the parameters")
    if args.out:
        write_text(args.out, json.dumps(dict(model=str(args.model), ranking=order,
                                             traces=traces, paper_selection=default,
                                             paper_selection_share=share), indent=1) + "\n")
    return 0
