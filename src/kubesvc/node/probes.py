"""Container probes as the kubelet runs them: specs, the per-worker state machine, executors.

`ProbeSpec.from_k8s` reads a Probe with the API defaults (timeoutSeconds 1, periodSeconds 10,
successThreshold 1, failureThreshold 3, initialDelaySeconds 0, httpGet path "/" and scheme
HTTP). `ProbeState` is the prober worker's bookkeeping, pure: a new container starts at the
kind's initial result (readiness Failure, liveness Success, startup Unknown); an outcome only
becomes the result after successThreshold / failureThreshold equal outcomes in a row; a failed
liveness or startup probe puts the worker on hold until the next container; nothing is probed
during initialDelaySeconds, and only the startup probe runs until the container has started.

The executors do the I/O. `probe_http` GETs with `User-Agent: kube-probe/1.32`, succeeds on
200-399, follows up to 10 redirects on the same host and stops at one to another host (a
success carrying the kubelet's "Probe terminated redirects" warning); `probe_tcp` opens and
closes a connection; `probe_exec` calls the agent's runner, which enters the pod's namespaces.
Each returns `(ok, message)` with the kubelet's messages (`HTTP probe failed with statuscode:
503`, `dial tcp 10.244.1.5:80: connect: connection refused`); a timeout is a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urljoin, urlsplit

USER_AGENT = "kube-probe/1.32"
MAX_BODY = 10 * 1024
MAX_REDIRECTS = 10
REDIRECTS = frozenset({301, 302, 303, 307, 308})
WARNING_PREFIX = "Probe terminated redirects, Response body: "

ExecRunner = Callable[[list[str], float], Awaitable[int | tuple[int, str]]]


class ProbeResult(StrEnum):
    SUCCESS = "Success"
    FAILURE = "Failure"
    UNKNOWN = "Unknown"


class ProbeKind(StrEnum):
    READINESS = "Readiness"
    LIVENESS = "Liveness"
    STARTUP = "Startup"


class ProbeError(Exception):
    """A probe that cannot run (a bad port): the kubelet throws such results away."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HTTPGetAction:
    port: int | str
    path: str = "/"
    host: str = ""
    scheme: str = "HTTP"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TCPSocketAction:
    port: int | str
    host: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecAction:
    command: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class GRPCAction:
    port: int
    service: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeSpec:
    """One probe of a container, defaults applied; exactly one action is set."""

    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    exec: ExecAction | None = None
    grpc: GRPCAction | None = None
    timeout_seconds: int = 1
    period_seconds: int = 10
    success_threshold: int = 1
    failure_threshold: int = 3
    initial_delay_seconds: int = 0
    termination_grace_period_seconds: int | None = None

    @classmethod
    def from_k8s(cls, probe: dict[str, Any]) -> ProbeSpec:
        http, tcp = probe.get("httpGet"), probe.get("tcpSocket")
        exec_, grpc = probe.get("exec"), probe.get("grpc")
        return cls(
            http_get=None
            if http is None
            else HTTPGetAction(
                port=http.get("port", 0),
                path=http.get("path") or "/",
                host=http.get("host") or "",
                scheme=http.get("scheme") or "HTTP",
                headers=tuple(
                    (str(h.get("name", "")), str(h.get("value", "")))
                    for h in http.get("httpHeaders") or []
                ),
            ),
            tcp_socket=None
            if tcp is None
            else TCPSocketAction(port=tcp.get("port", 0), host=tcp.get("host") or ""),
            exec=None if exec_ is None else ExecAction(command=tuple(exec_.get("command") or [])),
            grpc=None
            if grpc is None
            else GRPCAction(port=int(grpc.get("port", 0)), service=grpc.get("service") or ""),
            timeout_seconds=int(probe.get("timeoutSeconds") or 1),
            period_seconds=int(probe.get("periodSeconds") or 10),
            success_threshold=int(probe.get("successThreshold") or 1),
            failure_threshold=int(probe.get("failureThreshold") or 3),
            initial_delay_seconds=int(probe.get("initialDelaySeconds") or 0),
            termination_grace_period_seconds=probe.get("terminationGracePeriodSeconds"),
        )


