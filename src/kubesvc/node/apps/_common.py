"""Shared plumbing of the built-in image programs: flags, log lines, servers and signals.

Servers are the standard library's socketserver/http.server, each serving in its own thread;
the main thread waits for SIGTERM or SIGINT, then shuts them down and the program exits, so a
pod stops at once. Flags are parsed as Go's flag/pflag packages accept them (`--port 80`,
`-port=80`, bare booleans, `--http=false`). Log lines go to stdout, flushed, in the format of
the program each app stands in for (Go's `log`, nginx's access log).
"""

from __future__ import annotations

import os
import signal
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST_ENV = "KUBESVC_APP_HOST"
PORT_ENV = "KUBESVC_APP_PORT"
FlagValue = bool | int | str


class FlagError(Exception):
    """A bad command line; the program prints it and exits 1 (or 2 for Go's flag package)."""


def bind_host() -> str:
    """The address to serve on: 0.0.0.0 unless KUBESVC_APP_HOST says otherwise."""
    return os.environ.get(HOST_ENV) or "0.0.0.0"


def default_port(default: int, env: str = PORT_ENV) -> int:
    """The image's usual port, unless the environment variable `env` overrides it."""
    value = os.environ.get(env, "")
    return int(value) if value.strip().lstrip("-").isdigit() else default


def hostname() -> str:
    return socket.gethostname()


def log(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def go_log(message: str) -> None:
    """A line as Go's log.Printf writes it: `2006/01/02 15:04:05 message`."""
    log(time.strftime("%Y/%m/%d %H:%M:%S ") + message.rstrip("\n"))


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "t", "true"):
        return True
    if lowered in ("0", "f", "false"):
        return False
    raise FlagError(
        f'invalid argument "{value}" for "--{name}" flag: strconv.ParseBool: '
        f'parsing "{value}": invalid syntax'
    )


def parse_flags(argv: list[str], spec: dict[str, FlagValue]) -> dict[str, FlagValue]:
    """Parse `argv` against `spec` (flag name → default, whose type is the flag's type)."""
    values = dict(spec)
    args = iter(argv)
    for arg in args:
        if not arg.startswith("-") or arg in ("-", "--"):
            raise FlagError(f'unknown command "{arg}"')
        name, has_value, value = arg.lstrip("-").partition("=")
        if name not in spec:
            raise FlagError(f"unknown flag: --{name}")
        default = spec[name]
        if isinstance(default, bool):
            values[name] = _parse_bool(name, value) if has_value else True
            continue
        if not has_value:
            following = next(args, None)
            if following is None:
                raise FlagError(f"flag needs an argument: --{name}")
            value = following
        if isinstance(default, int):
            try:
                values[name] = int(value)
            except ValueError:
                raise FlagError(
                    f'invalid argument "{value}" for "--{name}" flag: strconv.ParseInt: '
                    f'parsing "{value}": invalid syntax'
                ) from None
        else:
            values[name] = value
    return values


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = socket.SOMAXCONN  # the listen backlog, as Go servers use (not 5)

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self.address_family = _family(address[0])
        super().__init__(address, handler)


class TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = socket.SOMAXCONN

    def __init__(
        self, address: tuple[str, int], handler: type[socketserver.BaseRequestHandler]
    ) -> None:
        self.address_family = _family(address[0])
        super().__init__(address, handler)


class UDPServer(socketserver.UDPServer):
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[socketserver.BaseRequestHandler]
    ) -> None:
        self.address_family = _family(address[0])
        super().__init__(address, handler)


class Handler(BaseHTTPRequestHandler):
    """Base HTTP handler: HTTP/1.1 keep-alive, no stderr chatter, GET and HEAD routed alike."""

    protocol_version = "HTTP/1.1"
    server_header: str | None = None  # None: no Server header, as Go's net/http

    def log_message(self, format: str, *args: Any) -> None:
        """Silence http.server's own log; each app writes its image's log line."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self.send_response_only(code, message)
        if self.server_header:
            self.send_header("Server", self.server_header)
        self.send_header("Date", self.date_time_string())

    def client_text(self) -> str:
        host, port = self.client_address[0], self.client_address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def reply(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/plain; charset=utf-8",
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_get(self) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:
        self.handle_get()

    def do_HEAD(self) -> None:
        self.handle_get()


def wait_for_signal() -> int:
    """Block until SIGTERM or SIGINT arrives; return its number."""
    received: list[int] = []
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop.wait(0.5):
        pass
    return received[0]


def serve(
    servers: list[socketserver.BaseServer], on_ready: Callable[[], None] = lambda: None
) -> int:
    """Serve every server in a thread until a signal; return the signal number."""
    threads = [
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        for server in servers
    ]
    for thread in threads:
        thread.start()
    on_ready()
    signum = wait_for_signal()
    for server in servers:
        server.shutdown()
        server.server_close()
    return signum


def run(main: Callable[[list[str]], int]) -> None:
    """Call `main(argv)`, turning flag errors into a message and exit status 1."""
    try:
        code = main(sys.argv[1:])
    except FlagError as err:
        sys.stderr.write(f"Error: {err}\n")
        code = 1
    except OSError as err:  # a port in use, an address not on this host
        sys.stderr.write(f"Error: {err}\n")
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # handler threads may be blocked on idle keep-alive connections
