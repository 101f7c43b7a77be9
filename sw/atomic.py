"""Atomic output: a file appears whole or not at all; where it goes is checked first."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from .errors import InputError

__all__ = ["atomic_path", "check_output", "write_bytes", "write_text"]


def check_output(path, *, what, directory=False, need_bytes=0):
    """Check, before any work, that ``path`` can be written: InputError otherwise.

    The nearest existing folder on the way to ``path`` must take a new file (a probe file
    is made and removed there, which is what tells a read-only file system or a folder
    without permission; nothing else is created) and have ``need_bytes`` free.

    Parameters
    ----------
    path : str or Path
        The output file, or with ``directory`` the output folder.
    what : str
        How the user gave it, for the message (``"--out runs/x"``).
    directory : bool
        ``path`` is a folder (which may exist) rather than a file.
    need_bytes : int
        A lower bound of what will be written.
    """
    path = Path(path)
    if path.exists():
        if directory and not path.is_dir():
            raise InputError(f"{what}: {path} exists and is not a directory")
        if not directory and path.is_dir():
            raise InputError(f"{what}: {path} is a directory; expected a file name")
    base = path if directory else path.parent
    while not base.exists():
        if base == base.parent:
            break
        base = base.parent
    if not base.is_dir():
        raise InputError(f"{what}: cannot create {path}: {base} is not a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=".attq-probe.", dir=base)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"{what}: cannot write in {base}: {exc.strerror or exc}") from None
    if need_bytes:
        free = shutil.disk_usage(base).free
        if free < need_bytes:
            raise InputError(f"{what}: {base} has {free / 1e6:.1f} MB free; about "
                             f"{need_bytes / 1e6:.1f} MB will be written")


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; on success, rename it onto ``path``.

    If the body raises, the temporary file is removed and ``path`` is left untouched.
    Writers that take a file name (``np.save``, ``savefig``, ``wavfile.write``) write to
    the yielded path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix,
                               dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes(path, data):
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
