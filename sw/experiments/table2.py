"""Experiment 1 (Table 2): FP, DoReFa, TTQ and aTTQ, repeated hold-out, mean ± std."""

import json
import time
from pathlib import Path

from ..atomic import write_text
from ..train.pipeline import run_repetition
from ..results import provenance
from .report import markdown_table, summarize
from .runner import run_tasks

__all__ = ["run_table2", "run_table2_starts", "METHODS_ORDER"]

METHODS_ORDER = ("fp", "dorefa", "ttq", "attq")


def run_table2(*, dataset="mnist", reps=10, out_dir, preset=None, data_path=None, seed=0,
               epochs_scale=1.0, epochs=None, n_train=None, n_test=None, t_min=None,
               t_max=None, recipe=None, pruned_grad=None, init_scales=None,
               model_config=None, methods=METHODS_ORDER, device="cpu",
               workers=None, ray_address=None, progress=True, save_models=True,
               argv=None, name=None, fp_dir=None):
    """Run the table; write ``<name>.json`` and ``<name>.md`` into ``out_dir``.

    Each repetition (FP pre-training then each method fine-tuned from it) is one task.
    ``recipe`` names a :data:`sw.train.settings.RECIPES` entry; ``pruned_grad`` and
    ``init_scales`` override it. With ``fp_dir`` (another table's output folder) each
    repetition starts from that table's saved FP model instead of training its own.

    Returns
    -------
    dict
        The JSON record (provenance, settings, per-repetition results, summary).
    """
    out_dir = Path(out_dir)
    name = name or f"table2_{dataset}"
    tasks = [dict(dataset=dataset, preset=preset, data_path=data_path, rep=r, seed=seed,
                  methods=tuple(methods), epochs_scale=epochs_scale, epochs=epochs,
                  n_train=n_train, n_test=n_test, t_min=t_min, t_max=t_max,
                  recipe=recipe, pruned_grad=pruned_grad, init_scales=init_scales,
                  device=device,
                  model_config=model_config, out_dir=str(out_dir) if save_models else None,
                  progress=progress and (workers == 1),
                  fp_path=(None if fp_dir is None else
                           str(Path(fp_dir) / "models" / f"rep{r}_fp.pt")))
             for r in range(reps)]
    start = time.perf_counter()
    reps_out = run_tasks(run_repetition, tasks, workers=workers, ray_address=ray_address,
                         progress=progress, desc=f"table2 {dataset}")
    wall = time.perf_counter() - start
    summary = summarize(reps_out, methods)
    first = reps_out[0]
    record = dict(
        provenance(argv), wall_seconds=wall,
        settings=dict(dataset=dataset, preset=first["preset"], reps=reps, seed=seed,
                      epochs_scale=epochs_scale, epochs=epochs, n_train=first["n_train"],
                      n_test=first["n_test"], t_min=first["t_min"], t_max=first["t_max"],
                      recipe=first["recipe"], pruned_grad=first["pruned_grad"],
                      init_scales=first["init_scales"],
                      ttq_init_scales=first["ttq_init_scales"],
                      ttq_normalize=first["ttq_normalize"],
                      devices=sorted({r["device"] for r in reps_out}),
                      fp_dir=None if fp_dir is None else str(fp_dir),
                      model_config=model_config, workers=workers, ray=ray_address,
                      epochs_per_method={m: first["methods"][m]["epochs"] for m in methods}),
        data=dict(source=first["source"], description=first["description"]),
        summary=summary, repetitions=reps_out)
    table = markdown_table(summary, methods)
    s = record["settings"]
    md = (f"# Table 2 — {dataset} ({s['preset']})\n\n"
          f"Mean ± std (ddof 0) over {reps} repetitions (seeds {seed}..{seed + reps - 1}), "
          f"test set of {s['n_test']} samples, {s['n_train']} training samples.\n"
          f"Data: {first['description']} (source: {first['source']}).\n"
          f"aTTQ t_min = {s['t_min']}, t_max = {s['t_max']}; STE in the pruned band: "
          f"{s['pruned_grad']}; initial scales: {s['init_scales']} (TTQ "
          f"{s['ttq_init_scales']}); TTQ normalized: "
          f"{'yes' if s['ttq_normalize'] else 'no'} (recipe {s['recipe']}). "
          f"Epochs: {s['epochs_per_method']}.\n\n"
          + table +
          f"\nCR columns use the authors' storage count (COO, nnz·34 + 64 bits per ternary "
          f"tensor); 'FPGA enc.' is this project's offset-list encoding. "
          f"EC_G^T uses Eq. 3 with the code's transfer count.\n\n"
          f"- Command: `{record['command']}`\n"
          f"- Machine: {record['machine']['platform']}, {record['machine']['cpu_count']} CPUs; "
          f"trained on {', '.join(s['devices'])}\n"
          f"- Date (UTC): {record['date_utc']}\n"
          f"- Wall time: {wall:.0f} s ({wall / 60:.1f} min)\n")
    write_text(out_dir / f"{name}.json", json.dumps(record, indent=1) + "\n")
    write_text(out_dir / f"{name}.md", md)
    record["markdown"] = md
    return record



