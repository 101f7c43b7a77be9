"""Atomic writes: all or nothing, with the mode an ordinary file gets."""

import os
import stat

import pytest

from sw.atomic import atomic_path, write_text


def test_file_appears_whole_with_umask_mode(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    write_text(target, "hello")
    assert target.read_text() == "hello"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_failure_leaves_nothing_and_keeps_old_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("writer failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_check_output_probes_and_leaves_nothing(tmp_path):
    from sw.atomic import check_output
    check_output(tmp_path / "new" / "deeper" / "out.csv", what="--out")
    check_output(tmp_path / "dir", what="--out", directory=True)
    assert list(tmp_path.iterdir()) == []          # no folder made, the probe removed


def test_check_output_refusals(tmp_path, monkeypatch):
    import errno
    import tempfile

    from sw.atomic import check_output
    from sw.errors import InputError

    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match=r"--out x: .*file is not a directory"):
        check_output(tmp_path / "file" / "out.csv", what="--out x")
    with pytest.raises(InputError, match="exists and is not a directory"):
        check_output(tmp_path / "file", what="--out", directory=True)
    with pytest.raises(InputError, match="is a directory; expected a file name"):
        check_output(tmp_path, what="-o")
    with pytest.raises(InputError, match=r"MB free; about 1000000000\.0 MB will be written"):
        check_output(tmp_path / "o.csv", what="-o", need_bytes=10 ** 15)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")
    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(InputError, match=f"-o: cannot write in {tmp_path}: Read-only file "
                                         f"system"):
        check_output(tmp_path / "o.csv", what="-o")
