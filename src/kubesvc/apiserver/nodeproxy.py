"""Requests the API server passes on to a node agent: `pods/log` today (exec and port-forward
streams next). The agent of the pod's node listens on the node's InternalIP at the port its Node
publishes (`status.daemonEndpoints.kubeletEndpoint.Port`, 10250), like a kubelet.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from kubesvc.api.errors import StatusError, bad_request
from kubesvc.api.resources import lookup
from kubesvc.apiserver.paths import Target
from kubesvc.apiserver.registry import Registry

if TYPE_CHECKING:
    from kubesvc.apiserver.http import Query

NODES = lookup("", "nodes")
LOG_PARAMS = (
    "follow",
    "tailLines",
    "timestamps",
    "previous",
    "sinceSeconds",
    "sinceTime",
    "limitBytes",
)


def pick_container(pod: dict[str, Any], requested: str) -> str:
    name = pod["metadata"]["name"]
    containers = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
    if requested:
        if requested not in containers:
            raise bad_request(f"container {requested} is not valid for pod {name}")
        return requested
    if len(containers) == 1:
        return str(containers[0])
    raise bad_request(
        f"a container name must be specified for pod {name}, choose one of: "
        f"[{' '.join(containers)}]"
    )


def _waiting(pod: dict[str, Any], container: str) -> str | None:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container:
            waiting = (status.get("state") or {}).get("waiting")
            if waiting and not status.get("lastState"):
                return str(waiting.get("reason") or "ContainerCreating")
            return None
    return "ContainerCreating"


async def node_address(registry: Registry, node_name: str) -> str:
    assert NODES is not None
    node = await registry.get(NODES, None, node_name)
    status = node.get("status") or {}
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port", 10250)
    if not addresses.get("InternalIP"):
        raise bad_request(f"node {node_name} has no InternalIP address")
    return f"{addresses['InternalIP']}:{port}"


async def proxy_log(
    request: web.Request, registry: Registry, target: Target, query: Query
) -> web.StreamResponse:
    assert target.name is not None
    pod = await registry.get(target.resource, target.namespace, target.name)
    container = pick_container(pod, query.get("container"))
    node_name = (pod.get("spec") or {}).get("nodeName")
    reason = _waiting(pod, container)
    if not node_name or reason:
        raise bad_request(
            f'container "{container}" in pod "{target.name}" is waiting to start: '
            f"{reason or 'ContainerCreating'}"
        )
    address = await node_address(registry, node_name)
    params = {k: query.get(k) for k in LOG_PARAMS if query.get(k)}
    url = (
        f"http://{address}/containerLogs/{target.namespace}/{target.name}/{container}?"
        + urlencode(params)
    )
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=5)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as reply:
            if reply.status != 200:
                raise bad_request((await reply.text()).strip())
            response = web.StreamResponse(headers={"Content-Type": "text/plain"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            async for chunk in reply.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response
    except (aiohttp.ClientError, OSError) as exc:
        raise StatusError(
            500,
            "InternalError",
            f'Get "{url}": the node agent of {node_name} did not answer: {exc}',
        ) from None


EXEC_PROTOCOL = "v5.channel.k8s.io"


async def proxy_exec(
    request: web.Request, registry: Registry, target: Target, query: Query
) -> web.StreamResponse:
    """pods/exec: checks before the upgrade answer Status errors; then kubectl's WebSocket is
    relayed frame by frame to the node agent's /exec (same v5 channel protocol)."""
    assert target.name is not None
    pod = await registry.get(target.resource, target.namespace, target.name)
    container = pick_container(pod, query.get("container"))
    phase = (pod.get("status") or {}).get("phase")
    node_name = (pod.get("spec") or {}).get("nodeName")
    if phase in ("Succeeded", "Failed"):
        raise bad_request(
            f"cannot exec into a container in a completed pod; current phase is {phase}"
        )
    if not node_name:
        raise bad_request(f"pod {target.name} does not have a host assigned")
    if _waiting(pod, container):
        raise bad_request(f'unable to upgrade connection: container not found ("{container}")')
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise StatusError(400, "BadRequest", "Upgrade request required")
    address = await node_address(registry, node_name)
    params = [("command", c) for c in request.query.getall("command", [])]
    params += [(k, "true") for k in ("stdin", "stdout", "stderr", "tty") if query.flag(k)]
    url = f"http://{address}/exec/{target.namespace}/{target.name}/{container}?" + urlencode(params)
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=5))
    try:
        try:
            upstream = await session.ws_connect(url, protocols=(EXEC_PROTOCOL,), max_msg_size=0)
        except aiohttp.WSServerHandshakeError as exc:
            raise bad_request(f"error dialing the node agent: {exc.message}") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise StatusError(
                500, "InternalError", f"the node agent of {node_name} did not answer: {exc}"
            ) from None
        downstream = web.WebSocketResponse(protocols=(EXEC_PROTOCOL,), max_msg_size=0)
        await downstream.prepare(request)
        await _relay(downstream, upstream)
        return downstream
    finally:
        await session.close()


async def _relay(
    downstream: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse
) -> None:
    async def client_to_node() -> None:
        async for msg in downstream:
            if msg.type == aiohttp.WSMsgType.BINARY:
                await upstream.send_bytes(msg.data)

    forward = asyncio.create_task(client_to_node())
    try:
        async for msg in upstream:
            if msg.type == aiohttp.WSMsgType.BINARY:
                await downstream.send_bytes(msg.data)
    finally:
        forward.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await forward
        await upstream.close()
        await downstream.close()
