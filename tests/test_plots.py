"""Titles from the user's file names in any script: no "Glyph missing" warning, no box.

Issue 15: a recording called ``血流.wav`` gave matplotlib warnings and boxes in the PNG
titles. Every PNG writer that puts user text in a title is run here with warnings turned
into errors; what is drawn is checked against the fonts' own character maps.
"""

import warnings

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
from matplotlib import cbook, font_manager                      # noqa: E402
from matplotlib import pyplot as plt                            # noqa: E402
from matplotlib.ft2font import FT2Font                          # noqa: E402

from sw.plots import REPLACEMENT, plot_text, set_title          # noqa: E402

NAME = "血流 Доплер.wav"


def _drawable(char, families):
    """Whether one of ``families`` (as matplotlib resolves each) has ``char``."""
    for family in families:
        path = font_manager.findfont(font_manager.FontProperties(family=[family]))
        if ord(char) in FT2Font(path).get_charmap():
            return True
    return False


def _render(text, **kwargs):
    fig, ax = plt.subplots(figsize=(3, 2))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            title = set_title(ax, text, **kwargs)
            fig.savefig(__import__("io").BytesIO(), format="png")
        return title.get_text(), list(title.get_fontfamily())
    finally:
        plt.close(fig)


def test_a_cjk_and_cyrillic_title_draws_without_warnings():
    drawn, families = _render(NAME)
    # DejaVu Sans (matplotlib's own default font) has Cyrillic.
    assert drawn.endswith(" Доплер.wav")
    for original, shown in zip(NAME, drawn):
        if shown == REPLACEMENT:
            assert not _drawable(original, families)
        else:
            assert shown == original and (shown.isspace() or _drawable(shown, families))


def test_a_character_the_default_font_lacks_is_drawn_from_an_installed_font():
    # U+1D81 (d with palatal hook): not in DejaVu Sans, in STIXGeneral, which matplotlib
    # ships; so it is kept, drawn with STIX, and not replaced.
    char = "\u1d81"
    assert not _drawable(char, ["DejaVu Sans"]) and _drawable(char, ["STIXGeneral"])
    drawn, families = _render(f"x{char}y.wav")
    assert drawn == f"x{char}y.wav" and "STIXGeneral" in families


def test_dollars_in_a_file_name_are_text_not_math():
    drawn, _ = _render("cost $5 and $6.wav")
    assert not cbook.is_math_text(drawn)


def test_a_name_that_is_not_utf8_is_drawn_with_replacements():
    undecodable = b"rec\xff.wav".decode("utf-8", "surrogateescape")
    assert _render(undecodable)[0] == f"rec{REPLACEMENT}.wav"
    assert plot_text("plain.wav")[0] == "plain.wav"


# -- every PNG writer whose title carries user text --------------------------------------
@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_energy_png(no_warnings):
    from sw.infer.energy import energy_png
    report = {"estimated": {"per_inference_j": 2e-6},
              "full_precision": {"per_inference_j": 5e-6},
              "measured": {"per_inference_mean_j": float("nan"), "kind": "simulated"},
              "succeeded": 0}
    assert energy_png(report, title=f"{NAME}: energy per inference")[:4] == b"\x89PNG"


def test_confusion_png(no_warnings):
    from sw.infer.report import confusion_png
    summ = {"confusion": {"labels": ["a", "b"], "matrix": [[3, 1], [0, 2]]}}
    assert confusion_png(summ, f"{NAME}: 6 events")[:4] == b"\x89PNG"


def test_spectrogram_png(no_warnings, tmp_path):
    from sw.doppler.spectrogram import plot_spectrogram
    rng = np.random.default_rng(0)
    iq = rng.normal(size=4400) + 1j * rng.normal(size=4400)
    plot_spectrogram(tmp_path / "s.png", iq, 4400, title=f"{NAME}: 0 detected")
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_tfr_png(no_warnings, tmp_path):
    from sw.data.tfr_plot import save_tfr_png
    maps = np.random.default_rng(0).normal(size=(2, 8, 6))
    save_tfr_png(maps, tmp_path / "t.png", titles=["血流", "Доплер"])
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
