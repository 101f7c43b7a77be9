"""The layering of pyproject.toml's import-linter contracts, and no import cycles.

sw: commands > device > golden > mapping > program | link > spec; hw reads only the
contract side of sw; sw and hw never import test code (sim, testsupport, tests).
"""

import re
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_are_kept():
    # In a subprocess: import-linter builds its graph from the files on disk, and its
    # cache would otherwise live in the working tree.
    proc = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import "
                           "lint_imports; sys.exit(lint_imports(no_cache=True))"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def _strongly_connected(graph, modules):
    """Tarjan's algorithm over the direct imports among ``modules``."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in modules:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for v in sorted(modules):
        if v not in index:
            visit(v)
    return out


def _cycles(graph, modules):
    return [comp for comp in _strongly_connected(graph, modules) if len(comp) > 1]


def test_no_import_cycle_between_modules():
    graph = grimp.build_graph("sw", "hw", cache_dir=None)
    modules = {m for m in graph.modules if m.split(".")[0] in ("sw", "hw")}
    cycles = _cycles(graph, modules)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_check_finds_a_cycle():
    class Graph:
        edges = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}

        def find_modules_directly_imported_by(self, m):
            return self.edges.get(m, set())

    assert _cycles(Graph(), set(Graph.edges)) == [["p.a", "p.b", "p.c"]]


def test_no_product_file_imports_tests():
    pattern = re.compile(r"^\s*(from|import)\s+(tests|sim|testsupport)\b", re.M)
    offenders = [str(p.relative_to(ROOT)) for folder in ("sw", "hw")
                 for p in (ROOT / folder).rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
