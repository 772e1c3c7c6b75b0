"""The tree keeps its shape: lint, types, import layers, and pure modules free of I/O."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Modules that must stay functions of their inputs: no sockets, processes or event loop.
PURE = [
    *sorted((ROOT / "src/kubesvc/api").rglob("*.py")),
    ROOT / "src/kubesvc/apiserver/allocation.py",
    ROOT / "src/kubesvc/apiserver/discovery.py",
    ROOT / "src/kubesvc/apiserver/paths.py",
    ROOT / "src/kubesvc/apiserver/strategy.py",
    ROOT / "src/kubesvc/controllers/endpointslice/reconciler.py",
    ROOT / "src/kubesvc/controllers/endpointslice/triggertime.py",
    ROOT / "src/kubesvc/controllers/statefulset/identity.py",
    ROOT / "src/kubesvc/controllers/statefulset/reconciler.py",
    ROOT / "src/kubesvc/controllers/statefulset/revision.py",
    ROOT / "src/kubesvc/lib/duration.py",
    ROOT / "src/kubesvc/net/plan.py",
    ROOT / "src/kubesvc/dns/view.py",
    ROOT / "src/kubesvc/dns/records.py",
    ROOT / "src/kubesvc/dns/cache.py",
    ROOT / "src/kubesvc/dns/metrics.py",
    ROOT / "src/kubesvc/dns/handler.py",
    ROOT / "src/kubesvc/proxy/model.py",
    ROOT / "src/kubesvc/proxy/iptables/names.py",
    ROOT / "src/kubesvc/proxy/iptables/render.py",
    ROOT / "src/kubesvc/proxy/iptables/restores.py",
    ROOT / "src/kubesvc/proxy/iptables/jumps.py",
    ROOT / "src/kubesvc/proxy/tracker.py",
    ROOT / "src/kubesvc/proxy/flows.py",
    *(ROOT / f"src/kubesvc/proxy/trace/{m}.py" for m in ("ruleset", "netfilter", "network")),
    *(ROOT / f"src/kubesvc/proxy/trace/{m}.py" for m in ("path", "explain", "report")),
    ROOT / "src/kubesvc/proxy/userspace/balancer.py",
    ROOT / "src/kubesvc/proxy/userspace/render.py",
    ROOT / "src/kubesvc/node/envvars.py",
    ROOT / "src/kubesvc/node/expand.py",
    ROOT / "src/kubesvc/node/resolvconf.py",
    ROOT / "src/kubesvc/node/podstatus.py",
    ROOT / "src/kubesvc/node/logs.py",
    ROOT / "src/kubesvc/node/spdy.py",
    ROOT / "src/kubesvc/node/spdysession.py",
]
IMPURE = {"subprocess", "socket", "asyncio", "aiohttp", "sqlite3", "threading"}


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; run scripts/setup")
    return found


def _run(*cmd: str) -> None:
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(cmd)}:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("path", PURE, ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_modules_do_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & IMPURE


def test_ruff() -> None:
    _run(_tool("ruff"), "check", "src", "tests", "bench")


def test_import_layers() -> None:
    _run(_tool("lint-imports"))


def test_mypy_strict() -> None:
    _run(_tool("mypy"))
