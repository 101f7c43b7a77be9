"""Show a long tool run's progress: elapsed time and the tool's latest log line."""

import os
import re
import sys
import threading
import time
from pathlib import Path

__all__ = ["run_with_progress", "last_log_line"]

_YOSYS_STEP = re.compile(r"^\d+(?:\.\d+)*\. Executing (.+?)\.?$")


def last_log_line(path, tail=8192):
    """The latest informative line of a Yosys or nextpnr log, or "" when there is none.

    For Yosys that is the last "N.M. Executing ... pass" line; otherwise the last line
    with text. Only the file's last ``tail`` bytes are read (logs grow to megabytes).
    """
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - tail))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        match = _YOSYS_STEP.match(line.strip())
        if match:
            return match[1]
    for line in reversed(lines):
        text = line.removeprefix("Info:").strip()
        if text:
            return text
    return ""


def run_with_progress(desc, fn, logs=(), interval=1.0, quiet_interval=30.0):
    """Call ``fn()`` in a thread; meanwhile show a tqdm line with the elapsed time and the
    latest line of whichever of ``logs`` was written last (on a terminal; in a log file, a
    plain line every ``quiet_interval`` seconds).

    Returns ``(result, seconds)``; an exception of ``fn`` is raised again here.
    """
    from tqdm import tqdm

    box = {}

    def work():
        try:
            box["result"] = fn()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    start = time.monotonic()
    thread = threading.Thread(target=work, daemon=True)
    thread.start()

    def latest():
        written = [Path(p) for p in logs if Path(p).exists()]
        if not written:
            return ""
        return last_log_line(max(written, key=lambda p: p.stat().st_mtime))[:70]

    if sys.stderr.isatty():
        with tqdm(desc=desc, bar_format="{desc} [{elapsed}]", file=sys.stderr,
                  dynamic_ncols=True) as bar:
            while thread.is_alive():
                thread.join(min(interval, 1.0))
                step = latest()
                bar.set_description_str(f"{desc}: {step}" if step else desc, refresh=False)
                bar.refresh()
    else:
        # In a log file, a line every ``quiet_interval`` seconds rather than a redrawn bar.
        while thread.is_alive():
            thread.join(quiet_interval)
            if thread.is_alive():
                step = latest()
                print(f"[hw.build] {desc}: {time.monotonic() - start:.0f} s"
                      + (f", {step}" if step else ""), file=sys.stderr, flush=True)
    seconds = time.monotonic() - start
    if "error" in box:
        raise box["error"]
    return box.get("result"), seconds
