"""The library's layers import one way: ingest → analysis → search → stores → service → edges.

Read from the source (every ``import`` statement, functions included) and checked by
importing in a fresh process; the README's layer diagram names the same packages.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, child_env

#: Each package (or module) and its layer; a module may import its own layer and lower.
LAYERS = {
    "indexer.errors": 0, "indexer.settings": 0,
    "indexer.ingest": 1,
    "indexer.analysis": 2,
    "indexer.search": 3,
    "indexer.store": 4,
    "indexer.service": 5, "indexer.about": 5,
    "indexer.cli": 6, "indexer.progress": 6, "indexer.__main__": 6, "search_app": 6,
}
#: What the web app may use of the library: the front door, settings, errors, the search
#: layer's public API, the reading of thread files (the server builds the seed index,
#: the write API reads thread records), and what the installation is (``--version``).
WEB_ALLOWED = ("indexer.service", "indexer.settings", "indexer.errors", "indexer.search",
               "indexer.ingest", "indexer.about")


def layer(module: str) -> int:
    """The layer of a module (the longest matching package)."""
    if module == "indexer":  # the package itself: its docstring only
        return 0
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len,
               default=None)
    if best is None:
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")
    return LAYERS[best]


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[str]:
    """Absolute names of the project modules a file imports (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append(target)
            out.extend(f"{target}.{a.name}" for a in node.names)  # `from x import module`
        elif isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
    return [m for m in out if m.split(".")[0] in ("indexer", "search_app")]


def known(module: str) -> bool:
    """Whether a dotted name is a module or package of the project."""
    path = ROOT / Path(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


SOURCES = sorted([*(ROOT / "indexer").rglob("*.py"), *(ROOT / "search_app").rglob("*.py")])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_flow_one_way(path: Path) -> None:
    me = module_name(path)
    mine = layer(me)
    for target in imports(path):
        if not known(target):
            continue  # a name imported from a module, not a module
        assert layer(target) <= mine, f"{me} (layer {mine}) imports {target} " \
                                      f"(layer {layer(target)})"
        for a, b in (("indexer.store.whoosh", "indexer.store.postgres"),
                     ("indexer.store.postgres", "indexer.store.whoosh")):
            assert not (me.startswith(a) and target.startswith(b)), f"{me} imports {target}"
        if me.startswith("search_app") and target != "indexer":  # `from indexer import x`
            assert target.startswith(("search_app", *WEB_ALLOWED)), \
                f"{me} imports {target}: the web app uses the search layer's public API"


def test_every_module_has_a_layer() -> None:
    assert SOURCES
    for path in SOURCES:
        layer(module_name(path))


def loaded_by(module: str) -> set[str]:
    """The modules a fresh interpreter holds after importing ``module``."""
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], env=child_env(), text=True,
                         capture_output=True, check=True).stdout
    return set(out.split())


def test_the_postgres_store_loads_nothing_of_the_embedded_one() -> None:
    mods = loaded_by("indexer.store.postgres.store")
    assert not {m for m in mods if m.startswith("indexer.store.whoosh")}
    # Whoosh's index machinery stays out; only its analysis classes, which the French
    # chain is built from, come in
    assert not {m for m in mods if m.startswith(("whoosh.index", "whoosh.searching",
                                                 "whoosh.filedb", "whoosh.codec"))}


def test_the_search_layer_loads_no_store() -> None:
    mods = loaded_by("indexer.search.pipeline")
    assert not {m for m in mods if m.startswith(("indexer.store", "psycopg", "flask"))}
