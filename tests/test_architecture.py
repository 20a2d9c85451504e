"""The house rules of `../shared/DESIGN.md`, checked on the code's own imports (read with `ast`, nothing is run):
no import circle anywhere in the package, and the arrows that must never exist do not."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mbert_eval"
# the small shared modules, and the Python API (`mbert_eval.run`, `load_results`: what `import mbert_eval` offers)
ROOT_MODULES = {"__init__", "__main__", "errors", "languages", "paths", "registry", "api"}

# folder → the folders (and root modules) it may never import
NEVER = {
    "tasks": {"grid", "store", "report", "schedule", "cli", "methods"},  # a task knows its data and its metric
    "methods": {"tasks", "grid", "store", "report", "schedule", "cli"},  # a method produces checkpoints
    "data": {
        "models",
        "training",
        "pretraining",
        "tasks",
        "methods",
        "aligner",
        "grid",
        "store",
        "report",
        "schedule",
        "cli",
    },  # readers know no models
    "metrics": {"models", "training", "tasks", "methods", "grid", "store", "report", "schedule", "cli"},
    "store": {"config", "grid", "tasks", "methods", "training", "models", "report", "schedule", "cli"},
    "config": {"grid", "tasks", "methods", "training", "models", "report", "schedule", "cli", "store"},
    # the analysis reads the store, the language table, data and the family's typology, and hands plain records
    # to whoever renders them: it runs no grid, loads no model and imports no report (a report may render it)
    "analysis": {
        "grid",
        "schedule",
        "cli",
        "methods",
        "tasks",
        "training",
        "pretraining",
        "models",
        "aligner",
        "report",
    },
}
# the floors of docs/architecture.md's picture, top first: a folder (or root module) imports only folders on the
# floors below its own
FLOORS = [
    {"__main__"},  # `python -m mbert_eval`: the command line, run
    {"cli"},
    {"api"},
    {"schedule"},
    {"grid"},
    {"methods"},
    {"tasks"},
    {"pretraining"},
    {"training"},
    {"aligner"},
    {"models"},
    {"report"},
    {"analysis"},
    {"store"},
    {"synthetic"},
    {"metrics"},
    {"config"},
    {"data"},
    {"registry", "languages", "paths", "language_table"},
    {"errors"},
]
# reports only read the store: besides themselves they may import these and nothing else of the package
REPORT_MAY_IMPORT = {
    "report",
    "store",
    "languages",
    "errors",
    "metrics",  # pure functions: the bootstrap of metrics/bootstrap.py
    "registry",  # the project's registry: export formats and chart views are registered like tasks
    "analysis",  # plain records of transfer against distance; the analysis imports no report
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(name: str) -> set[str]:
    """The package's modules that `name` imports, at the top or inside functions (not under TYPE_CHECKING)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = set()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {
                f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES else node.module
                for alias in node.names
            }
    return {module for module in found if module in MODULES and module != name}


# imports made on first attribute access, never while the importer itself is imported: no part of a circle
LAZY = {("mbert_eval", "mbert_eval.api")}  # `mbert_eval.run`, `load_results` (the root's `__getattr__`)
GRAPH = {name: imports_of(name) - {target for source, target in LAZY if source == name} for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan 1972), each a circle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def folder(module: str) -> str:
    """The top-level folder (or root module) of a module: mbert_eval.tasks.base → tasks."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_the_package():
    assert cycles(GRAPH) == []


@pytest.mark.parametrize("source", sorted(NEVER))
def test_arrows_that_must_never_exist(source):
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if folder(module) == source
        for target in targets
        if folder(target) in NEVER[source]
    )
    assert wrong == []


def test_every_folder_stands_on_one_floor():
    placed = [name for floor in FLOORS for name in floor]
    assert sorted(placed) == sorted({folder(module) for module in MODULES} - {"__init__"})


def test_imports_point_down_the_floors():
    """The picture of docs/architecture.md as the code has it: each import goes to a lower floor. The package's
    face, `mbert_eval/__init__.py`, stands on none: it hands on names from below and above (lazily), and what
    it holds itself (its version, its folder) any module may read."""
    level = {name: index for index, floor in enumerate(FLOORS) for name in floor}
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if folder(module) != "__init__"
        for target in targets
        if folder(target) not in ("__init__", folder(module)) and level[folder(target)] <= level[folder(module)]
    )
    assert wrong == []


def test_reports_only_read_the_store():
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if folder(module) == "report"
        for target in targets
        if folder(target) not in REPORT_MAY_IMPORT
    )
    assert wrong == []


def test_readers_and_metadata_do_not_import_torch():
    """Readers know no models, and task metadata (what `validate` and `ls` read) needs no torch."""
    torch_free = [
        name
        for name in MODULES
        if folder(name) in ("data", "config", "store")
        or name
        in (
            "mbert_eval.tasks.metadata",
            "mbert_eval.registry",
            "mbert_eval.languages",
            "mbert_eval.paths",
            "mbert_eval.training.features",  # the feature format tasks encode into (issue 21)
        )
    ]
    heavy = {"torch", "transformers"}
    wrong = []
    for name in torch_free:
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            roots = (
                {a.name.split(".")[0] for a in node.names}
                if isinstance(node, ast.Import)
                else {node.module.split(".")[0]}
                if isinstance(node, ast.ImportFrom) and node.module
                else set()
            )
            wrong += [f"{name} imports {root}" for root in roots & heavy]
    assert wrong == []


def test_the_package_root_holds_folders_and_a_few_shared_modules():
    assert {path.stem for path in PACKAGE.glob("*.py")} <= ROOT_MODULES


def test_nothing_imports_the_command_line():
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if folder(module) not in ("cli", "__main__")
        for target in targets
        if folder(target) == "cli"
    )
    assert wrong == []
