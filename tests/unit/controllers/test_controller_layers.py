"""The controllers' pure modules stay pure, and the controllers reach the API only via client."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CONTROLLERS = ROOT / "src/kubesvc/controllers"
PURE = [
    CONTROLLERS / "pods.py",
    CONTROLLERS / "owners.py",
    CONTROLLERS / "hashing.py",
    CONTROLLERS / "tracker.py",
    CONTROLLERS / "services.py",
    CONTROLLERS / "deployment/util.py",
    CONTROLLERS / "deployment/planner.py",
    CONTROLLERS / "deployment/progress.py",
    CONTROLLERS / "deployment/scaling.py",
    CONTROLLERS / "replicaset/plan.py",
    CONTROLLERS / "scheduler/placement.py",
    CONTROLLERS / "endpointslice/reconciler.py",
    CONTROLLERS / "endpoints/subsets.py",
    CONTROLLERS / "nodelifecycle/health.py",
]
IMPURE = {"subprocess", "socket", "asyncio", "aiohttp", "sqlite3", "threading", "time"}


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", PURE, ids=lambda p: str(p.relative_to(CONTROLLERS)))
def test_pure_modules_do_no_io(path: Path) -> None:
    modules = imports(path)
    assert not {m.split(".")[0] for m in modules} & IMPURE
    assert not {m for m in modules if m.startswith("kubesvc.client")}


@pytest.mark.parametrize(
    "path", sorted(CONTROLLERS.rglob("*.py")), ids=lambda p: str(p.relative_to(CONTROLLERS))
)
def test_no_store_or_apiserver_imports(path: Path) -> None:
    assert not {m for m in imports(path) if m.startswith(("kubesvc.store", "kubesvc.apiserver"))}
