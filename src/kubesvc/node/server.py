"""The node agent's HTTP endpoint (the kubelet's port 10250), served on the node's address.

- `GET /containerLogs/NS/POD/CONTAINER?follow=&tailLines=&timestamps=&previous=&sinceSeconds=
  &sinceTime=&limitBytes=` streams a container's log as `text/plain`, as the kubelet does;
- `GET /exec/NS/POD/CONTAINER?command=…&stdin=&stdout=&stderr=&tty=` and
  `GET /attach/NS/POD/CONTAINER?stdin=&stdout=&stderr=&tty=` are WebSocket v5 sessions
  (`execstream`);
- `GET /portForward/NS/POD` is a WebSocket carrying kubectl's SPDY/3.1 session (`portforward`).

The API server relays `pods/log`, `pods/exec`, `pods/attach` and `pods/portforward` here. An error
before an upgrade is a `text/plain` answer whose message is also in the `X-Kubesvc-Error` header,
which the API server can read from a failed WebSocket handshake. The listening socket is made
inside the node's network namespace, so the API server reaches it at `NODE_IP:10250` like a real
kubelet.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from pathlib import Path

from aiohttp import WSCloseCode, web

from kubesvc.node import execstream, logs, podexec, portforward
from kubesvc.node.pod import PodWorker
from kubesvc.node.runtime import Process

KUBELET_PORT = 10250
CLOSE_TIMEOUT = 1.0


ERROR_HEADER = "X-Kubesvc-Error"


def _error(status: int, message: str) -> web.Response:
    line = " ".join(message.split()).encode("latin-1", "replace").decode("latin-1")
    return web.Response(
        status=status, text=message, content_type="text/plain", headers={ERROR_HEADER: line}
    )


def _alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


async def _healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok")


async def follow(
    path: Path, offset: int, running: Callable[[], bool], poll: float = 0.1
) -> AsyncIterator[logs.LogLine]:
    """Records appended to `path` after byte `offset`, until the container stops running."""
    pending = b""
    while True:
        try:
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
        except FileNotFoundError:
            return
        if chunk:
            offset += len(chunk)
            lines, pending = logs.parse(pending + chunk)
            for line in lines:
                yield line
            continue
        if not running():
            return
        await asyncio.sleep(poll)


class KubeletServer:
    def __init__(self, pods_dir: Path, workers: Mapping[str, PodWorker] | None = None) -> None:
        self.pods_dir = pods_dir
        self.workers = workers if workers is not None else {}
        self._sessions: set[web.WebSocketResponse] = set()

    def _process(self, namespace: str, pod: str, container: str) -> Process | None:
        for worker in self.workers.values():
            meta = worker.pod["metadata"]
            if (meta["namespace"], meta["name"]) == (namespace, pod):
                life = worker.lives.get(container)
                return life.process if life is not None else None
        return None

    def _pod_dir(self, namespace: str, pod: str) -> Path | None:
        found = sorted(self.pods_dir.glob(f"{namespace}_{pod}_*"), key=lambda p: p.stat().st_mtime)
        return found[-1] if found else None

    async def container_logs(self, request: web.Request) -> web.StreamResponse:
        ns, pod, container = (request.match_info[k] for k in ("namespace", "pod", "container"))
        pod_dir = self._pod_dir(ns, pod)
        runs = logs.log_files(pod_dir / container) if pod_dir else []
        query = request.query
        previous = query.get("previous") == "true"
        if previous and len(runs) < 2:
            return _error(
                400, f'previous terminated container "{container}" in pod "{pod}" not found'
            )
        if not runs:
            return _error(
                400,
                f'container "{container}" in pod "{pod}" is waiting to start: ContainerCreating',
            )
        path = runs[-2] if previous else runs[-1]
        since: float | None = None
        if query.get("sinceSeconds", "").isdigit():
            since = time.time() - int(query["sinceSeconds"])
        elif query.get("sinceTime"):
            try:
                since = datetime.fromisoformat(
                    query["sinceTime"].replace("Z", "+00:00")
                ).timestamp()
            except ValueError:
                return _error(400, f"invalid sinceTime: {query['sinceTime']}")
        tail = int(query["tailLines"]) if query.get("tailLines", "").isdigit() else None
        limit = int(query["limitBytes"]) if query.get("limitBytes", "").isdigit() else None
        stamps = query.get("timestamps") == "true"
        size = path.stat().st_size
        body = logs.render(
            logs.select(logs.read_lines(path), since=since, tail=tail), timestamps=stamps
        )
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        sent = await self._send(response, body, limit, 0)
        if query.get("follow") == "true" and not previous and (limit is None or sent < limit):
            pid_file = pod_dir / f"{container}.pid" if pod_dir else Path("/nonexistent")
            async for line in follow(path, size, lambda: _alive(pid_file)):
                sent = await self._send(
                    response, logs.render([line], timestamps=stamps), limit, sent
                )
                if limit is not None and sent >= limit:
                    break
        await response.write_eof()
        return response

    async def exec(self, request: web.Request) -> web.StreamResponse:
        """Run a command in the pod (the kubelet's /exec), streams over WebSocket v5."""
        ns, pod, container = (request.match_info[k] for k in ("namespace", "pod", "container"))
        query = request.query
        command = query.getall("command", [])
        pod_dir = self._pod_dir(ns, pod)
        if pod_dir is None or not command:
            what = "no command" if pod_dir else f'pod "{pod}" is not running on this node'
            return _error(400, what)
        try:
            argv, env = podexec.command_in(pod_dir, container, list(command))
        except podexec.PodExecError as exc:
            return _error(400, str(exc))
        flag = {k: query.get(k) in ("true", "1") for k in ("tty", "stdin", "stderr")}
        async with self._websocket(request, execstream.PROTOCOL) as ws:
            await execstream.run(
                ws, argv, env, tty=flag["tty"], stdin=flag["stdin"], stderr=flag["stderr"]
            )
        return ws

    async def attach(self, request: web.Request) -> web.StreamResponse:
        """Attach to a running container's stdio (the kubelet's /attach), WebSocket v5."""
        ns, pod, container = (request.match_info[k] for k in ("namespace", "pod", "container"))
        process = self._process(ns, pod, container)
        if process is None or process.proc.returncode is not None or process.io.output.closed:
            return _error(
                400,
                f'unable to upgrade connection: container "{container}" in pod "{pod}" '
                "is not running",
            )
        flag = {k: request.query.get(k) in ("true", "1") for k in ("stdin", "stdout", "stderr")}
        async with self._websocket(request, execstream.PROTOCOL) as ws:
            await execstream.attach(
                ws, process.io, stdin=flag["stdin"], stdout=flag["stdout"], stderr=flag["stderr"]
            )
        return ws

    async def port_forward(self, request: web.Request) -> web.StreamResponse:
        """Forward kubectl's connections to ports of the pod (the kubelet's /portForward)."""
        ns, pod = request.match_info["namespace"], request.match_info["pod"]
        pod_dir = self._pod_dir(ns, pod)
        try:
            sandbox = podexec.sandbox_of(pod_dir) if pod_dir else None
        except OSError:
            sandbox = None
        if pod_dir is None or sandbox is None:
            return _error(404, f'pod "{pod}" has no running sandbox on this node')
        uid = pod_dir.name.rsplit("_", 1)[-1]
        async with self._websocket(request, portforward.PROTOCOL) as ws:
            forwarder = portforward.Forwarder(
                portforward.WebSocketTunnel(ws),
                lambda port: portforward.connect_in_netns(sandbox.netns, port),
                portforward.kubelet_message(pod, uid, sandbox.netns),
            )
            await forwarder.run()
        return ws

    @contextlib.asynccontextmanager
    async def _websocket(
        self, request: web.Request, protocol: str
    ) -> AsyncIterator[web.WebSocketResponse]:
        """An accepted WebSocket session, closed at the end and when the agent stops. A close
        waits at most CLOSE_TIMEOUT for the peer's answer (`kubesvc up` stops the agents from
        the API server's own event loop, which cannot answer until they are gone)."""
        ws = web.WebSocketResponse(protocols=(protocol,), max_msg_size=0, timeout=CLOSE_TIMEOUT)
        await ws.prepare(request)
        self._sessions.add(ws)
        try:
            yield ws
        finally:
            self._sessions.discard(ws)
            await ws.close()

    async def _close_sessions(self, _: web.Application) -> None:
        for ws in list(self._sessions):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"node agent stopping")

    @staticmethod
    async def _send(response: web.StreamResponse, data: bytes, limit: int | None, sent: int) -> int:
        if limit is not None:
            data = data[: max(0, limit - sent)]
        if data:
            await response.write(data)
        return sent + len(data)

    def app(self) -> web.Application:
        app = web.Application()
        app.on_shutdown.append(self._close_sessions)
        app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", self.container_logs)
        app.router.add_get("/healthz", _healthz)
        app.router.add_get("/exec/{namespace}/{pod}/{container}", self.exec)
        app.router.add_get("/attach/{namespace}/{pod}/{container}", self.attach)
        app.router.add_get("/portForward/{namespace}/{pod}", self.port_forward)
        return app
