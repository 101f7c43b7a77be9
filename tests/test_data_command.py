"""``attq-fpga data``: check data sets, write the synthetic ESR file, exit 2 on bad input."""

import csv

from sw.cli import main


def test_synthetic_esr_then_check_with_png(tmp_path, capsys):
    out = tmp_path / "syn.csv"
    assert main(["data", "make", "esr-synthetic", str(out), "--rows", "100", "--seed", "1"]) == 0
    with open(out, newline="") as fh:
        assert sum(1 for _ in csv.reader(fh)) == 101          # header + 100 rows
    png = tmp_path / "tfr.png"
    assert main(["data", "check", "esr", str(out), "--png", str(png)]) == 0
    text = capsys.readouterr().out
    assert "source: synthetic" in text
    # 20 seizure rows -> 16 train / 4 test; 80 others -> 64 / 16.
    assert "seizure:     16 train      4 test" in text
    assert "non-seizure:     64 train     16 test" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_check_mnist(capsys):
    assert main(["data", "check", "mnist"]) == 0
    assert "x_train [1875, 1, 20, 20]  x_test [3125, 1, 20, 20]" in capsys.readouterr().out


def test_bad_input_exits_2_with_the_file_named(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,X1\n")
    assert main(["data", "check", "esr", str(bad)]) == 2
    assert f"{bad}: header (line 1)" in capsys.readouterr().err
    assert main(["data", "check", "hits", str(tmp_path / "none")]) == 2
    assert main(["data", "check", "esr"]) == 2
    assert main(["data", "make", "esr-synthetic", str(tmp_path / "x.csv"), "--rows", "2"]) == 2
    assert not (tmp_path / "x.csv").exists()
