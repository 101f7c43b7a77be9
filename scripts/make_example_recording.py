#!/usr/bin/env python3
"""Make the bundled example recording: data/example/tcd-example.wav and its truth CSV.

Two minutes of simulated middle-cerebral-artery Doppler with HITS (16-bit PCM stereo I/Q,
4400 Hz, about 2 MB), for the demo and the documentation::

    .venv/bin/python scripts/make_example_recording.py

It runs exactly ``attq-fpga recordings simulate --minutes 2 --seed 2024
--out data/example/tcd-example.wav``; the same seed gives the same bytes.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sw.cli import main  # noqa: E402

OUT = ROOT / "data" / "example" / "tcd-example.wav"

if __name__ == "__main__":
    sys.exit(main(["recordings", "simulate", "--minutes", "2", "--seed", "2024",
                   "--out", str(OUT), "--no-progress"]))
