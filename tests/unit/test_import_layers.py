"""The package's imports: no cycle between modules or packages, and dependencies point down the
layers `cli → runners → {venues, brokers, feeds, ...} → {engine, instruments} → core`.

Every module of `parity` is read with `ast` (nothing is imported), with every static import,
function-level ones included; imports under `if TYPE_CHECKING:` are left out (they never run,
and mypy resolves them lazily).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import parity

# top first; a module may import its own layer and the layers below it
MIDDLE = """venues venue brokers feeds strategies analyzers journal risk reports alerts dashboard
models config runstore options"""
CORE = "costs errors timeframe parsing logs processes aiosite versions defaults manifest"
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"cli"}),
    frozenset({"runners"}),
    # optimisation runs `engine.simulate` on Dask workers (and its reports)
    frozenset({"optimize"}),
    # the in-memory backtest composes feeds, brokers, strategies and analyzers (as runners do,
    # without I/O); the rest of `engine` (the fill model) sits below the brokers that use it
    frozenset({"engine.simulate", "engine.stepper"}),
    frozenset(MIDDLE.split()),
    frozenset({"engine", "instruments"}),
    frozenset({"", *CORE.split()}),  # "" is the root package (`__version__`)
)
# packages that hold independent adapters and the modules they share rather than one unit: each
# of their folders and modules is a unit of its own (`feeds` and `brokers` read `venues.types`,
# `venues.alpaca` builds on `feeds` and `brokers`; `engine.simulate` on the brokers that read
# the engine's fill model)
SPLIT = frozenset({"venues", "engine"})


def modules(root: Path) -> dict[str, Path]:
    """Every module under the package directory `root`, by dotted name."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _type_checking(child):
            for other in child.orelse:
                yield from _imports_of(other)
            continue
        yield from _imports_of(child)


def _imports_of(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    yield from _imports(node)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module → the package's modules it imports (an `from a import b` of a module `a.b` is an
    import of `a.b`, else of `a`)."""
    known = modules(root)
    top = root.name
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _imports(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.add(full if full in known else base)
        graph[name] = {t for t in targets if t in known and t != name and _inside(t, top)}
    return graph


def _inside(name: str, top: str) -> bool:
    return name == top or name.startswith(f"{top}.")


def unit(module: str) -> str:
    """The package a module counts in: `parity.feeds.lines` → `feeds`, `parity.venues.alpaca.
    client` → `venues.alpaca` (split), `parity.costs` → `costs`, the root package → ``."""
    parts = module.split(".")[1:]
    if parts and parts[0] in SPLIT and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0] if parts else ""


def _layer(name: str) -> int | None:
    """The layer of a unit: its own entry (`engine.simulate`), else its package's."""
    head = name.split(".")[0]
    found = next((i for i, layer in enumerate(LAYERS) if name in layer), None)
    return (
        found
        if found is not None
        else next((i for i, layer in enumerate(LAYERS) if head in layer), None)
    )


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """One cycle (first node repeated at the end) per strongly connected component, followed by
    a note of the component's other members."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[str] = []

    def connect(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                cycle = _cycle_in(graph, component)
                rest = sorted(component - set(cycle))
                found.append(
                    " -> ".join(cycle) + (f" (and through {', '.join(rest)})" if rest else "")
                )

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A path from the component's first node back to it, inside the component."""
    start = min(component)
    path, seen = [start], {start}
    while True:
        nxt = sorted(n for n in graph[path[-1]] if n in component)
        if start in nxt:
            return [*path, start]
        step = next((n for n in nxt if n not in seen), nxt[0])
        if step in seen:  # closed a loop that misses `start`: report that loop
            return [*path[path.index(step) :], step]
        path.append(step)
        seen.add(step)


def import_problems(root: Path) -> list[str]:
    """Every cycle and layering breach of the package at `root`, one line each."""
    graph = import_graph(root)
    problems = [f"module cycle: {c}" for c in cycles(graph)]
    units: dict[str, set[str]] = {}
    for module, targets in graph.items():
        units.setdefault(unit(module), set()).update(
            unit(t) for t in targets if unit(t) != unit(module)
        )
    problems += [f"package cycle: {c}" for c in cycles(units)]
    for module, targets in sorted(graph.items()):
        here = _layer(unit(module))
        if here is None:
            problems.append(f"{module} is in no layer: add its package to LAYERS")
            continue
        for target in sorted(targets):
            there = _layer(unit(target))
            if there is not None and there < here:
                problems.append(
                    f"layering: {module} imports {target}, a layer above it "
                    f"({unit(module) or 'parity'} may import only its own layer and below)"
                )
    return problems


def test_parity_has_no_import_cycle_and_its_layers_point_down():
    problems = import_problems(Path(parity.__file__).parent)
    assert not problems, "\n".join(problems)


def test_the_check_reports_a_cycle_a_function_level_import_makes(tmp_path):
    pkg = tmp_path / "parity"
    for folder in ("stores", "brokers", "feeds", "runners"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "stores" / "alpaca.py").write_text(
        "def getbroker():\n    from parity.brokers.alpaca import Broker\n    return Broker\n"
    )
    (pkg / "brokers" / "alpaca.py").write_text(
        "from typing import TYPE_CHECKING\nfrom parity.stores import alpaca\n"
        "if TYPE_CHECKING:\n    from parity.runners import paper\nclass Broker: ...\n"
    )
    (pkg / "feeds" / "live.py").write_text("from ..stores.alpaca import getbroker\n")
    (pkg / "runners" / "paper.py").write_text("import parity.feeds.live\n")
    (pkg / "stores" / "feed.py").write_text("from parity.feeds import live\n")
    problems = import_problems(pkg)
    assert "module cycle: parity.brokers.alpaca -> parity.stores.alpaca -> " in "\n".join(problems)
    assert "package cycle: brokers -> stores -> brokers (and through feeds)" in problems
    assert "parity.stores.alpaca is in no layer: add its package to LAYERS" in problems
    assert not any("runners" in p for p in problems if p.startswith("layering"))  # type-only
