"""``attq-fpga --help`` and every sub-command's ``--help``: the command tree in the order
the data flows, and no torch or amaranth imported to answer (scripts/bench_cli_help.py
times them)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Run in a fresh interpreter: builds the parser, walks its sub-parsers (so a new command
#: is covered without touching this test), answers every --help, then reports what it
#: had to import.
WALK = r"""
import argparse, contextlib, io, json, sys
from sw.cli import build_parser, main

def commands(parser, prefix=()):
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, prefix + (name,))

paths = list(commands(build_parser()))
answers = {}
for path in paths:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            main([*path, "--help"])
            status = None
        except SystemExit as exc:
            status = exc.code
    answers[" ".join(path)] = {"status": status, "help": out.getvalue()}
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "amaranth"))
print(json.dumps({"answers": answers, "heavy": heavy}))
"""


def _walk():
    proc = subprocess.run([sys.executable, "-c", WALK], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_every_help_answers_without_torch_or_amaranth():
    doc = _walk()
    answers = doc["answers"]
    # The whole tree, top command included.
    assert {"", "recordings simulate", "recordings detect", "data check", "data make hits",
            "data make esr-synthetic", "train", "experiment table2", "experiment grid",
            "hessian", "compile", "infer", "board build", "board sim", "doctor",
            "demo"} <= set(answers)
    for command, answer in answers.items():
        assert answer["status"] == 0, command
        assert answer["help"].startswith("usage: attq-fpga"), command
    assert doc["heavy"] == [], f"--help imported {doc['heavy'][:5]}"


def test_the_command_tree_follows_the_data():
    from sw.cli import build_parser

    (sub,) = [a for a in build_parser()._actions if a.choices and a.dest == "command"]
    assert list(sub.choices) == ["recordings", "data", "train", "experiment", "hessian",
                                 "compile", "export", "infer", "board", "doctor", "demo"]


def test_old_command_names_are_gone(capsys):
    import pytest

    from sw.cli import main

    for argv in (["simulate-recording"], ["make-dataset", "hits"], ["board-sim"],
                 ["detect", "x.wav"], ["data", "synthetic-esr", "x.csv"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2, argv
        assert "invalid choice" in capsys.readouterr().err


def test_demo_hands_its_arguments_to_infer(monkeypatch):
    """``attq-fpga demo --device golden`` (scripts/demo passes its arguments on): the
    options reach infer after the demo's own; a device the user names replaces the
    demo's virtual board (infer takes --device several times for a folder), and
    without one the demo runs on the virtual board."""
    import sw.cli
    import sw.demo

    seen = []
    monkeypatch.setattr(sw.cli, "main", lambda argv: seen.append(argv) or 0)
    for argv in (["demo", "--device", "golden", "--table-rows", "3"],
                 ["demo", "--device=golden"], ["demo", "--table-rows", "3"]):
        args = sw.cli.parse_args(argv)
        assert args.func(args) == 0
    assert seen == [["infer", str(sw.demo.RECORDING), "--out", str(sw.demo.OUT),
                     "--device", "golden", "--table-rows", "3"],
                    ["infer", str(sw.demo.RECORDING), "--out", str(sw.demo.OUT),
                     "--device=golden"],
                    ["infer", str(sw.demo.RECORDING), "--device", "sim", "--out",
                     str(sw.demo.OUT), "--table-rows", "3"]]
    parsed = sw.cli.parse_args(seen[0])
    assert parsed.device == ["golden"]
