"""The layers of the code: imports go one way, no module cycles, and no file too long to read."""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("posko", "schemas", "connectors", "streams", "sinks", "grafana", "satudata", "documents",
            "decision", "bench", "tests")
# The bottom of the layers, below every stage: errors, settings, event loop and port helpers,
# the low-level Kafka helpers, and the credential store the intake and the gateway both check.
BOTTOM = ("posko.errors", "posko.loop", "posko.net", "posko.settings", "posko.kafka", "posko.credentials")
# The top: the command line and what runs the services as processes.
TOP = ("posko.cli", "posko.demo", "posko.services")
STAGES = ("connectors", "streams", "sinks", "grafana", "satudata", "documents", "decision", "bench")
# What a stage may take from the top anyway, and why.
TOP_ALLOWED = {
    # The benchmarks start the real worker, sink, gateway and intake as child processes, as
    # `posko demo` does; posko.services imports only the bottom, so no cycle follows.
    "bench": ("posko.services",),
}

MAX_LINES = 600
LINE_RULED = ("connectors", "sinks", "posko", "satudata", "documents", "decision")
LINE_RULED_SUFFIXES = (".py", ".js", ".html", ".css", ".json", ".typ")
# Files allowed past MAX_LINES (fnmatch patterns, relative to the repository), and why.
LONG_FILES = {
    "connectors/simulator/data/*": "the simulator's data files: names, places and phrasings, not code",
}


@cache
def modules() -> dict[str, Path]:
    """Every project module by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


@cache
def imports(name: str) -> frozenset[str]:
    """The project modules `name` imports, at its top or inside functions."""
    known = modules()
    found: set[str] = set()
    for node in ast.walk(ast.parse(known[name].read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
    return frozenset(m for m in found if m.split(".")[0] in PACKAGES and m != name)


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    """Whether `module` is one of `prefixes` or inside one of them."""
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def violations(sources: tuple[str, ...], allowed: tuple[str, ...]) -> list[str]:
    """`importer -> imported` for each import from `sources` outside `allowed`."""
    return [f"{name} -> {imported}" for name in sorted(modules()) if within(name, sources)
            for imported in sorted(imports(name)) if not within(imported, allowed)]


def test_schemas_import_nothing_of_the_project_but_its_errors() -> None:
    assert violations(("schemas",), ("schemas", "posko.errors")) == []


def test_errors_are_the_bottom_and_import_nothing_of_the_project() -> None:
    assert violations(("posko.errors",), ()) == []


def test_settings_and_kafka_helpers_import_only_the_bottom_and_schemas() -> None:
    assert violations(BOTTOM, (*BOTTOM, "schemas")) == []


def test_every_posko_module_is_the_bottom_or_the_top() -> None:
    # Nothing of posko/ sits between the stages (as posko/sql.py did, importing sinks while
    # sinks imported posko): so posko/ and a stage folder never import each other both ways.
    middle = [name for name in sorted(modules())
              if within(name, ("posko",)) and name != "posko" and not within(name, (*BOTTOM, *TOP))]
    assert middle == []


def test_stages_never_import_the_command_line() -> None:
    upward = [f"{name} -> {imported}" for name in sorted(modules()) if within(name, STAGES)
              for imported in sorted(imports(name))
              if within(imported, TOP) and not within(imported, TOP_ALLOWED.get(name.split(".")[0], ()))]
    assert upward == []


def test_what_stages_may_take_from_the_top_imports_only_the_bottom() -> None:
    allowed = tuple(m for names in TOP_ALLOWED.values() for m in names)
    assert violations(allowed, BOTTOM) == []


def test_no_import_cycle_among_project_modules() -> None:
    cycles = list(_cycles({name: imports(name) for name in modules()}))
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_file_is_longer_than_the_limit() -> None:
    too_long = {}
    for package in LINE_RULED:
        for path in (ROOT / package).rglob("*"):
            relative = path.relative_to(ROOT).as_posix()
            if (path.suffix in LINE_RULED_SUFFIXES and path.is_file()
                    and not any(fnmatch.fnmatch(relative, pattern) for pattern in LONG_FILES)):
                lines = len(path.read_text(errors="replace").splitlines())
                if lines > MAX_LINES:
                    too_long[relative] = lines
    assert too_long == {}, f"split these into modules of at most {MAX_LINES} lines: {too_long}"


def test_layer_rules_see_a_forbidden_import_and_a_cycle() -> None:
    # The checks above pass on an empty graph too: prove they find what they look for.
    assert list(_cycles({"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"})})) \
        == [["a", "b", "c", "a"]]
    assert "posko.cli.store -> posko.cli.base" in violations(("posko.cli.store",), ("sinks",))
    assert within("posko.kafka.offsets", BOTTOM) and not within("posko.kafkaesque", BOTTOM)


def _cycles(graph: dict[str, frozenset[str]]) -> Iterator[list[str]]:
    """One cycle through each strongly connected group of modules (Tarjan), as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    for group in groups:
        members = set(group)
        path = [min(group)]
        while True:  # walk inside the group until a module repeats
            nxt = min(t for t in graph[path[-1]] if t in members)
            if nxt in path:
                yield [*path[path.index(nxt):], nxt]
                break
            path.append(nxt)
