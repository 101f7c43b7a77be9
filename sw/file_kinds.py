"""What kind of file a user gave, told by its content, and what to do with it instead.

A new user hands one command the file another command wants (a trained ``.pt`` to
``infer --model``, a program to ``compile``, a recording as a model). The readers then fail
on a detail of the format they expected ("wrong magic b'PK\\x03\\x04'"); this module lets
them say instead what the file is and what the next step is. It goes by the content (magic
bytes), not the name, because a misnamed file is part of the same mistake.

Light on purpose (standard library only): the program reader, which must not import torch,
uses it.
"""

import io
import zipfile
from pathlib import Path

__all__ = ["KINDS", "identify", "wrong_kind_message"]

#: What :func:`identify` can answer, and how a message calls it.
KINDS = {
    "program": "a compiled program (.attq)",
    "pytorch": "a trained model (PyTorch)",
    "pickle": "a Python pickle (an older PyTorch save, or another program's data)",
    "npz": "a NumPy archive (.npz)",
    "npy": "a NumPy array (.npy)",
    "zip": "a zip archive",
    "wav": "a WAV recording",
    "png": "a PNG image",
    "gzip": "a gzip archive",
    "empty": "an empty file",
    "text": "a text file",
}

#: What each reader wants, for "PATH: not X: this is Y".
_WANTED = {
    "program": "a program file (.attq)",
    "model": "a saved attq-fpga model (.pt)",
}

#: The kinds each reader goes on with: ``torch.load`` reads zip files and (older saves)
#: pickles, and says itself what is wrong with one that is not a model.
_ACCEPTED = {"program": {"program"}, "model": {"pytorch", "zip", "pickle"}}

_PROGRAM_MAGIC = b"ATTQPRG\x00"


def identify(data, *, whole=True):
    """The kind of a file from its first bytes (``data``), a key of :data:`KINDS`, or None.

    Parameters
    ----------
    data : bytes
        The file's content, or (``whole=False``) its first bytes: 16 are enough for every
        kind but the inside of a zip file.
    whole : bool
        ``data`` is the whole file. A zip file is then opened to tell a PyTorch save
        (``torch.save`` writes a zip with a ``data.pkl`` member) and a NumPy ``.npz`` from
        another zip; with only the first bytes every zip file is ``"zip"``.
    """
    data = bytes(data)
    if not data:
        return "empty"
    if data.startswith(_PROGRAM_MAGIC):
        return "program"
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _zip_kind(data) if whole else "zip"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\x93NUMPY"):
        return "npy"
    if data.startswith(b"\x1f\x8b"):
        return "gzip"
    # Pickle protocols 2 to 5 start with PROTO n; torch.save's legacy format is pickles.
    if data[0] == 0x80 and len(data) > 1 and 2 <= data[1] <= 5:
        return "pickle"
    if _looks_like_text(data[:4096]):
        return "text"
    return None


def _zip_kind(data):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return "zip"
    # torch.save: "<archive name>/data.pkl" (+ data/, version, byteorder).
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        return "pytorch"
    if names and all(n.endswith(".npy") for n in names):
        return "npz"
    return "zip"


def _looks_like_text(head):
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the head is still text.
        if exc.start < len(head) - 3:
            return False
        text = head[:exc.start].decode("utf-8")
    return all(c.isprintable() or c in "\t\r\n\f" for c in text)


def _next_step(kind, wanted, path):
    """What to do with a file of ``kind`` given where ``wanted`` was expected (a program,
    else a model)."""
    p = Path(path)
    if wanted == "program":
        if kind == "pytorch":
            program = p.with_suffix(".attq")
            step = (f"compile it first: attq-fpga compile {p} -o {program} "
                    f"(docs/compiler.md)")
            if program != p and program.is_file():
                step += f"; a program of that name is already beside it: --model {program}"
            return step
        if kind == "wav":
            return (f"give it as the recording: attq-fpga infer {p} --model MODEL.attq "
                    f"(docs/infer.md)")
        if kind == "text":
            return ("a CSV data set goes to attq-fpga infer --dataset esr CSV --model "
                    "MODEL.attq; --model takes the program attq-fpga compile writes")
        return "--model takes the program attq-fpga compile writes (docs/program-format.md)"
    if kind == "program":
        return (f"it is already compiled: run it with attq-fpga infer RECORDING "
                f"--model {p}, or compile the .pt model it was made from")
    if kind == "wav":
        return ("a recording is data, not a model: give it to attq-fpga infer, or "
                "make a data set of recordings with attq-fpga data make and train a "
                "model with attq-fpga train (docs/model-format.md)")
    return ("attq-fpga train writes a saved model (.pt) in the project's format "
            "(docs/model-format.md)")


def wrong_kind_message(path, data, wanted, *, whole=True):
    """The message for a file of a recognised kind other than ``wanted``, or None.

    None when the kind is the one wanted, or is not recognised (the reader's own message,
    about the format it expected, then says more than a guess would).

    Parameters
    ----------
    path : str or Path
        The file, as the user gave it.
    data : bytes
        Its content, or its first bytes with ``whole=False`` (:func:`identify`).
    wanted : {"program", "model"}
        What the reader expected: a program file (.attq) or a saved model (.pt).
    """
    if wanted not in _ACCEPTED:
        raise ValueError(f"wanted: expected one of {sorted(_ACCEPTED)}, got {wanted!r}")
    kind = identify(data, whole=whole)
    accepted = _ACCEPTED[wanted]
    if kind is None or kind in accepted:
        return None
    return (f"{path}: not {_WANTED[wanted]}: this is {KINDS[kind]}; "
            f"{_next_step(kind, wanted, path)}")