_INITIAL = {
    ProbeKind.READINESS: ProbeResult.FAILURE,
    ProbeKind.LIVENESS: ProbeResult.SUCCESS,
    ProbeKind.STARTUP: ProbeResult.UNKNOWN,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeState:
    """The prober worker's state for one probe of one container; every step returns a new one."""

    kind: ProbeKind
    result: ProbeResult
    last: ProbeResult | None = None
    run: int = 0
    on_hold: bool = False

    @classmethod
    def initial(cls, kind: ProbeKind) -> ProbeState:
        return cls(kind=kind, result=_INITIAL[kind])

    def new_container(self) -> ProbeState:
        """A new container ID: back to the initial result, probing resumes."""
        return replace(self, result=_INITIAL[self.kind], on_hold=False)

    def container_not_running(self) -> ProbeState:
        """The container is waiting or terminated: its probe result is Failure."""
        return replace(self, result=ProbeResult.FAILURE)

    def should_probe(self, spec: ProbeSpec, *, running_for: float, started: bool) -> bool:
        """Whether to run the probe now, for a running container (seconds since it started)."""
        if self.on_hold or int(running_for) < spec.initial_delay_seconds:
            return False
        return (self.kind != ProbeKind.STARTUP) if started else (self.kind == ProbeKind.STARTUP)

    def observe(self, outcome: ProbeResult, spec: ProbeSpec) -> ProbeState:
        """Record one probe outcome; UNKNOWN (a probe that errored) is thrown away."""
        if outcome == ProbeResult.UNKNOWN:
            return self
        run = self.run + 1 if outcome == self.last else 1
        threshold = (
            spec.failure_threshold if outcome == ProbeResult.FAILURE else spec.success_threshold
        )
        if run < threshold:
            return replace(self, last=outcome, run=run)
        hold = outcome == ProbeResult.FAILURE and self.kind != ProbeKind.READINESS
        return replace(self, result=outcome, last=outcome, run=0 if hold else run, on_hold=hold)


def failure_event(kind: ProbeKind, message: str) -> str:
    """The message of the kubelet's Unhealthy event."""
    return f"{kind.value} probe failed: {message}"


def restart_message(kind: ProbeKind, container: str) -> str:
    """The message of the Killing event after a failed liveness or startup probe."""
    return f"Container {container} failed {kind.value.lower()} probe, will be restarted"


def resolve_port(port: int | str, container: dict[str, Any]) -> int:
    """probe.ResolveContainerPort: a number, or a named port of the container."""
    if isinstance(port, str):
        named = [p for p in container.get("ports") or [] if p.get("name") == port]
        if named:
            number = int(named[0].get("containerPort", 0))
        elif port.lstrip("+-").isdigit():
            number = int(port)
        else:
            raise ProbeError(f'strconv.Atoi: parsing "{port}": invalid syntax')
    else:
        number = int(port)
    if 0 < number < 65536:
        return number
    raise ProbeError(f"invalid port number: {number}")


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _os_error(err: OSError) -> str:
    if err.errno:
        return f"connect: {os.strerror(err.errno).lower()}"
    return str(err) or type(err).__name__


async def probe_tcp(host: str, port: int, timeout: float) -> tuple[bool, str]:
    """Success when a TCP connection opens within the timeout."""
    address = _host_port(host, port)
    try:
        async with asyncio.timeout(timeout):
            _reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return False, f"dial tcp {address}: i/o timeout"
    except OSError as err:
        return False, f"dial tcp {address}: {_os_error(err)}"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True, ""


async def probe_exec(run: ExecRunner, command: Sequence[str], timeout: float) -> tuple[bool, str]:
    """Success when the command exits 0; `run(argv, timeout)` returns the code (and output)."""
    try:
        async with asyncio.timeout(timeout):
            outcome = await run(list(command), timeout)
    except TimeoutError:
        return False, f'command "{" ".join(command)}" timed out'
    code, output = outcome if isinstance(outcome, tuple) else (outcome, "")
    return code == 0, output[:MAX_BODY]


def probe_url(scheme: str, host: str, port: int, path: str) -> str:
    """formatURL: the URL the kubelet requests."""
    path = path or "/"
    if not path.startswith("/"):
        path = "/" + path
    return f"{scheme.lower() or 'http'}://{_host_port(host, port)}{path}"


async def probe_http(
    host: str,
    port: int,
    path: str = "/",
    scheme: str = "HTTP",
    headers: Sequence[tuple[str, str]] = (),
    timeout: float = 1.0,
) -> tuple[bool, str]:
    """Success on a 200-399 answer within the timeout (redirects: see the module doc)."""
    url = probe_url(scheme, host, port, path)
    first_host = urlsplit(url).hostname
    try:
        async with asyncio.timeout(timeout):
            for redirects in range(MAX_REDIRECTS + 1):
                status, location, body = await _http_get(url, headers)
                if status not in REDIRECTS or not location:
                    break
                target = urljoin(url, location)
                if urlsplit(target).hostname != first_host:
                    break
                if redirects == MAX_REDIRECTS:
                    return False, f'Get "{target}": stopped after {MAX_REDIRECTS} redirects'
                url = target
    except TimeoutError:
        return False, (
            f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting '
            "headers)"
        )
    except OSError as err:
        address = _host_port(urlsplit(url).hostname or "", urlsplit(url).port or 0)
        return False, f'Get "{url}": dial tcp {address}: {_os_error(err)}'
    except ValueError as err:
        return False, f'Get "{url}": {err}'
    if 200 <= status < 300:
        return True, body
    if 300 <= status < 400:
        return True, WARNING_PREFIX + body
    return False, f"HTTP probe failed with statuscode: {status}"


def _request_bytes(url: str, headers: Sequence[tuple[str, str]]) -> bytes:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    names = {name.lower() for name, _ in headers}
    lines = [f"GET {target} HTTP/1.1"]
    if "host" not in names:
        lines.append(f"Host: {parts.netloc}")
    if "user-agent" not in names:
        lines.append(f"User-Agent: {USER_AGENT}")
    if "accept" not in names:
        lines.append("Accept: */*")
    lines += [f"{name}: {value}" for name, value in headers if value or name.lower() != "accept"]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


async def _http_get(url: str, headers: Sequence[tuple[str, str]]) -> tuple[int, str, str]:
    """One GET: (status, Location header, body up to MAX_BODY)."""
    parts = urlsplit(url)
    context: ssl.SSLContext | None = None
    if parts.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port, ssl=context)
    try:
        writer.write(_request_bytes(url, headers))
        await writer.drain()
        status_line = (await reader.readline()).decode("latin-1")
        fields = status_line.split(None, 2)
        if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
            raise ValueError(f"malformed HTTP response {status_line.strip()!r}")
        response_headers: dict[str, str] = {}
        while (line := (await reader.readline()).decode("latin-1").strip()) != "":
            name, _, value = line.partition(":")
            response_headers[name.strip().lower()] = value.strip()
        body = await _read_body(reader, response_headers)
        return int(fields[1]), response_headers.get("location", ""), body
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> str:
    data = b""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while len(data) < MAX_BODY:
            size_line = (await reader.readline()).split(b";")[0].strip()
            size = int(size_line or b"0", 16)
            if size == 0:
                break
            data += await reader.readexactly(size)
            await reader.readline()
    elif "content-length" in headers:
        length = min(int(headers["content-length"] or 0), MAX_BODY)
        with contextlib.suppress(asyncio.IncompleteReadError):
            data = await reader.readexactly(length)
    else:
        data = await reader.read(MAX_BODY)
    return data[:MAX_BODY].decode("utf-8", "replace")


