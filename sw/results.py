"""Provenance of a results file: the command, the machine and the date, as Markdown too."""

import sys
from pathlib import Path

from .experiments.report import provenance

__all__ = ["results_header"]


def results_header(title, argv=None):
    """``(meta, lines)``: the provenance dict and the Markdown lines that open the file."""
    argv = [Path(sys.executable).name, *sys.argv] if argv is None else argv
    meta = provenance(argv)
    meta["machine"] = "{platform} ({cpu_count} CPUs, Python {python})".format(**meta["machine"])
    meta["date"] = meta.pop("date_utc")
    return meta, [f"# {title}", "", f"Command: `{meta['command']}`  ",
                  f"Machine: {meta['machine']}  ", f"Date: {meta['date']}", ""]
