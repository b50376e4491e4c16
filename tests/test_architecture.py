"""The package's shape: one import name, layers that only import downward, no import cycles.

The layers are written down in ``docs/architecture.md``; this test is their enforcement. It reads
every module's source (imports inside functions included) instead of importing it, so a lazy
import cannot hide an upward edge.
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Lowest first. A module may import its own layer and any layer below; ``berth`` itself (the
# root package: a docstring and the version) sits with the core.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("berth.core", "berth")),
    ("quantization and data", ("berth.quant", "berth.data")),
    ("models", ("berth.models",)),
    ("training", ("berth.train",)),
    ("hardware", ("berth.hardware", "berth.rtl")),
    ("simulation", ("berth.sim",)),
    ("flows", ("berth.flows", "berth.results")),
    ("cli", ("berth.cli", "berth.commands")),
]


def layer_of(module: str) -> int:
    """Index in LAYERS of the longest prefix that names ``module``'s layer."""
    best, rank = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for pre in prefixes:
            if (module == pre or module.startswith(pre + ".")) and len(pre) > best:
                best, rank = len(pre), i
    if rank is None:
        raise AssertionError(f"module {module} belongs to no layer")
    return rank


def declared_packages() -> tuple[list[str], dict[str, str]]:
    """The packages and package-dir mapping that pyproject.toml declares."""
    setup = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    return setup["packages"], setup["package-dir"]


def package_dir(package: str, mapping: dict[str, str]) -> Path:
    """The folder of ``package`` in the checkout, following the package-dir mapping."""
    parts = package.split(".")
    for i in range(len(parts), 0, -1):
        head = ".".join(parts[:i])
        if head in mapping:
            return REPO / mapping[head] / Path(*parts[i:])
    raise AssertionError(f"package {package} is not under any package-dir entry")


def discover() -> dict[str, Path]:
    """``{module name: source file}`` of every module of every declared package."""
    packages, mapping = declared_packages()
    modules = {}
    for pkg in packages:
        folder = package_dir(pkg, mapping)
        for src in folder.glob("*.py"):
            modules[pkg if src.stem == "__init__" else f"{pkg}.{src.stem}"] = src
    return modules


def imports_of(module: str, source: str, is_package: bool, known: set[str]) -> set[str]:
    """berth modules that ``source`` imports anywhere (module level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def import_graph(extra: dict[str, str] | None = None) -> dict[str, set[str]]:
    """The import graph of berth's sources, plus ``extra`` planted modules (name -> source)."""
    sources = {name: path.read_text() for name, path in discover().items()}
    sources.update(extra or {})
    known = set(sources)
    return {name: imports_of(name, text, name in _packages(), known) for name, text in sources.items()}


def _packages() -> set[str]:
    return set(declared_packages()[0])


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every edge from a module to a module of a higher layer, as readable lines."""
    bad = []
    for src, targets in sorted(graph.items()):
        for dst in sorted(targets):
            if layer_of(dst) > layer_of(src):
                bad.append(f"{src} ({LAYERS[layer_of(src)][0]}) imports {dst} ({LAYERS[layer_of(dst)][0]})")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_every_package_on_disk_is_declared() -> None:
    packages, mapping = declared_packages()
    on_disk = set()
    for root_pkg, folder in mapping.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            on_disk.add(".".join([root_pkg, *rel.parts]))
    assert on_disk == set(packages)


def test_layers_only_import_downward() -> None:
    assert upward_imports(import_graph()) == []


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_a_planted_upward_import_or_cycle_is_caught() -> None:
    planted = {"berth.core.planted": "def f():\n    from berth.flows.sweep import load_sweep\n"}
    assert upward_imports(import_graph(planted)) == [
        "berth.core.planted (core) imports berth.flows.sweep (flows)"]
    loop = {"berth.quant.planted_a": "from berth.quant import planted_b\n",
            "berth.quant.planted_b": "import berth.quant.planted_a\n"}
    assert ["berth.quant.planted_a", "berth.quant.planted_b"] in cycles(import_graph(loop))


def test_only_berth_is_importable_outside_the_checkout(tmp_path: Path) -> None:
    probe = ("import importlib.util, berth\n"
             "print([n for n in ('models', 'quant', 'hardware', 'sim', 'rtl') if importlib.util.find_spec(n)])")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("package, name", [("berth.rtl", "blockmatch.sv"),
                                           ("berth.hardware.blockmatch.vitis", "templates/blockmatch.h"),
                                           ("berth.sim", "native/tb_blockmatch.cpp"),
                                           ("berth", "sweeps/default.toml")])
def test_package_data_is_found_through_importlib(package: str, name: str) -> None:
    from berth.core.files import package_file

    assert package_file(package, *name.split("/")).is_file()
    assert importlib.util.find_spec(package) is not None
