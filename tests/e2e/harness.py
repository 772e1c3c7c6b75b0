"""The e2e harness: a whole cluster from `kubesvc up` as a module fixture, and waiting helpers.

Every e2e module builds its own cluster with `cluster_fixture(...)`; the fixture tears it down
and checks that no namespace, link, route or /etc/netns entry of it is left. Clusters with the
default CIDRs cannot run side by side, so e2e modules run one after another.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Kubectl, free_port

SEEDS = ROOT / "tests" / "fixtures" / "seeds"


class Cluster:
    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.extra = list(extra)
        self.port = free_port()
        self.log = data_dir / "up.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> None:
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kubesvc.cli.main",
                    "up",
                    "--data-dir",
                    str(self.data_dir),
                    "--nodes",
                    "3",
                    "--port",
                    str(self.port),
                    "--node-monitor-grace-period",
                    "5",
                    *self.extra,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "cluster ready" in self.log.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"kubesvc up did not get ready:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def node_shell(self, node: str, *cmd: str, timeout: float = 20) -> str:
        """CMD's output on NODE (as `kubesvc node-shell`); it must succeed."""
        result = self.node_run(node, *cmd, timeout=timeout)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def node_run(
        self, node: str, *cmd: str, timeout: float = 20
    ) -> subprocess.CompletedProcess[str]:
        """Run CMD on NODE (as `kubesvc node-shell`), whatever its exit status."""
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "kubesvc.cli.main",
                "node-shell",
                "--data-dir",
                str(self.data_dir),
                node,
                "--",
                *cmd,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )

    def cluster_id(self) -> str:
        return str(json.loads((self.data_dir / "cluster.json").read_text())["cluster"])


def run_cluster(tmp_path_factory: pytest.TempPathFactory, *extra: str) -> Iterator[Cluster]:
    """Start a cluster, yield it, stop it and check that nothing of it is left."""
    c = Cluster(tmp_path_factory.mktemp("cluster"), *extra)
    c.start()
    try:
        yield c
    finally:
        ident = c.cluster_id()
        c.stop()
        left = [
            ns
            for ns in subprocess.run(
                ["ip", "netns", "list"], capture_output=True, text=True
            ).stdout.split()
            if f"ks-{ident}-" in ns
        ]
        assert left == [], f"namespaces left behind: {left}\n{c.log.read_text()}"
        links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
        assert ident not in links and ident not in routes
        assert not (
            Path("/etc/netns").exists()
            and [p for p in Path("/etc/netns").iterdir() if ident in p.name]
        )


def cluster_kubectl(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    k = Kubectl(cluster.data_dir / "kubeconfig", tmp_path_factory.mktemp("kubectl-cache"))
    STATE[:] = [
        lambda: k.run("get", "pods", "-o", "wide", check=False).stdout,
        lambda: k.run("get", "endpointslices", check=False).stdout,
    ]
    return k


STATE: list[Callable[[], str]] = []  # what to print when a wait times out


def eventually(check: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.3)
    state = "\n".join(show() for show in STATE)
    raise AssertionError(f"not reached in {timeout}s: {what} (last: {last!r})\n{state}")


def pods(kubectl: Kubectl, selector: str) -> list[dict[str, Any]]:
    items = json.loads(kubectl("get", "pods", "-l", selector, "-o", "json"))["items"]
    return list(items)


def running_ready(items: list[dict[str, Any]], count: int) -> bool:
    def ready(p: dict[str, Any]) -> bool:
        conds = {c["type"]: c["status"] for c in p["status"].get("conditions") or []}
        return p["status"].get("phase") == "Running" and conds.get("Ready") == "True"

    return len(items) == count and all(ready(p) for p in items)
