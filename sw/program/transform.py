"""A model's input transform: what turns a raw sample into the model's float input.

The transform is data. A trained model file records it (``input_transform``,
docs/model-format.md), the compiler copies it into the program (``meta.input_transform``,
docs/program-format.md), and everything that feeds a model or a program computes it with
the one function :func:`sw.data.transform.apply_transform`: training and the compiler's
calibration (``sw.train.pipeline.load_dataset``), ``attq-fpga infer``, the benches and the
tests. Nobody guesses it from an input shape.

Why the description lives here and the computation in ``sw.data.transform``: the program
file records the transform and checks it when it reads a file, and the program layer must
not import torch (the import-linter contract in pyproject.toml), while the time-frequency
representation is computed with ``torch.stft``. This module is therefore pure Python (no
numpy, no torch); ``sw.data`` is outside the layers, imports this module, and every user
can import the computing function from there.

A transform is a sequence of steps applied in order; each step's output is float32:

========== ================================= =========================================
kind       parameters                        computes (per sample, batch on axis 0)
========== ================================= =========================================
``scale``  ``divisor`` (number > 0)          ``x / divisor`` in float32 (MNIST pixels:
                                             ``divisor`` 255, as ``ToTensor``)
``minmax`` —                                 each row (last axis) to [0, 1] by its own
                                             minimum and maximum, in float64; a constant
                                             row becomes zeros (ESR)
``tfr``    ``n_fft``, ``hop`` (int),         :func:`sw.data.tfr.tfr` (docs/data.md):
           ``iq``, ``clip`` (bool)           ``[C, L]`` -> ``[1 if iq else C, n_fft,
                                             1 + (L - n_fft) // hop]``
========== ================================= =========================================

No step is the identity (``InputTransform()``, the raw I/Q segment of the HITS
CNN-transformer). The dict form is ``{"steps": [{"kind": "minmax"}, {"kind": "tfr",
"n_fft": 32, "hop": 4, "iq": false, "clip": true}]}``.
"""

import dataclasses
import math

from ..errors import InputError

__all__ = ["InputTransform", "Scale", "MinMax", "TFR", "STEP_KINDS"]


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclasses.dataclass(frozen=True)
class Scale:
    """``x / divisor`` (float32)."""

    divisor: float

    KIND = "scale"

    def __post_init__(self):
        if not _is_number(self.divisor) or self.divisor <= 0:
            raise ValueError(f"divisor: expected a finite number > 0, got {self.divisor!r}")
        object.__setattr__(self, "divisor", float(self.divisor))

    def to_dict(self):
        return {"kind": self.KIND, "divisor": self.divisor}

    def output_shape(self, shape):
        return tuple(shape)

    def describe(self):
        return f"divide by {self.divisor:g}"


@dataclasses.dataclass(frozen=True)
class MinMax:
    """Each row (last axis) to [0, 1] by its own minimum and maximum."""

    KIND = "minmax"

    def to_dict(self):
        return {"kind": self.KIND}

    def output_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("min-max needs at least one axis")
        return tuple(shape)

    def describe(self):
        return "min-max per row to [0, 1]"


