"""kubectl's streaming commands against a whole cluster: port-forward (SPDY/3.1 tunnelled in a
WebSocket, and the plain SPDY fallback), attach, run -i/-it --rm, cp, exec -it.

Needs root (network namespaces); runs its own 3-node cluster (the fixtures of test_cluster).
Port-forward listens on 127.0.0.1 only. The HTTP server pod is Python's http.server serving a
5 MB random file from a host directory (containers run on the host's file system).

`script(1)` provides the terminal for -it. Its stdin is kept open (a pipe) for the whole run:
util-linux script, once its own stdin hits EOF, writes the terminal's EOF character to the
child, and with a non-terminal stdin that is a NUL byte, which kubectl (raw mode) forwards and
the pod's terminal echoes as `^@`. That was the stray `^@` seen under script, not kubesvc.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import KUBECTL, Kubectl, free_port
from tests.e2e.harness import eventually, running_ready

SIZE = 5 * 1024 * 1024

WEB = """\
apiVersion: v1
kind: Service
metadata: {name: myapp}
spec:
  selector: {app: myapp}
  ports:
  - port: 80
    targetPort: http
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: myapp}
spec:
  containers:
  - name: web
    image: busybox
    command: [PYTHON, "-m", "http.server", "8000", "--directory", WWW]
    ports:
    - {name: http, containerPort: 8000}
"""


def kube(kubectl: Kubectl, *args: str) -> list[str]:
    base = [KUBECTL, "--kubeconfig", str(kubectl.kubeconfig), "--cache-dir", str(kubectl.cache_dir)]
    return [*base, *args]


@pytest.fixture(scope="module")
def web(kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `web` pod behind Service myapp (80 → named port http = 8000); its files' directory."""
    www = tmp_path_factory.mktemp("www")
    (www / "big.bin").write_bytes(os.urandom(SIZE))
    (www / "small.txt").write_text("small file\n")
    manifest = WEB.replace("PYTHON", json.dumps(sys.executable)).replace(
        "WWW", json.dumps(str(www))
    )
    kubectl("apply", "-f", "-", input=manifest)
    eventually(
        lambda: running_ready(
            json.loads(kubectl("get", "pods", "-l", "app=myapp", "-o", "json"))["items"], 1
        ),
        what="web running",
    )
    return www


class Lines:
    """A child's stdout, line by line, readable with a timeout while it runs."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert proc.stdout is not None
        stream = proc.stdout
        self.thread = threading.Thread(
            target=lambda: [self.queue.put(ln) for ln in stream], daemon=True
        )
        self.thread.start()

    def wait_for(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.seen.append(self.queue.get(timeout=0.2))
            except queue.Empty:
                continue
            if text in self.seen[-1]:
                return
        raise AssertionError(f"{text!r} not printed; got {self.seen}")

    def rest(self) -> list[str]:
        """Every line, once the child has closed its stdout."""
        self.thread.join(timeout=10)
        while not self.queue.empty():
            self.seen.append(self.queue.get_nowait())
        return self.seen


def reap(proc: subprocess.Popen[str], lines: Lines) -> None:
    """Stop a child if it still runs; wait for it; close its pipes once they are drained."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    lines.rest()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


@pytest.fixture
def forward() -> Iterator[list[tuple[subprocess.Popen[str], Lines]]]:
    """Started `kubectl port-forward` processes, reaped after the test."""
    started: list[tuple[subprocess.Popen[str], Lines]] = []
    yield started
    for proc, lines in started:
        reap(proc, lines)


