"""agnhost netexec: the HTTP and UDP test server of Kubernetes' Service e2e tests (safe subset).

HTTP on `--http-port` (8080, or KUBESVC_APP_PORT), answered as upstream: `/` the time
(`NOW: …`, also every unknown path, as Go's ServeMux routes them), `/hostname` and `/hostName`,
`/clientip` (`ip:port`), `/echo?msg=&code=`, `/healthz` (200 once the UDP server runs, 412
before), `/redirect?location=&code=`, `/dial?host=&port=&request=&protocol=http|udp&tries=`
(JSON `{"errors":[…],"responses":[…]}`), `/exit?code=` and `/shutdown` (exit at once).
`/shell` and `/upload` are not offered. UDP on `--udp-port` (8081, or KUBESVC_APP_UDP_PORT;
-1 disables it) answers `hostname`, `echo TEXT` and `clientip` (input lower-cased, as upstream).
`--tls-cert-file`/`--tls-private-key-file` serve HTTPS; `--http-override PATH` answers every
request as if it were a GET of PATH. Logs are Go log lines (`GET /hostname`).
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import urllib.error
import urllib.request
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from kubesvc.node.apps._common import (
    FlagError,
    Handler,
    HTTPServer,
    UDPServer,
    bind_host,
    default_port,
    go_log,
    hostname,
    parse_flags,
    serve,
)

_ready = threading.Event()


def _go_json(value: object) -> bytes:
    """json.Marshal: sorted keys, compact, <>& escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


