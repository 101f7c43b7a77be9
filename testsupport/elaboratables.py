"""Checks of how components are constructed."""

import gc
import warnings

import pytest
from amaranth.hdl import Fragment, UnusedElaboratable

__all__ = ["unused_warning_files"]


def unused_warning_files(make, refuse):
    """The files that Amaranth's "created but never used" warnings name when ``refuse()``
    raises ValueError and then ``make()`` builds a component nobody uses.

    Amaranth reports an elaboratable that was created and never elaborated once anything
    has been elaborated (so ``make()``'s component is elaborated first); a refused
    construction must create none, and the unused one must be reported from the caller's
    file: pass callables defined in the test, and expect ``[test file]``.
    """
    Fragment.get(make(), None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError):
            refuse()
        gc.collect()
        make()
        gc.collect()
    return [w.filename for w in caught if issubclass(w.category, UnusedElaboratable)]
