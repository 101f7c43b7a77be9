"""Text the user supplied (a file name, a class name) drawn in a matplotlib figure.

Titles name the recording or the data set the user gave, which may be written in any
script (``血流.wav``, ``Доплер.wav``). matplotlib's default font, DejaVu Sans, has Latin,
Greek and Cyrillic but no CJK; a character none of the figure's fonts has raises a
"Glyph ... missing" warning and is drawn as a box. :func:`set_title` therefore draws the
text with, after the default font, installed fonts that have the missing characters
(matplotlib falls back from one font of a family list to the next, glyph by glyph), and
replaces with ``?`` whatever no installed font has. It also keeps a ``$`` in a file name
from starting matplotlib's math mode.

Imports matplotlib only when called.
"""

import functools
import re
import unicodedata

__all__ = ["plot_text", "set_title", "REPLACEMENT"]

#: What a character that no installed font has is drawn as.
REPLACEMENT = "?"

# Not text fonts: matplotlib's "Last Resort" maps every code point to a box that names
# the block (the box this module avoids); the TeX Computer Modern fonts (cmr10...) and
# STIX's size variants and private-use font map code points to math glyphs.
_NOT_FALLBACKS = re.compile(r"last resort|stixnonunicode|stixsize|^cm[a-z]+\d+$",
                            re.IGNORECASE)


def _default_families():
    import matplotlib
    return list(matplotlib.rcParams["font.family"])


@functools.lru_cache(maxsize=None)
def _charmap(path):
    from matplotlib.ft2font import FT2Font
    return frozenset(FT2Font(path).get_charmap())


@functools.lru_cache(maxsize=None)
def _family_path(family):
    """The font file matplotlib uses for ``family`` (None when it would substitute)."""
    from matplotlib import font_manager
    try:
        return font_manager.findfont(font_manager.FontProperties(family=[family]),
                                     fallback_to_default=False)
    except ValueError:
        return None


def _covered_by_default(families):
    from matplotlib import font_manager
    path = font_manager.findfont(font_manager.FontProperties(family=families))
    return _charmap(path)


def _installed_families():
    """Families with an upright regular face: what a title is drawn in (and a family
    without one would make ``findfont`` log that it substitutes another weight)."""
    from matplotlib import font_manager
    names = sorted({f.name for f in font_manager.fontManager.ttflist
                    if f.style == "normal" and f.weight in (400, "normal", "regular")})
    return [n for n in names if not _NOT_FALLBACKS.search(n)]


def _needs_a_glyph(char):
    return not char.isspace()


def plot_text(text):
    """``text`` made safe to draw, and the font families to draw it with.

    Returns
    -------
    (str, list of str)
        The text, with every character that no installed font has (and any control or
        unpaired surrogate character, from a file name that is not valid UTF-8) replaced by
        :data:`REPLACEMENT` and ``$`` escaped (no math mode); and matplotlib's default
        families followed by the installed fonts that have the characters the first one
        lacks (none when it has them all), for ``fontfamily=``.
    """
    text = "".join(REPLACEMENT if unicodedata.category(c) in ("Cc", "Cs") and c != "\n"
                   else c for c in str(text))
    families = _default_families()
    have = _covered_by_default(tuple(families))
    missing = {c for c in text if _needs_a_glyph(c) and ord(c) not in have}
    extra = []
    # Greedy: the font that has most of what is still missing, until none has any.
    while missing:
        best, best_covers = None, set()
        for family in _installed_families():
            if family in families or family in extra:
                continue
            path = _family_path(family)
            if path is None:
                continue
            covers = {c for c in missing if ord(c) in _charmap(path)}
            if len(covers) > len(best_covers):
                best, best_covers = family, covers
        if best is None:
            break
        extra.append(best)
        missing -= best_covers
    text = "".join(REPLACEMENT if c in missing else c for c in text)
    return text.replace("$", r"\$"), families + extra


def set_title(ax, text, **kwargs):
    """``ax.set_title(text, **kwargs)`` for text from the user (:func:`plot_text`): no
    missing-glyph warning, no box."""
    text, families = plot_text(text)
    return ax.set_title(text, fontfamily=families, **kwargs)
