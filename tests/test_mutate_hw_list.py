"""scripts/mutate_hw.py's mutations stay true to hw/: every snippet is found exactly once,
every mutation names tests that exist, and the names are unique."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load():
    spec = importlib.util.spec_from_file_location("mutate_hw", ROOT / "scripts" / "mutate_hw.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_snippet_is_in_the_source_once_and_every_test_exists():
    mutate = _load()
    assert mutate.check_snippets(mutate.MUTATIONS) == []
    names = [m.name for m in mutate.MUTATIONS]
    assert len(names) == len(set(names)) and len(names) >= 25
    for m in mutate.MUTATIONS:
        assert m.file in mutate.ELABORATE, m.name
        for arg in (*m.tests, *m.fallback):
            if arg.endswith(".py"):
                assert (ROOT / arg).is_file(), (m.name, arg)
