"""The node agent's pure modules stay functions of their inputs: no sockets, processes, loops."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

NODE = Path(__file__).resolve().parents[3] / "src/kubesvc/node"
PURE = ["envvars.py", "expand.py", "resolvconf.py", "images.py", "podstatus.py"]
IMPURE = {"subprocess", "socket", "asyncio", "aiohttp", "sqlite3", "threading", "ssl", "urllib"}


@pytest.mark.parametrize("name", PURE)
def test_pure_modules_do_no_io(name: str) -> None:
    imported: set[str] = set()
    for node in ast.walk(ast.parse((NODE / name).read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & IMPURE


@pytest.mark.parametrize("path", sorted(NODE.glob("apps/*.py")), ids=lambda p: p.name)
def test_apps_do_not_import_the_agent(path: Path) -> None:
    """The image programs run inside pods: they import only the standard library and apps."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kubesvc"):
            assert node.module.startswith("kubesvc.node.apps"), node.module
