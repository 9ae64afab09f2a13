"""The house's arrows point down (docs/README.md, STYLE): feature blueprints on top, shared layers
below, the sandbox beside them as if it were an outside PSP. Read from the source, so a new
upward import fails here before anyone has to find it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "kadosei"

BLUEPRINTS = {"api", "portal", "checkout", "docs"}
# importer package -> the kadosei packages it must never import
FORBIDDEN = {
    "providers": {"services", "jobs"} | BLUEPRINTS,
    "sandbox": {"services", "models", "routing", "webhooks", "providers", "schemas"} | BLUEPRINTS,
    "webhooks": {"services"} | BLUEPRINTS,
    "routing": {"services", "models", "webhooks", "providers", "jobs", "sandbox"} | BLUEPRINTS,
    "models": {"services", "webhooks", "providers", "jobs", "sandbox"} | BLUEPRINTS,
    "schemas": {"services", "models", "webhooks", "providers", "jobs", "sandbox"} | BLUEPRINTS,
    "services": BLUEPRINTS,
    "api": BLUEPRINTS - {"api"},
    "portal": BLUEPRINTS - {"portal"},
    "checkout": BLUEPRINTS - {"checkout"},
    "docs": BLUEPRINTS - {"docs"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def _arrows() -> list[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2 or parts[0] not in FORBIDDEN:
            continue
        for line, module in _imports(path):
            bits = module.split(".")
            if bits[0] == "kadosei" and len(bits) > 1 and bits[1] in FORBIDDEN[parts[0]]:
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} -> {module}")
    return bad


def test_no_layer_imports_upwards():
    assert _arrows() == []


def test_the_routing_package_holds_the_policy_and_its_stores_only():
    shipped = {path.name for path in (PACKAGE / "routing").glob("*.py")}
    assert not shipped & {"simulate.py", "scenarios.py", "baselines.py", "svg.py"}


@pytest.mark.parametrize("importer", sorted(FORBIDDEN))
def test_the_check_sees_every_layer(importer):
    assert (PACKAGE / importer).is_dir(), f"kadosei/{importer} moved: update FORBIDDEN"
