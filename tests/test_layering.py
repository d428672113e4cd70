"""The import direction of DESIGN.md: lower layers never import higher ones.

Every import statement is checked, including the lazy ones inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "gait"

# DESIGN.md's import direction, lowest layer first. A package may import lower
# layers only; packages in the same layer may not import each other, except in
# the base layer, whose small modules build on one another.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "gait.vocab",
        "gait.canonical",
        "gait.errors",
        "gait.safejson",
        "gait.safeyaml",
        "gait.signing",
        "gait.fsutil",
        "gait.resources",
    ),
    ("gait.intent", "gait.policy"),
    ("gait.engine",),
    ("gait.trace", "gait.state"),
    ("gait.gate", "gait.runpack"),
    ("gait.regress", "gait.packs", "gait.mcp", "gait.gateway", "gait.registry"),
    ("gait.scout", "gait.serve", "gait.sdk"),
    ("gait.cli",),
)


def _forbidden() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for level, layer in enumerate(LAYERS):
        higher = tuple(pkg for upper in LAYERS[level + 1 :] for pkg in upper)
        for pkg in layer:
            siblings = () if level == 0 else tuple(p for p in layer if p != pkg)
            out[pkg] = siblings + higher
    return out


FORBIDDEN = _forbidden()


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str | None = None) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = module or _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
    return found


def _owner(module: str) -> str | None:
    for layer in FORBIDDEN:
        if module == layer or module.startswith(layer + "."):
            return layer
    return None  # gait/__init__.py and the pytest plugin sit outside the layers


SOURCES = sorted(PKG.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PKG.parent)))
def test_module_respects_layering(path: Path) -> None:
    layer = _owner(_module_name(path))
    if layer is None:
        return
    bad = [
        f"{path.name}:{line} imports {name}"
        for line, name in _imports(path)
        for banned in FORBIDDEN[layer]
        if name == banned or name.startswith(banned + ".")
    ]
    assert not bad, f"{layer} must not import {FORBIDDEN[layer]}: {bad}"


def test_no_library_module_imports_the_cli() -> None:
    offenders = [
        f"{p.relative_to(PKG.parent)}:{line}"
        for p in SOURCES
        if not _module_name(p).startswith("gait.cli")
        for line, name in _imports(p)
        if name == "gait.cli" or name.startswith("gait.cli.")
    ]
    assert offenders == []


def test_layer_table_forbids_what_design_md_forbids() -> None:
    assert "gait.cli" in FORBIDDEN["gait.engine"]
    assert "gait.runpack" in FORBIDDEN["gait.engine"]
    assert "gait.engine" in FORBIDDEN["gait.policy"]
    assert "gait.intent" in FORBIDDEN["gait.policy"]
    assert "gait.gate" in FORBIDDEN["gait.runpack"]
    assert "gait.engine" not in FORBIDDEN["gait.runpack"]
    assert "gait.canonical" not in FORBIDDEN["gait.signing"]


def test_layering_scan_sees_lazy_imports(tmp_path: Path) -> None:
    """The scanner must catch an import hidden inside a function."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "def f():\n    from gait.cli import main\n    from . import ir\n", encoding="utf-8"
    )
    names = [name for _, name in _imports(probe, "gait.engine.probe")]
    assert "gait.cli" in names
    assert "gait.engine.ir" in names
