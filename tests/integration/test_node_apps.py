"""The built-in image programs, run for real on loopback ports and checked over HTTP/TCP/UDP;
the probe executors checked against them."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kubesvc.node.probes import WARNING_PREFIX, probe_http, probe_tcp
from tests.conftest import ROOT, free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

HOSTNAME = socket.gethostname()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class App:
    """One built-in app process, stopped by its pid."""

    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, float]:
        """Send `sig`; return the exit code and how long the exit took."""
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError(f"did not stop on signal {sig}:\n{self.log()}") from None
        return code, time.monotonic() - start

    def wait_log(self, text: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not logged:\n{self.log()}")


Launch = Callable[..., App]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Launch]:
    apps: list[App] = []

    def launch(module: str, *args: str, wait_port: int | None = None, **env: str) -> App:
        log_path = tmp_path / f"{module}-{len(apps)}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", f"kubesvc.node.apps.{module}", *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **env},
            )
        app = App(proc, log_path)
        apps.append(app)
        if wait_port is not None:
            wait_tcp(app, wait_port)
        return app

    yield launch
    for app in apps:
        if app.proc.poll() is None:
            app.proc.kill()
            app.proc.wait(5)


def wait_tcp(app: App, port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.proc.poll() is not None:
            raise AssertionError(f"exited with {app.proc.returncode}:\n{app.log()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"port {port} never opened:\n{app.log()}")


def get(port: int, path: str = "/") -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"User-Agent": "curl/8.0"})
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


def udp(port: int, message: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(message, ("127.0.0.1", port))
        return sock.recv(2048)


def assert_prompt_stop(app: App, expected_code: int = 0) -> None:
    # stop() fails the test when the app does not exit on the signal (it would be killed)
    code, _took = app.stop()
    assert code == expected_code, app.log()


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_myapp_answers_like_seed_001(start: Launch, version: str) -> None:
    port = free_port()
    app = start("myapp", "--version", version, wait_port=port, KUBESVC_APP_PORT=str(port))
    status, body, headers = get(port, "/")
    assert (status, body) == (
        200,
        f'Hello MyApp | Version: {version} | <a href="hostname.html">Pod Name</a>\n'.encode(),
    )
    assert headers["Content-Type"] == "text/html"
    assert get(port, "/hostname.html")[:2] == (200, f"{HOSTNAME}\n".encode())
    missing = get(port, "/nope")
    assert missing[0] == 404 and b"404 Not Found" in missing[1]
    app.wait_log('"GET /nope HTTP/1.1" 404')
    lines = app.log().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("127.0.0.1 - - [") and lines[0].endswith('"curl/8.0" "-"')
    assert_prompt_stop(app)


def test_serve_hostname_http(start: Launch) -> None:
    port = free_port()
    app = start("serve_hostname", "--port", str(port), wait_port=port)
    status, body, headers = get(port, "/anything")
    assert (status, body) == (200, HOSTNAME.encode())  # no newline, as upstream
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    app.wait_log("HTTP request from 127.0.0.1:")
    assert f"Serving on port {port}." in app.log()
    assert_prompt_stop(app)


def test_serve_hostname_default_port_from_env(start: Launch) -> None:
    port = free_port()
    app = start("serve_hostname", wait_port=port, KUBESVC_APP_PORT=str(port))
    assert get(port)[1] == HOSTNAME.encode()
    assert_prompt_stop(app)


def test_serve_hostname_tcp_and_udp(start: Launch) -> None:
    port = free_port()
    app = start(
        "serve_hostname", f"--port={port}", "--http=false", "--tcp", "--udp", wait_port=port
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        received = b""
        while chunk := conn.recv(1024):
            received += chunk
    assert received == HOSTNAME.encode()
    assert udp(port, b"anything") == HOSTNAME.encode()
    app.wait_log("UDP request from 127.0.0.1:")
    assert "TCP request from 127.0.0.1:" in app.log()
    assert_prompt_stop(app)


def test_serve_hostname_refuses_http_with_tcp(start: Launch) -> None:
    app = start("serve_hostname", "--tcp", "--port", str(free_port()))
    assert app.proc.wait(10) == 1
    assert "Can't server TCP/UDP mode and HTTP mode at the same time" in app.log()


def test_agnhost_netexec(start: Launch) -> None:
    port, udp_port = free_port(), free_udp_port()
    app = start(
        "agnhost", "netexec", f"--http-port={port}", "--udp-port", str(udp_port), wait_port=port
    )
    assert get(port, "/hostname")[:2] == (200, HOSTNAME.encode())
    assert get(port, "/hostName")[:2] == (200, HOSTNAME.encode())
    assert get(port, "/echo?msg=hello%20there")[:2] == (200, b"hello there")
    assert get(port, "/echo?msg=boom&code=503")[:2] == (503, b"boom")
    status, body, _ = get(port, "/clientip")
    assert status == 200 and body.decode().startswith("127.0.0.1:")
    assert get(port, "/healthz")[0] == 200
    assert get(port, "/whatever")[1].startswith(b"NOW: ")
    assert get(port, "/shell?cmd=id")[0] == 501
    assert udp(udp_port, b"hostname") == HOSTNAME.encode()
    assert udp(udp_port, b"echo Hello World\n") == b"hello world"  # lower-cased, as upstream
    assert udp(udp_port, b"clientip").decode().startswith("127.0.0.1:")
    dial = f"/dial?host=127.0.0.1&port={udp_port}&request=hostname&protocol=udp&tries=2"
    assert get(port, dial)[1] == f'{{"responses":["{HOSTNAME}","{HOSTNAME}"]}}'.encode()
    dial = f"/dial?host=127.0.0.1&port={port}&request=echo?msg=x"
    assert get(port, dial)[1] == b'{"responses":["x"]}'
    closed = free_port()
    dial = f"/dial?host=127.0.0.1&port={closed}&request=hostname"
    refused = f"dial tcp 127.0.0.1:{closed}: connect: connection refused"
    url = f"http://127.0.0.1:{closed}/hostname"
    assert get(port, dial)[1] == f'{{"errors":["Get \\"{url}\\": {refused}"]}}'.encode()
    assert "GET /echo?msg=hello there&code=" in app.log()
    assert "Sending udp hostName response" in app.log()
    assert_prompt_stop(app)


def test_agnhost_netexec_exit_endpoint(start: Launch) -> None:
    port = free_port()
    app = start("agnhost", "netexec", f"--http-port={port}", "--udp-port=-1", wait_port=port)
    assert get(port, "/healthz")[0] == 412  # no UDP server: not ready, as upstream
    with pytest.raises((http.client.HTTPException, OSError)):
        get(port, "/exit?code=7")
    assert app.proc.wait(10) == 7


def test_agnhost_serve_hostname_and_pause(start: Launch) -> None:
    port = free_port()
    app = start("agnhost", "serve-hostname", "--port", str(port), wait_port=port)
    assert get(port)[1] == HOSTNAME.encode()
    assert_prompt_stop(app)
    paused = start("agnhost", "pause")
    paused.wait_log("Paused")
    assert_prompt_stop(paused, expected_code=2)


def test_agnhost_unknown_subcommand(start: Launch) -> None:
    app = start("agnhost", "porter")
    assert app.proc.wait(10) == 1
    assert 'unknown command "porter" for "agnhost"' in app.log()


def test_pause_image(start: Launch) -> None:
    app = start("pause")
    time.sleep(0.5)
    assert app.proc.poll() is None
    assert_prompt_stop(app)
    assert "Shutting down, got signal: SIGTERM" in app.log()


WELCOME = b"<title>Welcome to nginx!</title>"


def test_nginx_python_fallback(start: Launch) -> None:
    port = free_port()
    app = start("nginx", "--port", str(port), wait_port=port, KUBESVC_NGINX="python")
    status, body, headers = get(port, "/")
    assert status == 200 and WELCOME in body
    assert headers["Server"] == "nginx"
    assert get(port, "/index.html")[1] == body
    assert get(port, "/missing")[0] == 404
    app.wait_log('"GET /missing HTTP/1.1" 404')
    assert_prompt_stop(app)


@pytest.mark.skipif(shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"),
                    reason="no nginx binary on this host")  # fmt: skip
def test_nginx_real_binary(start: Launch) -> None:
    port = free_port()
    app = start("nginx", wait_port=port, KUBESVC_APP_PORT=str(port))
    status, body, _ = get(port, "/")
    assert status == 200 and b"Welcome to nginx!" in body
    app.wait_log('"GET / HTTP/1.1" 200')
    assert_prompt_stop(app)


async def test_probes_against_the_apps(start: Launch) -> None:
    port, udp_port = free_port(), free_udp_port()
    start("agnhost", "netexec", f"--http-port={port}", f"--udp-port={udp_port}", wait_port=port)
    assert await probe_http("127.0.0.1", port, "/healthz") == (True, "")
    assert await probe_http("127.0.0.1", port, "/echo?msg=ok") == (True, "ok")
    assert await probe_http("127.0.0.1", port, "/echo?msg=x&code=503") == (
        False,
        "HTTP probe failed with statuscode: 503",
    )
    # a redirect on the same host is followed, one to another host is a warning
    same = await probe_http("127.0.0.1", port, "/redirect?location=/echo%3Fmsg%3Dmoved")
    assert same == (True, "moved")
    other = await probe_http("127.0.0.1", port, "/redirect?location=http://0.0.0.0/")
    assert other == (True, WARNING_PREFIX + '<a href="http://0.0.0.0/">Found</a>.\n\n')
    assert await probe_tcp("127.0.0.1", port, 1) == (True, "")
    closed = free_port()
    assert await probe_tcp("127.0.0.1", closed, 1) == (
        False,
        f"dial tcp 127.0.0.1:{closed}: connect: connection refused",
    )
    assert await probe_http("127.0.0.1", closed, "/") == (
        False,
        f'Get "http://127.0.0.1:{closed}/": dial tcp 127.0.0.1:{closed}: connect: '
        "connection refused",
    )


class _LoopHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", "/again")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


async def test_http_probe_stops_after_ten_redirects() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LoopHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        assert await probe_http("127.0.0.1", port, "/start") == (
            False,
            f'Get "http://127.0.0.1:{port}/again": stopped after 10 redirects',
        )
    finally:
        server.shutdown()
        server.server_close()


async def test_http_probe_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        assert await probe_http("127.0.0.1", port, "/ready", timeout=0.2) == (
            False,
            f'Get "http://127.0.0.1:{port}/ready": context deadline exceeded '
            "(Client.Timeout exceeded while awaiting headers)",
        )