def run_table2_starts(starts, *, out_dir, dataset="mnist", argv=None, **kw):
    """Table 2 once per scales' start in ``starts``, every start fine-tuned from the same
    FP models (trained by the first), into ``out_dir/<start>/``; the tables side by side
    in ``table2_<dataset>_starts.json`` and ``.md`` in ``out_dir``.

    Returns
    -------
    dict
        The combined record, with ``"markdown"``.
    """
    out_dir = Path(out_dir)
    start = time.perf_counter()
    tables = {}
    for k, init in enumerate(starts):
        tables[init] = run_table2(out_dir=out_dir / init, dataset=dataset, argv=argv,
                                  init_scales=init, save_models=True,
                                  fp_dir=None if k == 0 else out_dir / starts[0], **kw)
    wall = time.perf_counter() - start
    first = tables[starts[0]]
    methods = [m for m in METHODS_ORDER if m in first["summary"]]
    s = first["settings"]
    record = dict(provenance(argv), wall_seconds=wall, starts=list(starts),
                  tables={k: {key: v for key, v in t.items() if key != "markdown"}
                          for k, t in tables.items()})
    parts = [f"# Table 2 — {dataset} ({s['preset']}): the scales' start\n\n"
             f"Mean ± std (ddof 0) over {s['reps']} repetitions (seeds {s['seed']}.."
             f"{s['seed'] + s['reps'] - 1}); every start fine-tunes from the same FP model "
             f"of each repetition. Test set of {s['n_test']} samples, {s['n_train']} "
             f"training samples.\nData: {first['data']['description']} (source: "
             f"{first['data']['source']}).\naTTQ t_min = {s['t_min']}, t_max = "
             f"{s['t_max']}; STE in the pruned band: {s['pruned_grad']}; TTQ normalized: "
             f"{'yes' if s['ttq_normalize'] else 'no'} (recipe {s['recipe']}). Epochs: "
             f"{s['epochs_per_method']}.\n"]
    for init, t in tables.items():
        parts.append(f"\n## Initial scales: {init}\n\n"
                     + markdown_table(t["summary"], methods))
    parts.append(f"\nCR columns use the authors' storage count (COO, nnz·34 + 64 bits per "
                 f"ternary tensor); 'FPGA enc.' is this project's offset-list encoding.\n\n"
                 f"- Command: `{record['command']}`\n"
                 f"- Machine: {record['machine']['platform']}, "
                 f"{record['machine']['cpu_count']} CPUs\n"
                 f"- Date (UTC): {record['date_utc']}\n"
                 f"- Wall time: {wall:.0f} s ({wall / 60:.1f} min)\n")
    md = "".join(parts)
    write_text(out_dir / f"table2_{dataset}_starts.json", json.dumps(record, indent=1) + "\n")
    write_text(out_dir / f"table2_{dataset}_starts.md", md)
    record["markdown"] = md
    return record
