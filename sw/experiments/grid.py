"""Experiment 2: the t_min × t_max grid of aTTQ, MCC and SRQW heatmaps."""

import json
import time
import warnings
from pathlib import Path

import numpy as np

from ..atomic import atomic_path, write_text
from ..train.pipeline import run_repetition
from ..results import provenance
from .runner import run_tasks

__all__ = ["run_grid", "plot_heatmaps", "PAPER_VALUES"]

#: The paper's values of t_min and t_max.
PAPER_VALUES = (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)


def plot_heatmaps(values, mcc, srqw, path):
    """Two heatmaps (MCC, SRQW; mean over repetitions) side by side, saved as PNG.

    ``mcc`` and ``srqw`` are ``[len(values), len(values)]`` arrays indexed
    ``[t_min, t_max]``; NaN marks cells with t_min > t_max.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax, data, title in ((axes[0], mcc, "MCC"), (axes[1], srqw, "SRQW")):
        im = ax.imshow(data, origin="lower", cmap="viridis")
        ax.set_xticks(range(len(values)), [f"{v:g}" for v in values])
        ax.set_yticks(range(len(values)), [f"{v:g}" for v in values])
        ax.set_xlabel("t_max")
        ax.set_ylabel("t_min")
        ax.set_title(f"aTTQ {title} (mean over repetitions)")
        for i in range(len(values)):
            for j in range(len(values)):
                if np.isfinite(data[i, j]):
                    ax.text(j, i, f"{data[i, j]:.2f}", ha="center", va="center",
                            fontsize=7, color="w")
        fig.colorbar(im, ax=ax)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def run_grid(*, dataset="esr", out_dir, values=PAPER_VALUES, reps=5, preset=None,
             data_path=None, seed=0, epochs_scale=1.0, epochs=None, n_train=None,
             n_test=None, recipe=None, pruned_grad=None, init_scales=None,
             model_config=None, device="cpu",
             workers=None,
             ray_address=None, progress=True, argv=None):
    """Run every cell (t_min <= t_max) × repetition as an independent task.

    The FP model of each repetition is trained once (first phase) and every cell
    fine-tunes aTTQ from it. Writes ``grid_<dataset>.json`` and ``grid_<dataset>.png``.
    """
    out_dir = Path(out_dir)
    values = [float(v) for v in values]
    common = dict(dataset=dataset, preset=preset, data_path=data_path, seed=seed,
                  epochs_scale=epochs_scale, epochs=epochs, n_train=n_train, n_test=n_test,
                  recipe=recipe, pruned_grad=pruned_grad, init_scales=init_scales,
                  model_config=model_config, device=device)
    start = time.perf_counter()
    fp_tasks = [dict(common, rep=r, methods=("fp",), out_dir=str(out_dir / "fp"))
                for r in range(reps)]
    fp_out = run_tasks(run_repetition, fp_tasks, workers=workers, ray_address=ray_address,
                       progress=progress, desc="grid FP models")
    cells = [(i, j) for i in range(len(values)) for j in range(len(values))
             if values[i] <= values[j]]
    tasks = [dict(common, rep=r, methods=("attq",), t_min=values[i], t_max=values[j],
                  fp_path=str(out_dir / "fp" / "models" / f"rep{r}_fp.pt"))
             for (i, j) in cells for r in range(reps)]
    outs = run_tasks(run_repetition, tasks, workers=workers, ray_address=ray_address,
                     progress=progress, desc="grid cells")
    wall = time.perf_counter() - start
    n = len(values)
    mcc = np.full((n, n, reps), np.nan)
    srqw = np.full((n, n, reps), np.nan)
    k = 0
    for (i, j) in cells:
        for r in range(reps):
            res = outs[k]["methods"]["attq"]
            mcc[i, j, r], srqw[i, j, r] = res["mcc"], res["srqw"]
            k += 1
    with warnings.catch_warnings():
        # Cells with t_min > t_max are all-NaN on purpose.
        warnings.simplefilter("ignore", RuntimeWarning)
        mcc_m, srqw_m = np.nanmean(mcc, 2), np.nanmean(srqw, 2)
        mcc_s, srqw_s = np.nanstd(mcc, 2), np.nanstd(srqw, 2)
    tag = f"grid_{dataset}"
    plot_heatmaps(values, mcc_m, srqw_m, out_dir / f"{tag}.png")

    def clean(a):
        return [[None if not np.isfinite(x) else float(x) for x in row] for row in a]

    record = dict(provenance(argv), wall_seconds=wall,
                  settings=dict(common, reps=reps, values=values,
                                preset=fp_out[0]["preset"],
                                **{k: outs[0][k] for k in ("recipe", "init_scales",
                                                           "pruned_grad", "ttq_normalize")},
                                devices=sorted({o["device"] for o in fp_out + outs})),
                  data=dict(source=fp_out[0]["source"], description=fp_out[0]["description"]),
                  fp_mcc=[o["methods"]["fp"]["mcc"] for o in fp_out],
                  mcc_mean=clean(mcc_m), srqw_mean=clean(srqw_m),
                  mcc_std=clean(mcc_s), srqw_std=clean(srqw_s),
                  index="[t_min index][t_max index]; null where t_min > t_max")
    write_text(out_dir / f"{tag}.json", json.dumps(record, indent=1) + "\n")
    write_text(out_dir / f"{tag}.md", grid_markdown(record, tag))
    return record


def grid_markdown(record, tag):
    """The grid's results file: MCC and SRQW per cell (mean ± std, %) and provenance."""
    s = record["settings"]
    values = s["values"]

    def table(mean, std):
        head = "| t_min \\ t_max | " + " | ".join(f"{v:g}" for v in values) + " |"
        rows = [head, "|---|" + "---:|" * len(values)]
        for i, v in enumerate(values):
            cells = ["" if mean[i][j] is None else
                     f"{100 * mean[i][j]:.1f} ± {100 * std[i][j]:.1f}"
                     for j in range(len(values))]
            rows.append(f"| {v:g} | " + " | ".join(cells) + " |")
        return "\n".join(rows)

    fp = np.array(record["fp_mcc"])
    wall = record["wall_seconds"]
    return "\n".join([
        f"# aTTQ over the t_min × t_max grid — {s['dataset']} ({s['preset']})", "",
        f"![MCC and SRQW heatmaps]({tag}.png)", "",
        f"Mean ± std (ddof 0, %) over {s['reps']} repetitions (seeds {s['seed']}.."
        f"{s['seed'] + s['reps'] - 1}); each repetition's FP model (MCC "
        f"{100 * fp.mean():.2f} ± {100 * fp.std():.2f} %) is trained once and every cell "
        f"fine-tunes aTTQ from it. Cells with t_min > t_max are empty.",
        f"Data: {record['data']['description']} (source: {record['data']['source']}).",
        f"Recipe: {s['recipe']} (initial scales {s['init_scales']}, STE in the pruned band "
        f"{s['pruned_grad']}); epochs scale {s['epochs_scale']}"
        + (f", epochs {s['epochs']}" if s['epochs'] else "") + ".", "",
        "## MCC", "", table(record["mcc_mean"], record["mcc_std"]), "",
        "## SRQW", "", table(record["srqw_mean"], record["srqw_std"]), "",
        f"- Command: `{record['command']}`",
        f"- Machine: {record['machine']['platform']}, {record['machine']['cpu_count']} CPUs; "
        f"trained on {', '.join(s['devices'])}",
        f"- Date (UTC): {record['date_utc']}",
        f"- Wall time: {wall:.0f} s ({wall / 60:.1f} min)", ""])
