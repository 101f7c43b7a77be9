"""The journal of an ``attq-fpga infer`` run: each finished inference as it comes.

An inference run can last long (a 30-minute recording has hundreds of HITS, each a round
trip over the link), and an interruption, a crash or a power cut must not lose the events
already classified. So every :class:`~sw.infer.classify.Inference` is appended to
``OUT/infer.journal.jsonl`` as one JSON line, flushed and synced to the disk, the moment
it is known. ``infer --resume`` reads it back and classifies only the rest; the final
files are then those of an uninterrupted run (apart from timings). A completed run removes
its journal once its results are written.

The first line says what the run was (:func:`run_identity`): a journal is taken up only by
the same program on the same inputs, for the same device. A last line cut by a crash is
ignored (its event is classified again).
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from .classify import Inference

__all__ = ["JOURNAL_NAME", "Journal", "run_identity"]

#: The journal's file name in the output folder.
JOURNAL_NAME = "infer.journal.jsonl"

_KIND = "attq-fpga infer journal"
_VERSION = 1


def run_identity(*, model_hash, source, x, device, items):
    """What a run is, for its journal's first line.

    Parameters
    ----------
    model_hash : str
        The program's content hash.
    source : str
        The recording or CSV.
    x : numpy.ndarray
        The model inputs, hashed: the same file through the same front end and transform.
    device : str
        The ``--device`` string.
    items : int
    """
    digest = hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()
    return {"kind": _KIND, "version": _VERSION, "model_hash": model_hash,
            "source": str(source), "inputs_sha256": digest, "device": device,
            "items": int(items)}


def _encode(index, inf):
    def arr(a):
        return None if a is None else [float(v) for v in np.asarray(a).reshape(-1)]
    return {"index": index, "class_index": inf.class_index,
            "probabilities": arr(inf.probabilities), "output": arr(inf.output),
            "cycles": inf.cycles, "counters": inf.counters, "power": inf.power,
            "host_s": inf.host_s, "error": inf.error}


def _decode(entry):
    def arr(a):
        return None if a is None else np.asarray(a, dtype=np.float64)
    return Inference(class_index=entry["class_index"], probabilities=arr(entry["probabilities"]),
                     output=arr(entry["output"]), cycles=entry["cycles"],
                     counters=entry["counters"], power=entry["power"],
                     host_s=float(entry["host_s"]), error=entry["error"])


class Journal:
    """An open journal; :meth:`append` one finished inference at a time.

    Made by :meth:`start` (a new run) or :meth:`resume` (taking up an interrupted one).
    """

    def __init__(self, path, done):
        self.path = Path(path)
        #: ``{index: Inference}`` read back from an interrupted run.
        self.done = done
        #: Inferences the journal holds: those read back and those appended since.
        self.kept = len(done)
        self._file = open(self.path, "a", encoding="utf-8")

    @staticmethod
    def path_in(out):
        return Path(out) / JOURNAL_NAME

    @classmethod
    def check_absent(cls, out):
        """InputError when ``out`` holds an interrupted run's journal, which a new run
        would throw away: say how many events it keeps and how to go on."""
        path = cls.path_in(out)
        if path.exists():
            n = max(0, sum(1 for _ in open(path, "rb")) - 1)
            raise InputError(
                f"--out {out}: holds an unfinished run ({path.name}, {n} events kept): "
                f"continue it with --resume, or remove that file to start again")

    @classmethod
    def start(cls, out, identity):
        """A new journal in the folder ``out`` (made if missing), its first line written."""
        path = cls.path_in(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(json.dumps(identity) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return cls(path, {})

    @classmethod
    def read_identity(cls, out):
        """The first line of the journal in ``out``; InputError when there is none."""
        path = cls.path_in(out)
        if not path.is_file():
            raise InputError(f"--resume: no unfinished run in {out} (no {path.name})")
        with open(path, encoding="utf-8") as f:
            first = f.readline()
        try:
            identity = json.loads(first)
        except ValueError:
            identity = None
        if not isinstance(identity, dict) or identity.get("kind") != _KIND:
            raise InputError(f"{path}: line 1: expected the journal's header "
                             f"({_KIND!r}); remove the file to start again")
        if identity.get("version") != _VERSION:
            raise InputError(f"{path}: journal version {identity.get('version')!r}, "
                             f"expected {_VERSION}; remove the file to start again")
        return identity

    @classmethod
    def resume(cls, out, identity):
        """Take up the journal in ``out``, which must be of the run ``identity``.

        Returns the journal, its :attr:`done` inferences read back. InputError naming the
        field that differs (another program, other inputs, another device).
        """
        path = cls.path_in(out)
        theirs = cls.read_identity(out)
        for key, what in (("model_hash", "program"), ("inputs_sha256", "inputs"),
                          ("source", "input file"), ("items", "number of items"),
                          ("device", "device")):
            if theirs.get(key) != identity[key]:
                raise InputError(
                    f"--resume: {path} is of another run: its {what} ({key}) is "
                    f"{theirs.get(key)!r}, this run's {identity[key]!r}")
        done = {}
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")[1:]
        for number, line in enumerate(lines, start=2):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                index = int(entry["index"])
                inference = _decode(entry)
            except (ValueError, KeyError, TypeError):
                if number == len(lines) + 1:
                    break           # the line a crash cut short: classified again
                raise InputError(f"{path}: line {number}: not a journal entry; remove "
                                 f"the file to start again") from None
            if not 0 <= index < identity["items"]:
                raise InputError(f"{path}: line {number}: index {index} outside "
                                 f"[0, {identity['items']})")
            done[index] = inference
        journal = cls(path, done)
        # A cut last line would otherwise be glued to the next entry.
        if lines and lines[-1]:
            journal._file.write("\n")
        return journal

    def append(self, index, inference):
        """Record the finished ``inference`` of item ``index``, synced to the disk."""
        self._file.write(json.dumps(_encode(index, inference)) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.kept += 1

    def close(self):
        self._file.close()

    def remove(self):
        """Close and delete: the run's results are written."""
        self.close()
        self.path.unlink(missing_ok=True)
