"""The import graph the design promises: no cycles, no import that goes up the layer order.

The layer order lives in one place, the block between ``<!-- layers:begin -->`` and ``<!-- layers:end -->``
in ``docs/architecture.md``: one layer a line, its modules (dotted names below ``genrekit``; a package name
covers its submodules unless one of them is listed on its own). A module may import from its own layer and
the layers above it. Every import counts, also one inside a function (that is where cycles hide), and
importing ``a.b.c`` counts as importing the packages ``a`` and ``a.b`` too (their ``__init__`` runs first),
except imports under ``if TYPE_CHECKING:``. Imports are read from the source's syntax tree, not by text search.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "genrekit"
DOC = ROOT / "docs" / "architecture.md"


def read_layers(text: str) -> list[list[str]]:
    """The layers of an architecture document: ``[[module, ...], ...]``, top (imported by all) first."""
    found = re.search(r"<!-- layers:begin -->\s*```[a-z]*\n(.*?)```\s*<!-- layers:end -->", text, re.S)
    if not found:
        raise AssertionError("no <!-- layers:begin --> ... <!-- layers:end --> block with a code fence")
    layers = []
    for line in found.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            layers.append(line.split(":", 1)[1].split() if ":" in line else line.split())
    return layers


def module_name(path: Path, root: Path) -> str:
    """``features/specs.py`` -> ``features.specs``; a package's ``__init__.py`` -> the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(path: Path, root: Path, package: str, modules: set[str]) -> set[str]:
    """The package's modules that ``path`` imports (resolved to the most specific module that exists)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = _type_checking_lines(tree)
    own = module_name(path, root).split(".") if module_name(path, root) else []
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def add(dotted: str) -> None:
        parts = dotted.split(".") if dotted else []
        while parts and ".".join(parts) not in modules:
            parts.pop()
        found.add(".".join(parts))  # "" is the package's own __init__
        # importing a.b.c runs a/__init__ and a/b/__init__ first (those of the importer's own packages are
        # already running)
        for end in range(1, len(parts)):
            parent = ".".join(parts[:end])
            if own[:end] != parts[:end]:
                found.add(parent)

    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == package or alias.name.startswith(package + "."):
                    add(alias.name[len(package) + 1:])
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the importing module's package
                base = own if is_package else own[:-1]
                base = base[:len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            elif node.module == package or (node.module or "").startswith(package + "."):
                prefix = node.module[len(package) + 1:]
            else:
                continue
            for alias in node.names:  # `from genrekit import features` imports a module
                add(f"{prefix}.{alias.name}" if prefix else alias.name)
    found.discard(module_name(path, root))
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, for every ``.py`` file under ``root``."""
    files = {module_name(path, root): path for path in sorted(root.rglob("*.py"))}
    return {name: imports_of(path, root, package, set(files)) for name, path in files.items()}


def layer_of(module: str, layers: list[list[str]]) -> int | None:
    """The index of the most specific layer entry covering ``module`` (None when none does)."""
    best, best_len = None, -1
    for index, entries in enumerate(layers):
        for entry in entries:
            if (module == entry or module.startswith(entry + ".")) and len(entry) > best_len:
                best, best_len = index, len(entry)
    return best


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
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


def problems(root: Path, package: str, layers: list[list[str]]) -> list[str]:
    """Every cycle, upward import and module missing from the layers, as sentences."""
    graph = import_graph(root, package)
    out = [f"import cycle: {' <-> '.join(component)}" for component in cycles(graph)]
    for module in sorted(graph):
        mine = layer_of(module, layers)
        if mine is None:
            if module:  # the package's __init__ is the public face, above every layer
                out.append(f"{module} is in no layer of the architecture document")
            continue
        for imported in sorted(graph[module]):
            theirs = layer_of(imported, layers)
            if imported and theirs is not None and theirs > mine:
                out.append(f"{module} (layer {mine + 1}) imports {imported} (layer {theirs + 1}): upward")
    return out


# The checker on a small package, with a cycle and an upward import planted --------------------------
def _write(root: Path, files: dict[str, str]) -> None:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))


def test_the_checker_finds_a_planted_cycle_and_an_upward_import(tmp_path):
    root = tmp_path / "fake"
    layers = [["base"], ["low"], ["high", "apps"]]
    _write(root, {"__init__.py": "", "base.py": "import os\n", "low.py": "from fake import base\n",
                  "high.py": "from fake.low import thing\n", "apps/__init__.py": "from . import cli\n",
                  "apps/cli.py": "from fake import high\n"})
    assert problems(root, "fake", layers) == []

    # a cycle hidden inside a function, as the issue found them; low -> high is also upward
    _write(root, {"low.py": "from fake import base\n\ndef late():\n    from fake.high import other\n"})
    found = problems(root, "fake", layers)
    assert "import cycle: high <-> low" in found
    assert "low (layer 2) imports high (layer 3): upward" in found

    # an import only for type checkers is not an import; a relative import is
    _write(root, {"low.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from fake import high\n",
                  "base.py": "from .apps import cli\n"})
    assert problems(root, "fake", layers) == ["base (layer 1) imports apps (layer 3): upward",
                                              "base (layer 1) imports apps.cli (layer 3): upward"]

    # importing a submodule runs its package's __init__: low may import apps.low_part only if apps may be
    _write(root, {"base.py": "import os\n", "apps/low_part.py": "X = 1\n", "low.py": "from fake.apps.low_part import X\n"})
    layers = [["base"], ["low", "apps.low_part"], ["high", "apps"]]
    assert problems(root, "fake", layers) == ["import cycle: apps <-> apps.cli <-> high <-> low",
                                              "low (layer 2) imports apps (layer 3): upward"]


def test_read_layers_takes_the_block_between_the_markers():
    text = "intro\n<!-- layers:begin -->\n```text\n1: errors files  # leaves\n2: audio\n```\n<!-- layers:end -->\n"
    assert read_layers(text) == [["errors", "files"], ["audio"]]
    with pytest.raises(AssertionError, match="layers:begin"):
        read_layers("no block here")


# genrekit itself -----------------------------------------------------------------------------------
def test_genrekit_has_no_import_cycle_and_no_upward_import():
    layers = read_layers(DOC.read_text())
    assert problems(PACKAGE, "genrekit", layers) == []


def test_the_architecture_listing_names_every_module_and_only_modules_that_exist():
    """docs/architecture.md's module listing (the code block that starts with errors.py) stays true to the tree."""
    text = DOC.read_text()
    listing = text[text.index("```\nerrors.py"):]
    listing = listing[:listing.index("\n```\n")]
    named = set(re.findall(r"(?<![/\w])(\w+\.py)\b", listing))  # not scripts/x.py
    files = {path.name for path in PACKAGE.rglob("*.py")} - {"__init__.py"}
    assert files - named == set(), "modules missing from docs/architecture.md"
    assert named - files == set(), "docs/architecture.md names files that do not exist"
    packages = {path.parent.name for path in PACKAGE.rglob("__init__.py")} - {"genrekit"}
    assert packages <= set(re.findall(r"^(\w+)/", listing, re.M)) | {"report"}
