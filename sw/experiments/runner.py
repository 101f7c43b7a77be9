"""Run independent tasks: inline, in a local process pool, or on a Ray cluster."""

import multiprocessing
import os

from ..errors import InputError

__all__ = ["run_tasks", "default_workers"]


def default_workers(n_tasks):
    """One worker per core, no more than there are tasks."""
    return max(1, min(n_tasks, os.cpu_count() or 1))


def run_tasks(fn, tasks, *, workers=None, ray_address=None, progress=True, desc="tasks"):
    """``[fn(task) for task in tasks]``, in parallel.

    Parameters
    ----------
    fn : callable
        A module-level function (it is pickled by name).
    tasks : list of dict
    workers : int, optional
        Local processes (default :func:`default_workers`); 1 runs inline.
    ray_address : str, optional
        Address of a Ray cluster (``ray.init(address=...)``, e.g. ``"auto"`` or
        ``"ray://host:10001"``); needs the optional ``ray`` package.
    progress : bool
        tqdm bar over finished tasks.

    Returns
    -------
    list
        Results in the order of ``tasks``.
    """
    from tqdm.auto import tqdm

    tasks = list(tasks)
    if ray_address:
        try:
            import ray
        except ImportError:
            raise InputError("--ray: the 'ray' package is not installed; install the "
                             "optional extra with  pip install 'attq-fpga[ray]'  or run "
                             "without --ray to use the local process pool") from None
        ray.init(address=ray_address, ignore_reinit_error=True)
        remote = ray.remote(fn)
        refs = [remote.remote(t) for t in tasks]
        results = {}
        pending = list(refs)
        with tqdm(total=len(refs), desc=desc, disable=not progress) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    results[ref] = ray.get(ref)
                    bar.update(1)
        return [results[r] for r in refs]
    workers = default_workers(len(tasks)) if workers is None else int(workers)
    if workers < 1:
        raise InputError(f"--workers: expected at least 1, got {workers}")
    if workers == 1 or len(tasks) <= 1:
        return [fn(t) for t in tqdm(tasks, desc=desc, disable=not progress)]
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: a forked child would inherit torch's thread pools and locks.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
        results = [None] * len(tasks)
        for fut in tqdm(as_completed(futures), total=len(futures), desc=desc,
                        disable=not progress):
            results[futures[fut]] = fut.result()
    return results