@dataclasses.dataclass(frozen=True)
class TFR:
    """The time-frequency representation :func:`sw.data.tfr.tfr` (dB, fft-shifted)."""

    n_fft: int
    hop: int
    iq: bool
    clip: bool = True

    KIND = "tfr"

    def __post_init__(self):
        if not _is_int(self.n_fft) or self.n_fft < 2:
            raise ValueError(f"n_fft: expected an integer >= 2, got {self.n_fft!r}")
        if not _is_int(self.hop) or self.hop < 1:
            raise ValueError(f"hop: expected an integer >= 1, got {self.hop!r}")
        for name in ("iq", "clip"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: expected true or false, got "
                                 f"{getattr(self, name)!r}")

    def to_dict(self):
        return {"kind": self.KIND, "n_fft": self.n_fft, "hop": self.hop, "iq": self.iq,
                "clip": self.clip}

    def output_shape(self, shape):
        if len(shape) != 2:
            raise ValueError(f"the TFR takes [C, L] per sample, got {list(shape)}")
        channels, length = shape
        if self.iq and channels != 2:
            raise ValueError(f"the I/Q TFR takes 2 channels (I, Q), got {channels}")
        if length < self.n_fft:
            raise ValueError(f"the TFR needs at least n_fft = {self.n_fft} samples, "
                             f"got {length}")
        return (1 if self.iq else channels, self.n_fft, 1 + (length - self.n_fft) // self.hop)

    def describe(self):
        return (f"TFR n_fft {self.n_fft}, hop {self.hop}, "
                f"{'I/Q' if self.iq else 'real'}{', clipped' if self.clip else ''}")


#: Step kind -> (class, its parameters in dict order).
STEP_KINDS = {
    Scale.KIND: (Scale, ("divisor",)),
    MinMax.KIND: (MinMax, ()),
    TFR.KIND: (TFR, ("n_fft", "hop", "iq", "clip")),
}


@dataclasses.dataclass(frozen=True)
class InputTransform:
    """A model's input transform: ``steps`` (:class:`Scale`, :class:`MinMax`,
    :class:`TFR`) applied in order; no step is the identity.

    Computed by :func:`sw.data.transform.apply_transform`; :meth:`output_shape` gives the
    model input's shape for a raw sample's shape without computing anything.
    """

    steps: tuple = ()

    def __post_init__(self):
        steps = tuple(self.steps)
        for i, step in enumerate(steps):
            if not isinstance(step, tuple(cls for cls, _ in STEP_KINDS.values())):
                raise ValueError(f"steps[{i}]: expected Scale, MinMax or TFR, got "
                                 f"{type(step).__name__}")
        object.__setattr__(self, "steps", steps)

    @property
    def kind(self):
        """``"identity"``, or the step kinds joined by ``+`` (``"minmax+tfr"``)."""
        return "+".join(s.KIND for s in self.steps) or "identity"

    def then(self, *steps):
        """This transform followed by ``steps``."""
        return InputTransform(self.steps + tuple(steps))

    def to_dict(self):
        """The JSON-able form recorded in model and program files."""
        return {"steps": [s.to_dict() for s in self.steps]}

    @classmethod
    def from_dict(cls, d, where="input_transform"):
        """Parse and check the dict form; raise :class:`sw.errors.InputError` naming the
        field (``where`` prefixes it, e.g. ``"model.pt: field 'input_transform'"``)."""
        if isinstance(d, cls):
            return d
        if not isinstance(d, dict):
            raise InputError(f"{where}: expected an object {{\"steps\": [...]}}, got "
                             f"{type(d).__name__}")
        extra = sorted(set(d) - {"steps"})
        if extra:
            raise InputError(f"{where}: unknown field {extra[0]!r} (expected only 'steps')")
        if "steps" not in d:
            raise InputError(f"{where}: field 'steps' is missing")
        raw = d["steps"]
        if not isinstance(raw, (list, tuple)):
            raise InputError(f"{where}.steps: expected a list, got {type(raw).__name__}")
        steps = []
        for i, s in enumerate(raw):
            here = f"{where}.steps[{i}]"
            if not isinstance(s, dict):
                raise InputError(f"{here}: expected an object, got {type(s).__name__}")
            kind = s.get("kind")
            if not isinstance(kind, str) or kind not in STEP_KINDS:
                raise InputError(f"{here}.kind: expected one of {sorted(STEP_KINDS)}, "
                                 f"got {kind!r}")
            step_cls, names = STEP_KINDS[kind]
            extra = sorted(set(s) - {"kind", *names})
            if extra:
                raise InputError(f"{here}: unknown field {extra[0]!r} for kind {kind!r} "
                                 f"(expected {list(names)})")
            missing = [n for n in names if n not in s]
            if missing:
                raise InputError(f"{here}: field {missing[0]!r} is missing (kind {kind!r} "
                                 f"takes {list(names)})")
            try:
                steps.append(step_cls(**{n: s[n] for n in names}))
            except ValueError as exc:
                raise InputError(f"{here}.{exc}") from None
        return cls(tuple(steps))

    def output_shape(self, shape):
        """Shape of the model input made from a raw sample of ``shape`` (no batch axis);
        raise ValueError naming the step that does not fit."""
        shape = tuple(int(v) for v in shape)
        for i, step in enumerate(self.steps):
            try:
                shape = step.output_shape(shape)
            except ValueError as exc:
                raise ValueError(f"step {i} ({step.describe()}): {exc}") from None
        return shape

    def describe(self):
        """One line for messages: ``"min-max per row to [0, 1], then TFR n_fft 32, ..."``."""
        return ", then ".join(s.describe() for s in self.steps) or "identity (raw input)"