def _join(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _dial_http(request: str, address: str) -> str:
    url = f"http://{address}/{request}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as err:
        return str(err.read().decode("utf-8", "replace"))
    except (OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        if isinstance(reason, TimeoutError):
            text = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        elif isinstance(reason, OSError) and reason.errno:
            text = f"dial tcp {address}: connect: {os.strerror(reason.errno).lower()}"
        else:
            text = str(reason)
        raise RuntimeError(f'Get "{url}": {text}') from None


def _dial_udp(request: str, address: tuple[str, int]) -> str:
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        try:
            sock.connect(address)
            sock.send(request.encode())
        except OSError as err:
            raise RuntimeError(f"udp dial failed. err:{err}") from None
        try:
            data = sock.recv(2048)
        except OSError as err:
            raise RuntimeError(f"reading from udp connection failed. err:'{err}'") from None
    return data.decode("utf-8", "replace")


class _NetexecHandler(Handler):
    override = ""

    def handle_get(self) -> None:
        target = urlsplit(self.override or self.path)
        form = {k: v[0] for k, v in parse_qs(target.query, keep_blank_values=True).items()}
        route = {
            "/clientip": self._clientip,
            "/dial": self._dial,
            "/echo": self._echo,
            "/exit": self._exit,
            "/healthz": self._healthz,
            "/hostname": self._hostname,
            "/hostName": self._hostname,
            "/redirect": self._redirect,
            "/shutdown": self._shutdown,
            "/shell": self._unsupported,
            "/upload": self._unsupported,
        }.get(target.path, self._root)
        route(target.path, form)

    def do_POST(self) -> None:
        self.handle_get()

    def _root(self, _path: str, _form: dict[str, str]) -> None:
        go_log("GET /")
        self.reply(200, f"NOW: {datetime.now().astimezone():%Y-%m-%d %H:%M:%S.%f %z %Z}".encode())

    def _clientip(self, _path: str, _form: dict[str, str]) -> None:
        go_log("GET /clientip")
        self.reply(200, self.client_text().encode())

    def _hostname(self, path: str, _form: dict[str, str]) -> None:
        go_log(f"GET {path}")
        self.reply(200, hostname().encode())

    def _healthz(self, _path: str, _form: dict[str, str]) -> None:
        go_log("GET /healthz")
        self.reply(200 if _ready.is_set() else 412, b"")

    def _echo(self, _path: str, form: dict[str, str]) -> None:
        msg, code = form.get("msg", ""), form.get("code", "")
        go_log(f"GET /echo?msg={msg}&code={code}")
        if code and not code.lstrip("-").isdigit():
            text = f"argument 'code' must be an integer or empty, got {json.dumps(code)}\n"
            self.reply(200, text.encode())
            return
        self.reply(int(code) if code else 200, msg.encode())

    def _redirect(self, _path: str, form: dict[str, str]) -> None:
        location, code = form.get("location", ""), form.get("code", "")
        go_log(f"{self.command} /redirect?msg={location}&code={code}")
        status = int(code) if code.isdigit() else 302
        body = f'<a href="{location}">Found</a>.\n\n'.encode()
        self.reply(status, body, "text/html; charset=utf-8", [("Location", location)])

    def _exit(self, _path: str, form: dict[str, str]) -> None:
        code = form.get("code", "")
        go_log(
            f"GET /exit?code={code}&timeout={form.get('timeout', '')}&wait={form.get('wait', '')}"
        )
        if code and not code.isdigit():
            text = f"argument 'code' must be an integer [0-127] or empty, got {json.dumps(code)}\n"
            self.reply(200, text.encode())
            return
        sys.stdout.flush()
        os._exit(int(code or 0))

    def _shutdown(self, _path: str, _form: dict[str, str]) -> None:
        go_log("GET /shutdown")
        sys.stdout.flush()
        os._exit(0)

    def _unsupported(self, path: str, _form: dict[str, str]) -> None:
        go_log(f"GET {path}")
        self.reply(501, f"{path} is not offered by kubesvc's agnhost\n".encode())

    def _dial(self, _path: str, form: dict[str, str]) -> None:
        host, port, request = form.get("host", ""), form.get("port", ""), form.get("request", "")
        protocol, tries_text = form.get("protocol", ""), form.get("tries", "")
        go_log(
            f"GET /dial?host={host}&protocol={protocol}&port={port}&request={request}"
            f"&tries={tries_text}"
        )
        if tries_text and not tries_text.isdigit():
            self.reply(400, f"tries parameter is invalid. {tries_text}\n".encode())
            return
        if not request:
            self.reply(400, b"request parameter not specified. <nil>\n")
            return
        if protocol.lower() not in ("", "http", "udp") or not port.isdigit():
            self.reply(400, f"unsupported protocol. {protocol}\n".encode())
            return
        responses, errors, last = [], [], ""
        for _ in range(int(tries_text or 1)):
            try:
                if protocol.lower() == "udp":
                    last = _dial_udp(request, (host, int(port)))
                else:
                    last = _dial_http(request, _join(host, port))
                responses.append(last)
            except RuntimeError as err:
                last = ""
                errors.append(str(err))
        output: dict[str, list[str]] = {}
        if last:
            output["responses"] = responses
        if errors:
            output["errors"] = errors
        self.reply(200, _go_json(output))


class _UDPHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        client = f"{self.client_address[0]}:{self.client_address[1]}"
        text = data.decode("utf-8", "replace").strip().lower()
        if text == "hostname":
            go_log("Sending udp hostName response")
            sock.sendto(hostname().encode(), self.client_address)
        elif text.startswith("echo "):
            reply = text.split(" ", 1)[1]
            go_log(f"Echoing {reply} to UDP client {client}")
            sock.sendto(reply.encode(), self.client_address)
        elif text == "clientip":
            go_log(f"Sending clientip back to UDP client {client}")
            sock.sendto(client.encode(), self.client_address)
        elif text:
            go_log(f"Unknown UDP command received from {client}: {text}")


def main(argv: list[str]) -> int:
    flags = parse_flags(
        argv,
        {
            "http-port": default_port(8080),
            "udp-port": default_port(8081, "KUBESVC_APP_UDP_PORT"),
            "sctp-port": -1,
            "tls-cert-file": "",
            "tls-private-key-file": "",
            "http-override": "",
            "udp-listen-addresses": "",
        },
    )
    if flags["sctp-port"] != -1:
        raise FlagError("--sctp-port is not supported by kubesvc's agnhost")
    handler = type("Netexec", (_NetexecHandler,), {"override": str(flags["http-override"])})
    http = HTTPServer((bind_host(), int(flags["http-port"])), handler)
    if flags["tls-cert-file"]:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        key = str(flags["tls-private-key-file"]) or None
        context.load_cert_chain(str(flags["tls-cert-file"]), key)
        http.socket = context.wrap_socket(http.socket, server_side=True)
    servers: list[socketserver.BaseServer] = [http]
    if flags["udp-port"] != -1:
        addresses = sorted(set(str(flags["udp-listen-addresses"]).split(","))) or [""]
        for address in addresses:
            servers.append(UDPServer((address or bind_host(), int(flags["udp-port"])), _UDPHandler))
            go_log(f"Started UDP server on port {address} {flags['udp-port']}")
        _ready.set()
    go_log(f"Started HTTP server on port {flags['http-port']}")
    serve(servers)
    return 0
