"""Kubernetes' serve_hostname test image: the hostname over HTTP, raw TCP or UDP.

As upstream (test/images/serve-hostname and agnhost serve-hostname): `--http` (default true)
answers every path with the hostname, no newline; `--tcp` writes the hostname and closes;
`--udp` answers each datagram with the hostname; HTTP cannot be combined with TCP/UDP.
`--port` defaults to 9376 (or KUBESVC_APP_PORT); `--close` adds `Connection: close`. Each
request logs `HTTP request from ADDR` (TCP/UDP likewise) in Go's log format.
"""

from __future__ import annotations

import socketserver

from kubesvc.node.apps._common import (
    FlagError,
    Handler,
    HTTPServer,
    TCPServer,
    UDPServer,
    bind_host,
    default_port,
    go_log,
    hostname,
    parse_flags,
    run,
    serve,
)


class _HTTPHandler(Handler):
    close = False

    def handle_get(self) -> None:
        go_log(f"HTTP request from {self.client_text()}")
        headers = [("Connection", "close")] if self.close else []
        self.reply(200, hostname().encode(), headers=headers)
        if self.close:
            self.close_connection = True

    def do_POST(self) -> None:
        self.handle_get()


class _TCPHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        host, port = self.client_address[0], self.client_address[1]
        go_log(f"TCP request from {host}:{port}")
        self.request.sendall(hostname().encode())


class _UDPHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        _data, sock = self.request
        host, port = self.client_address[0], self.client_address[1]
        go_log(f"UDP request from {host}:{port}")
        sock.sendto(hostname().encode(), self.client_address)


def main(argv: list[str]) -> int:
    flags = parse_flags(
        argv, {"tcp": False, "udp": False, "http": True, "close": False, "port": default_port(9376)}
    )
    if flags["http"] and (flags["tcp"] or flags["udp"]):
        raise FlagError("Can't server TCP/UDP mode and HTTP mode at the same time")
    address = (bind_host(), int(flags["port"]))
    servers: list[socketserver.BaseServer] = []
    if flags["tcp"]:
        servers.append(TCPServer(address, _TCPHandler))
    if flags["udp"]:
        servers.append(UDPServer(address, _UDPHandler))
    if flags["http"]:
        handler = type("ServeHostnameHandler", (_HTTPHandler,), {"close": bool(flags["close"])})
        servers.append(HTTPServer(address, handler))
    go_log(f"Serving on port {flags['port']}.")
    signum = serve(servers)
    go_log(f"Shutting down after receiving signal: {_signal_name(signum)}.")
    return 0


def _signal_name(signum: int) -> str:
    return {15: "terminated", 2: "interrupt"}.get(signum, str(signum))


if __name__ == "__main__":
    run(main)
