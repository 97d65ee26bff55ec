"""The code's shape: imports follow the flow of the layers, and the tests mirror ``src/``.

The flow, lowest first (a module may import its own layer and the ones below, never one above):

    foundations (errors, signing, the private ``_*`` modules)
    < data, datasets
    < models, evaluate, runtime, tasks       (one layer; the runtime is torch-free)
    < training < methods < export < artifact < recipe < jobs < cli
    < the ``finlite`` package itself (its lazy public API may name anything)

Every ``finlite`` import counts, at module level and inside functions; imports under
``if TYPE_CHECKING:`` do not (they never run). The runtime must not import torch at all, nor any
module that imports torch when it is loaded (checked through the chain of module-level imports).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "finlite"
TESTS = ROOT / "tests"

#: The layer of each top-level name under finlite (a private ``_x`` module not listed is a foundation).
LAYERS: dict[str, int] = {
    "errors": 0, "signing": 0,
    "data": 1, "datasets": 1,
    "models": 2, "evaluate": 2, "runtime": 2, "tasks": 2,
    "training": 3,
    "methods": 4,
    "export": 5,
    "artifact": 6,
    "recipe": 7,
    "jobs": 8,
    "cli": 9,
    "_console": 9,  # the `finlite` script's entry point: set-up before numpy loads, then the command line
    "__main__": 9,  # ``python -m finlite``: the same entry point
}
PACKAGE_LAYER = 10  # ``finlite`` itself: the public API, lazily importing from every layer
LAYER_NAMES = ["foundations", "data", "models/evaluate/runtime", "training", "methods", "export", "artifact",
               "recipe", "jobs", "cli", "finlite (the package)"]
#: Test folders that do not mirror one package: cross-cutting runs and property-based tests.
CROSS_CUTTING = {"integration", "property"}
#: Tests of the repository as a whole, at the top of tests/.
PROJECT_TESTS = {"test_readme.py", "test_layout.py"}


@dataclass(frozen=True)
class Import:
    """One import statement's target (a ``finlite`` module, or the top-level name of another package)."""

    target: str
    line: int
    module_level: bool  # runs when the importing module is loaded (not inside a function)


