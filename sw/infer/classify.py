"""Classifying each item on the device, one inference at a time.

An item whose inference fails (the driver gives up after its retries, the device answers
an error) still gets a result: its ``error`` says what happened and its class is empty.
No item is dropped.
"""

import dataclasses
import time

import numpy as np

from .. import spec

__all__ = ["Inference", "classify_all", "probabilities"]


@dataclasses.dataclass
class Inference:
    """The device's answer for one item.

    Attributes
    ----------
    class_index : int or None
        Arg-max of the program's output; None when the inference failed.
    probabilities : numpy.ndarray or None
        Softmax of the output (or the output itself when the program ends in softmax).
    output : numpy.ndarray or None
        The program's final value as the device/host computed it.
    cycles : int or None
        Device clock cycles of the inference (the RUNs' cycles).
    counters : dict or None
        The engine counters (:data:`sw.spec.ENGINE_COUNTERS`).
    power : dict or None
        The POWER fields after the inference, when the device has a power meter.
    host_s : float
        Wall time of the whole inference on the host (link and host ops included).
    error : str
        Empty, or what went wrong.
    """

    class_index: int = None
    probabilities: np.ndarray = None
    output: np.ndarray = None
    cycles: int = None
    counters: dict = None
    power: dict = None
    host_s: float = 0.0
    error: str = ""


def probabilities(program, output):
    """Class probabilities from the program's final value.

    A program whose last host op is ``softmax`` already gives them; ``log_softmax`` is
    exponentiated; anything else (logits, e.g. after ``dequantize``) goes through softmax.
    """
    from scipy import special
    out = np.asarray(output, dtype=np.float64).reshape(-1)
    last = program.ops[-1]
    kind = getattr(last, "kind", None)
    if kind == "softmax":
        return out
    if kind == "log_softmax":
        return np.exp(out)
    return special.softmax(out)


def classify_all(driver, plan, program, x, *, read_power=False, progress=True,
                 desc="infer", done=None, on_result=None):
    """Run every input of ``x`` on the device; one :class:`Inference` per input.

    Parameters
    ----------
    driver
        ``driver.infer(plan, x) -> (output, int_output, cycles, counters)``.
    plan
        The device plan the driver loaded.
    program : sw.program.Program
    x : numpy.ndarray
        ``[N, *program.input_shape]``.
    read_power : bool
        Ask ``driver.power()`` after each inference (devices with a power meter).
    progress : bool
        Show a tqdm bar.
    done : dict, optional
        ``{index: Inference}`` already known (an interrupted run's journal): not run again.
    on_result : callable, optional
        ``on_result(index, inference)`` as each new inference finishes, failed ones
        included (the run's journal).
    """
    from tqdm.auto import tqdm

    done = done or {}
    results = [None] * len(x)
    for index, inf in done.items():
        results[index] = inf
    todo = [i for i in range(len(x)) if i not in done]
    for index in tqdm(todo, desc=desc, unit="event", disable=not progress,
                      initial=len(x) - len(todo), total=len(x)):
        results[index] = inf = _classify_one(driver, plan, program, x[index], read_power)
        if on_result is not None:
            on_result(index, inf)
    return results


def _classify_one(driver, plan, program, xi, read_power):
    t0 = time.perf_counter()
    try:
        output, _, cycles, counters = driver.infer(plan, xi)
        output = np.asarray(output)
        probs = probabilities(program, output)
        power = driver.power() if read_power else None
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes a row, never a loss
        return Inference(host_s=time.perf_counter() - t0, error=f"{type(exc).__name__}: {exc}")
    counters = {name: int(counters.get(name, 0)) for name in spec.ENGINE_COUNTERS} \
        if counters is not None else None
    return Inference(class_index=int(np.argmax(output.reshape(-1))), probabilities=probs,
                     output=output.reshape(-1), cycles=None if cycles is None else int(cycles),
                     counters=counters, power=power, host_s=time.perf_counter() - t0)