def port_forward(
    kubectl: Kubectl,
    started: list[tuple[subprocess.Popen[str], Lines]],
    target: str,
    ports: str,
    **env: str,
) -> tuple[subprocess.Popen[str], Lines]:
    proc = subprocess.Popen(
        kube(kubectl, "port-forward", "--address", "127.0.0.1", target, ports),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    lines = Lines(proc)
    started.append((proc, lines))
    return proc, lines


def fetch(port: int, name: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{name}", timeout=60) as reply:
        return bytes(reply.read())


def test_port_forward_service_downloads_idle_and_interrupt(
    kubectl: Kubectl, web: Path, forward: list[tuple[subprocess.Popen[str], Lines]]
) -> None:
    port = free_port()
    proc, lines = port_forward(kubectl, forward, "svc/myapp", f"{port}:80")
    # kubectl maps the Service's port 80 to the pod's container port itself
    lines.wait_for(f"Forwarding from 127.0.0.1:{port} -> 8000")
    with ThreadPoolExecutor(3) as pool:
        bodies = list(pool.map(lambda _: fetch(port, "big.bin"), range(3)))
    expected = hashlib.sha256((web / "big.bin").read_bytes()).hexdigest()
    assert [hashlib.sha256(b).hexdigest() for b in bodies] == [expected] * 3
    time.sleep(15)  # an idle tunnel: kubectl's pings keep it up
    assert fetch(port, "small.txt") == b"small file\n"
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 0
    handled = [ln for ln in lines.rest() if ln.startswith("Handling")]
    assert handled == [f"Handling connection for {port}\n"] * 4


def test_port_forward_plain_spdy_fallback(
    kubectl: Kubectl, web: Path, forward: list[tuple[subprocess.Popen[str], Lines]]
) -> None:
    port = free_port()
    proc, lines = port_forward(
        kubectl, forward, "pod/web", f"{port}:8000", KUBECTL_PORT_FORWARD_WEBSOCKETS="false"
    )
    lines.wait_for(f"Forwarding from 127.0.0.1:{port} -> 8000")
    with ThreadPoolExecutor(2) as pool:
        bodies = list(pool.map(lambda _: fetch(port, "big.bin"), range(2)))
    assert bodies == [(web / "big.bin").read_bytes()] * 2
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 0


def test_port_forward_to_a_closed_port_reports_the_kubelet_error(
    kubectl: Kubectl, web: Path, forward: list[tuple[subprocess.Popen[str], Lines]]
) -> None:
    port = free_port()
    proc, lines = port_forward(kubectl, forward, "pod/web", f"{port}:9999")
    lines.wait_for(f"Forwarding from 127.0.0.1:{port} -> 9999")
    with pytest.raises(OSError):
        fetch(port, "")
    # kubectl 1.32 prints the error written on the error stream and ends the session
    assert proc.wait(timeout=20) == 1
    assert proc.stderr is not None
    err = proc.stderr.read()
    assert "error forwarding port 9999 to pod web" in err
    assert "dial tcp4 127.0.0.1:9999: connect: connection refused" in err


READER = """\
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    stdin: true
    stdinOnce: true
    command: ["sh", "-c", "while read l; do echo \\"got $l\\"; done; echo bye"]
---
apiVersion: v1
kind: Pod
metadata: {name: ticker}
spec:
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.3; done"]
"""


def phase(kubectl: Kubectl, name: str) -> str:
    return str(json.loads(kubectl("get", "pod", name, "-o", "json"))["status"].get("phase"))


def test_attach(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=READER)
    eventually(lambda: phase(kubectl, "reader") == "Running", what="reader running")
    eventually(lambda: phase(kubectl, "ticker") == "Running", what="ticker running")
    # stdin to a stdinOnce container: its stdin closes when kubectl's does, so it ends
    result = kubectl.run("attach", "-i", "reader", input="hello\nworld\n")
    assert result.stdout == "got hello\ngot world\nbye\n"
    eventually(lambda: phase(kubectl, "reader") == "Succeeded", what="reader finished")
    assert kubectl("logs", "reader") == "got hello\ngot world\nbye\n"  # the log has it too
    # two clients attached at once both get the live output; leaving does not stop the pod
    watchers = [
        subprocess.Popen(
            kube(kubectl, "attach", "ticker"),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(2)
    ]
    lines = [Lines(proc) for proc in watchers]
    try:
        for seen in lines:
            seen.wait_for("tick ")
    finally:
        for proc, seen in zip(watchers, lines, strict=True):
            reap(proc, seen)
    assert phase(kubectl, "ticker") == "Running"
    done = kubectl.run("attach", "reader", check=False)
    assert done.returncode == 1
    assert "cannot attach a container in a completed pod" in done.stderr


def gone(kubectl: Kubectl, name: str) -> bool:
    result = kubectl.run("get", "pod", name, check=False)
    return result.returncode == 1 and "NotFound" in result.stderr


def test_run_attach_and_remove(kubectl: Kubectl) -> None:
    # -i with piped stdin: the container waits for it, so kubectl really attaches
    result = kubectl.run(
        "run", "-i", "--rm", "t1", "--image=busybox", "--restart=Never", "--",
        "sh", "-c", "read x; echo hello $x; exit 3",
        input="world\n",
        check=False,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "hello world" in result.stdout
    assert "pod default/t1 terminated (Error)" in result.stderr
    assert gone(kubectl, "t1")
    # -it under a terminal; a command that ends at once may be over before the attach, and
    # kubectl then streams the log instead: the output and the exit code come through either way
    for name, script in (("t2", "echo hello; exit 3"), ("t3", "sleep 2; echo hello; exit 4")):
        run = ("run", "-it", "--rm", name, "--image=busybox", "--restart=Never")
        command = " ".join([*kube(kubectl, *run), "--", "sh", "-c", f"'{script}'"])
        shown = _script(command)
        assert shown.returncode == int(script[-1]), shown.stdout
        assert "hello\n" in shown.stdout  # (text mode turns the terminal's CR LF into LF)
        assert "^@" not in shown.stdout and "\0" not in shown.stdout
        assert gone(kubectl, name)
    # without -i: created, and it runs
    assert (
        kubectl("run", "t4", "--image=busybox", "--", "sh", "-c", "echo from-run; sleep 600")
        == "pod/t4 created\n"
    )
    eventually(lambda: kubectl.run("logs", "t4", check=False).stdout == "from-run\n", what="log")
    kubectl("delete", "pod", "t4", "--wait=false")


def _script(command: str) -> subprocess.CompletedProcess[str]:
    """Run `command` on a terminal (script(1)) whose input stays open until it ends."""
    read_end, write_end = os.pipe()
    try:
        return subprocess.run(
            ["script", "-qec", command, "/dev/null"],
            stdin=read_end,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(read_end)
        os.close(write_end)


def test_exec_it_prints_no_stray_bytes(kubectl: Kubectl, web: Path) -> None:
    shown = _script(" ".join(kube(kubectl, "exec", "-it", "web", "--", "sh", "-c", "'echo ready'")))
    assert shown.returncode == 0
    assert shown.stdout == "ready\n"  # no "^@" before it


def test_cp_into_a_pod_and_back(kubectl: Kubectl, web: Path, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(300_000))
    inside = web / "copied"  # the pod sees the host's file system
    inside.mkdir()
    kubectl("cp", str(source), f"web:{inside}/in.bin")
    assert (inside / "in.bin").read_bytes() == source.read_bytes()
    back = tmp_path / "back.bin"
    kubectl("cp", f"web:{inside}/in.bin", str(back))
    assert back.read_bytes() == source.read_bytes()