async def run_probe(
    spec: ProbeSpec,
    container: dict[str, Any],
    pod_ip: str,
    exec_runner: ExecRunner | None = None,
) -> tuple[ProbeResult, str]:
    """Run the spec's action once, as prober.runProbe does: a probe that cannot run (bad port,
    no exec runner, gRPC) is UNKNOWN; otherwise SUCCESS or FAILURE with the message."""
    try:
        if spec.http_get is not None:
            action = spec.http_get
            port = resolve_port(action.port, container)
            ok, message = await probe_http(
                action.host or pod_ip,
                port,
                action.path,
                action.scheme,
                action.headers,
                spec.timeout_seconds,
            )
        elif spec.tcp_socket is not None:
            port = resolve_port(spec.tcp_socket.port, container)
            host = spec.tcp_socket.host or pod_ip
            ok, message = await probe_tcp(host, port, spec.timeout_seconds)
        elif spec.exec is not None and exec_runner is not None:
            ok, message = await probe_exec(exec_runner, spec.exec.command, spec.timeout_seconds)
        else:
            return ProbeResult.UNKNOWN, "unsupported probe action"
    except ProbeError as err:
        return ProbeResult.UNKNOWN, str(err)
    return (ProbeResult.SUCCESS if ok else ProbeResult.FAILURE), message
