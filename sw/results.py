"""Provenance of a results file: the command, the machine and the date, as Markdown too."""

import datetime
import os
import platform
import shlex
import sys
from pathlib import Path

__all__ = ["machine", "provenance", "results_header"]


def machine():
    """Platform, processor and CPU count of this machine."""
    return dict(platform=platform.platform(), processor=platform.processor() or "",
                machine=platform.machine(), cpu_count=os.cpu_count(),
                python=platform.python_version())


def provenance(argv=None):
    """Command, machine and UTC date of a result file."""
    argv = sys.argv if argv is None else argv
    return dict(command=" ".join(shlex.quote(a) for a in argv), machine=machine(),
                date_utc=datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds"))


def results_header(title, argv=None):
    """``(meta, lines)``: the provenance dict and the Markdown lines that open the file."""
    argv = [Path(sys.executable).name, *sys.argv] if argv is None else argv
    meta = provenance(argv)
    meta["machine"] = "{platform} ({cpu_count} CPUs, Python {python})".format(**meta["machine"])
    meta["date"] = meta.pop("date_utc")
    return meta, [f"# {title}", "", f"Command: `{meta['command']}`  ",
                  f"Machine: {meta['machine']}  ", f"Date: {meta['date']}", ""]
