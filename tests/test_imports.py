"""The package's import graph, read from the source: layers depend one way and modules never cycle.

Imports under ``if TYPE_CHECKING:`` never run and are left out; ``from package import name`` counts
as an import of ``package.name`` when that is a module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import warp_refine_ros

ROOT = Path(warp_refine_ros.__file__).parent
PACKAGE = ROOT.name
Graph = dict[str, set[str]]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in ROOT.rglob("*.py")}


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and "TYPE_CHECKING" in {
        getattr(test, "id", None),
        getattr(test, "attr", None),
    }


def imported(tree: ast.AST, *, nested: bool) -> Iterator[str]:
    """Package modules a module imports: at module level, or anywhere when ``nested``."""
    body = [tree]
    while body:
        node = body.pop()
        if _type_checking(node):
            body.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                yield submodule if submodule in MODULES else node.module
        if nested or not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body.extend(ast.iter_child_nodes(node))


def import_graph(*, nested: bool) -> Graph:
    """Each package module -> the package modules it imports."""
    graph = {}
    for name, path in MODULES.items():
        targets = imported(ast.parse(path.read_text(encoding="utf-8")), nested=nested)
        graph[name] = {target for target in targets if target in MODULES and target != name}
    return graph


def layer(module: str) -> str:
    """The sub-package (``engines``, ``networks``, ...) or top-level module a module belongs to."""
    return module.split(".")[1] if "." in module else module


def layer_graph(graph: Graph) -> Graph:
    layers: Graph = {}
    for module, targets in graph.items():
        layers.setdefault(layer(module), set()).update(layer(t) for t in targets if layer(t) != layer(module))
    return layers


def cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected groups of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = stack[stack.index(node) :]
            del stack[stack.index(node) :]
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_back() -> None:
    assert cycles(import_graph(nested=False)) == []


def test_no_layer_imports_itself_back() -> None:
    assert cycles(layer_graph(import_graph(nested=False))) == []


def test_model_contract_is_a_leaf() -> None:
    imports = import_graph(nested=True)[f"{PACKAGE}.modelspec"]
    assert imports <= {f"{PACKAGE}.errors", f"{PACKAGE}.labels"}


def importers(graph: Graph, source: str, target: str) -> set[str]:
    """Modules of layer ``source`` that import something of layer ``target``."""
    return {m for m, targets in graph.items() if layer(m) == source and target in map(layer, targets)}


def test_networks_never_import_engines_and_only_the_torch_backend_imports_networks() -> None:
    graph = import_graph(nested=True)
    assert importers(graph, "networks", "engines") == set()
    assert importers(graph, "engines", "networks") == {f"{PACKAGE}.engines.torch_backend"}
