"""Shared test helpers: a real `kubesvc apiserver` process and the real kubectl against it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
KUBECTL = os.environ.get("KUBECTL", "kubectl")


def resource(group: str, plural: str) -> Any:
    """The resource-table entry for GROUP/PLURAL (it must exist)."""
    from kubesvc.api.resources import lookup

    res = lookup(group, plural)
    assert res is not None, f"{group}/{plural} is not in the resource table"
    return res


# `kubectl get pod -o wide`'s columns, as kubectl prints them for a real cluster
POD_WIDE_HEADER = [
    *("NAME", "READY", "STATUS", "RESTARTS", "AGE"),
    *("IP", "NODE", "NOMINATED NODE", "READINESS GATES"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_udp_and_tcp_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (a DNS server listens on both)."""
    while True:
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


@dataclass
class ApiServer:
    """One `kubesvc apiserver` child process; stopped by pid, never by name."""

    data_dir: Path
    port: int
    extra: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    def start(self, timeout: float = 30.0) -> None:
        self.log_path = self.data_dir / "apiserver.log"
        self.kubeconfig.unlink(missing_ok=True)  # left behind by a kill -9; readiness marker
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        cmd = [
            sys.executable,
            "-m",
            "kubesvc.cli.main",
            "-v",
            "apiserver",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            *self.extra,
        ]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=ROOT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.kubeconfig.exists():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"apiserver did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


@dataclass
class Kubectl:
    kubeconfig: Path
    cache_dir: Path

    def run(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        cmd = [
            KUBECTL,
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self.cache_dir),
            *args,
        ]
        full_env = {**os.environ, **(env or {})}
        result = subprocess.run(
            cmd, input=input, capture_output=True, text=True, env=full_env, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result

    def __call__(self, *args: str, **kw: object) -> str:
        return self.run(*args, **kw).stdout  # type: ignore[arg-type]


def start_apiserver(data_dir: Path, *extra: str) -> ApiServer:
    server = ApiServer(data_dir=data_dir, port=free_port(), extra=list(extra))
    server.start()
    return server


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    server = start_apiserver(tmp_path_factory.mktemp("apiserver"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def kubectl(apiserver: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(apiserver.kubeconfig, tmp_path_factory.mktemp("kubectl-cache"))
