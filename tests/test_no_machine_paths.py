"""No file of the repository names an absolute path of the machine that wrote it.

Build records, results and programs are written by tools on some machine and then
committed; a path like ``<repository root>/hw/dual_scale.py``, or one in a user's home
folder, in them means nothing in another clone and tells who made it (issue 15: ``BUILD.md`` and
nextpnr's ``top.tim`` did). The files are those git lists: tracked ones and new ones it
does not ignore (so that a file is caught before it is committed).

The rule, and why (this docstring names folders without their leading slash, so that it
holds no such path itself):

1. The repository's own absolute root (this clone's, wherever it is) appears in no file,
   text or binary (a program's JSON header, a pickled model, a zip member): a string
   this precise has no false positives.
2. In text files (no NUL byte in the first 8 KB; binary files are skipped, but the text
   members of committed zip archives, the Vivado build archives, are read), no absolute
   path under a top-level folder that holds one machine's or one user's files (``home``,
   ``root``, ``Users`` on macOS, ``work``, ``tmp``, ``var/folders`` for macOS's
   temporary files) or under a Windows drive's ``Users``, followed by a name
   (:data:`MACHINE_PATH`). A documentation example that needs a scratch folder says
   ``runs/x`` or ``build/x`` instead, which work in every clone.

Not flagged: paths that are the same on every machine and that docs name on purpose (the
serial devices under ``dev``, ``usr/bin/env`` in a shebang, ``proc``, ``etc``); a slash
preceded by a letter, digit, dot, colon, slash or hyphen (a URL's path, or a relative
path whose inner folder has one of those names); and a placeholder such as a home folder
followed by ``<user>``, whose next character is no name character.
"""

import io
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Rule 2: a folder of one machine or user, then a name.
MACHINE_PATH = re.compile(
    r"(?<![\w.:/-])/(?:home|root|Users|work|tmp|var/folders)/[\w.-]"
    r"|(?<![\w])[A-Za-z]:\\Users\\[\w.-]")


def _listed_files():
    try:
        proc = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                               "--exclude-standard"], cwd=ROOT, capture_output=True,
                              timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode:
        return None
    names = sorted({n for n in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if n})
    return [n for n in names if (ROOT / n).is_file() and not (ROOT / n).is_symlink()]


FILES = _listed_files()

pytestmark = pytest.mark.skipif(FILES is None, reason="not a git checkout (or no git)")


def _is_binary(data):
    return b"\0" in data[:8192]


def _texts(name, data):
    """``(where, text)`` of a file: itself when it is text, else the text members of a
    zip archive (a PyTorch save is a zip too; its members are binary and skipped)."""
    if not _is_binary(data):
        yield name, data.decode("utf-8", "replace")
    elif data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for member in z.namelist():
                    content = z.read(member)
                    if not _is_binary(content):
                        yield f"{name}!{member}", content.decode("utf-8", "replace")
        except zipfile.BadZipFile:
            return


def _root_pattern(root):
    # Bounded, so that a short root (a folder "repo" at the top) does not match inside a
    # longer path or URL.
    return re.compile(rb"(?<![\w.:/-])" + re.escape(str(root).encode()) + rb"(?![\w.-])")


def _abs(*parts):
    # Put together here so that this file names no such path itself.
    return "/" + "/".join(parts)


def test_the_rules_by_hand():
    flagged = [f"see {_abs('home', 'alice', 'attq', 'run.log')}",
               f"Defined in: {_abs('work', 'clone', 'hw', 'lane.py')}:3",
               f"HOME={_abs('root', '.cache')}", f"({_abs('tmp', 'pytest-of-x', 'y')})",
               "C:" + "\\".join(["", "Users", "bob", "attq"]),
               _abs("Users", "carol", "src"), _abs("var", "folders", "xy", "T", "tmp1")]
    fine = ["serial://" + _abs("dev", "ttyUSB1"), "#!" + _abs("usr", "bin", "env") + " python3",
            "https://example.org" + _abs("home", "x"), "src" + _abs("tmp", "x"),
            "runs" + _abs("work", "x"), _abs("home", "<user>"),
            f"a {_abs('proc')} file", f"{_abs('tmp')} alone",
            "python -m hw.build --out build/x"]
    assert [t for t in flagged if not MACHINE_PATH.search(t)] == []
    assert [t for t in fine if MACHINE_PATH.search(t)] == []
    repo = _abs("repo")
    root = _root_pattern(repo)
    assert root.search(f"at {repo}/hw/x.py".encode()) and root.search(f"cd {repo}".encode())
    assert not root.search(b"github.com/o/repo/x")
    assert not root.search(_abs("repository", "x").encode())


def test_no_file_names_the_repository_root():
    pattern = _root_pattern(ROOT)
    hits = [name for name in FILES if pattern.search((ROOT / name).read_bytes())]
    assert hits == [], f"files naming {ROOT}: {hits}"


def test_no_text_file_names_a_machine_or_user_folder():
    hits = []
    for name in FILES:
        for where, text in _texts(name, (ROOT / name).read_bytes()):
            for number, line in enumerate(text.splitlines(), 1):
                if MACHINE_PATH.search(line):
                    hits.append(f"{where}:{number}: {line.strip()[:160]}")
    assert hits == []