def module_name(path: Path, src: Path = SRC) -> str:
    """``finlite.x.y`` for ``src/finlite/x/y.py`` (a package's ``__init__`` is the package)."""
    parts = list(path.relative_to(src.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(src: Path = SRC) -> dict[str, Path]:
    return {module_name(p, src): p for p in sorted(src.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(source: str, module: str, is_package: bool, known: set[str]) -> Iterator[Import]:
    """Every import in ``source`` that runs (``TYPE_CHECKING`` blocks skipped), resolved to the
    deepest module in ``known`` for finlite imports, or to the top-level package name otherwise."""

    def resolve(name: str) -> str:
        parts = name.split(".")
        while parts and ".".join(parts) not in known:
            parts.pop()
        return ".".join(parts) if parts else name

    package = module if is_package else module.rpartition(".")[0]

    def visit(node: ast.AST, module_level: bool) -> Iterator[Import]:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from visit(child, module_level)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                yield Import(resolve(alias.name) if top == "finlite" else top, node.lineno, module_level)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from .x import y
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] == "finlite":
                for alias in node.names:
                    yield Import(resolve(f"{base}.{alias.name}"), node.lineno, module_level)
            else:
                yield Import(base.split(".")[0], node.lineno, module_level)
        inside_function = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            yield from visit(child, module_level and not inside_function)

    yield from visit(ast.parse(source), True)


def layer_of(module: str) -> int | None:
    """The layer of a ``finlite`` module, or None when :data:`LAYERS` does not place it."""
    parts = module.split(".")
    if len(parts) == 1:
        return PACKAGE_LAYER
    if parts[1].startswith("_") and parts[1] not in LAYERS:
        return 0
    return LAYERS.get(parts[1])


def _graph(src: Path = SRC) -> dict[str, list[Import]]:
    modules = _modules(src)
    known = set(modules)
    return {name: list(imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", known))
            for name, path in modules.items()}


def upward_imports(graph: dict[str, list[Import]], src: Path = SRC) -> list[str]:
    """One line per import of a module from a higher layer than the importer's."""
    found = []
    for module, imports in sorted(graph.items()):
        own = layer_of(module)
        for imp in imports:
            if not imp.target.startswith("finlite"):
                continue
            theirs = layer_of(imp.target)
            if own is not None and theirs is not None and theirs > own:
                where = _modules(src)[module].relative_to(src.parent.parent)
                found.append(f"{where}:{imp.line}: {module} ({LAYER_NAMES[own]}) imports {imp.target} "
                             f"({LAYER_NAMES[theirs]})")
    return found


def torch_chains(graph: dict[str, list[Import]], start: str) -> list[str]:
    """The chains of module-level imports by which loading ``start`` loads torch (empty: none)."""
    chains: list[str] = []
    seen: set[str] = set()

    def walk(module: str, path: list[str]) -> None:
        if module in seen:
            return
        seen.add(module)
        for imp in graph.get(module, []):
            if not imp.module_level:
                continue
            if imp.target == "torch":
                chains.append(" -> ".join([*path, "torch"]))
            elif imp.target.startswith("finlite"):
                walk(imp.target, [*path, imp.target])
                # importing finlite.a.b runs finlite.a's __init__ first
                parent = imp.target.rpartition(".")[0]
                if parent.count(".") >= 1:
                    walk(parent, [*path, parent])

    walk(start, [start])
    return chains


# -- the checker checks ----------------------------------------------------------------------------
def _fake_tree(tmp_path: Path, files: dict[str, str]) -> Path:
    src = tmp_path / "src" / "finlite"
    for name, text in {"__init__.py": "", **files}.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return src


def test_the_checker_sees_function_imports_and_skips_type_checking(tmp_path: Path) -> None:
    src = _fake_tree(tmp_path, {
        "data/__init__.py": "",
        "data/io.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from finlite.jobs import train\n"
                       "def f():\n    from finlite.methods.prune import prune\n"),
        "methods/__init__.py": "", "methods/prune.py": "import torch\n",
        "jobs/__init__.py": "", "jobs/train.py": "from finlite.data import io\n",
        "runtime/__init__.py": "from . import batch\n", "runtime/batch.py": "from ..methods import prune\n",
    })
    graph = _graph(src)
    assert upward_imports(graph, src) == [
        "src/finlite/data/io.py:5: finlite.data.io (data) imports finlite.methods.prune (methods)",
        "src/finlite/runtime/batch.py:1: finlite.runtime.batch (models/evaluate/runtime) imports "
        "finlite.methods.prune (methods)",
    ]
    assert torch_chains(graph, "finlite.runtime") == [
        "finlite.runtime -> finlite.runtime.batch -> finlite.methods.prune -> torch"]
    assert torch_chains(graph, "finlite.data.io") == []  # the function-level import does not run on load


# -- the real tree ------------------------------------------------------------------------------------
def test_every_module_has_a_layer() -> None:
    unplaced = sorted(m for m in _modules() if layer_of(m) is None)
    assert not unplaced, (f"{unplaced} have no layer: add their top-level name to LAYERS in tests/test_layout.py "
                          "(and to docs/architecture.md) at the place in the flow where they belong.")


def test_no_module_imports_one_above_it_in_the_flow() -> None:
    violations = upward_imports(_graph())
    assert not violations, ("These imports go against the flow (a module may import its own layer and those "
                            "below it; move the code down or pass the value in):\n" + "\n".join(violations))


def test_the_runtime_never_imports_torch() -> None:
    graph = _graph()
    runtime = sorted(m for m in graph if m == "finlite.runtime" or m.startswith("finlite.runtime."))
    direct = [f"{m}:{imp.line}" for m in runtime for imp in graph[m] if imp.target in ("torch", "safetensors")]
    assert not direct, f"The runtime imports torch or safetensors at {direct}; it must score without them."
    chains = [chain for m in runtime for chain in torch_chains(graph, m)]
    assert not chains, "Loading the runtime loads torch through:\n" + "\n".join(chains)
    above = [f"{m} imports {imp.target}" for m in runtime for imp in graph[m]
             if imp.target.startswith(("finlite.models", "finlite.training", "finlite.methods"))]
    assert not above, f"The runtime imports torch-based modules: {above}"


def _test_folders() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*") if p.is_dir()
                  and not any(part == "__pycache__" or part.startswith(".") for part in p.relative_to(TESTS).parts)
                  and p.relative_to(TESTS).parts[0] not in CROSS_CUTTING)


def _module_names(package: Path) -> set[str]:
    names = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    names |= {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
    return names | {n.lstrip("_") for n in names}


@pytest.mark.parametrize("folder", _test_folders(), ids=lambda p: str(p.relative_to(TESTS)))
def test_test_folders_mirror_packages_of_src(folder: Path) -> None:
    package = SRC / folder.relative_to(TESTS)
    assert (package / "__init__.py").is_file(), (
        f"tests/{folder.relative_to(TESTS)} mirrors no package of src/finlite; name test folders after the package "
        f"they test, or put cross-cutting tests in tests/integration.")
    assert (folder / "__init__.py").is_file(), f"tests/{folder.relative_to(TESTS)} needs an __init__.py."


def test_test_files_are_named_after_a_module_of_their_package() -> None:
    wrong = []
    for folder in [TESTS, *_test_folders()]:
        package = SRC / folder.relative_to(TESTS)
        if not package.is_dir():
            continue  # reported by test_test_folders_mirror_packages_of_src
        names = _module_names(package) | {package.name}
        for path in sorted(folder.glob("test_*.py")):
            if folder == TESTS and path.name in PROJECT_TESTS:
                continue
            stem = path.stem.removeprefix("test_")
            if not any(stem == n or stem.startswith(n + "_") for n in names):
                wrong.append(str(path.relative_to(ROOT)))
    assert not wrong, (f"{wrong}: a test file is test_<module>[_topic].py for a module of the package its folder "
                       "mirrors (or test_<package>.py); cross-cutting tests go in tests/integration.")
