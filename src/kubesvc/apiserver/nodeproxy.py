"""Requests the API server passes on to a node agent: `pods/log`, `pods/exec`, `pods/attach` and
`pods/portforward`. The agent of the pod's node listens on the node's InternalIP at the port its
Node publishes (`status.daemonEndpoints.kubeletEndpoint.Port`, 10250), like a kubelet.

Every check that can fail (pod, container, phase, node) runs before an upgrade, so kubectl gets a
Status. Then kubectl's WebSocket is accepted with the subprotocol it asked for and relayed
message by message to a WebSocket to the agent: v5.channel.k8s.io for exec and attach, and for
port-forward `SPDY/3.1+portforward.k8s.io`, whose binary messages are slices of a SPDY byte
stream that only the agent parses. kubectl's plain-SPDY fallback for port-forward (`Upgrade:
SPDY/3.1`, used when the WebSocket dial fails or with KUBECTL_PORT_FORWARD_WEBSOCKETS=false) is
answered too: the API server takes the HTTP connection over (`rawupgrade`) and relays its raw
bytes to the same agent WebSocket. exec and attach over plain SPDY are refused with a Status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from kubesvc.api.errors import StatusError, bad_request
from kubesvc.api.resources import lookup
from kubesvc.apiserver import rawupgrade
from kubesvc.apiserver.paths import Target
from kubesvc.apiserver.registry import Registry
from kubesvc.lib.tasks import until_first_done

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


CHANNEL_PROTOCOL = "v5.channel.k8s.io"
PORTFORWARD_PROTOCOL = "SPDY/3.1+portforward.k8s.io"
PORTFORWARD_SPDY_VERSION = "portforward.k8s.io"
AGENT_ERROR_HEADER = "X-Kubesvc-Error"  # the agent's message for a refused upgrade


def _wants_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


def _wants_spdy(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower().startswith("spdy/")


async def _running_pod(
    registry: Registry, target: Target, query: Query, verb: str
) -> tuple[str, str]:
    """(container, node) of a pod that can be exec'd into or attached to, or a Status error."""
    assert target.name is not None
    pod = await registry.get(target.resource, target.namespace, target.name)
    container = pick_container(pod, query.get("container"))
    phase = (pod.get("status") or {}).get("phase")
    node_name = (pod.get("spec") or {}).get("nodeName")
    if phase in ("Succeeded", "Failed"):
        raise bad_request(f"cannot {verb} a container in a completed pod; current phase is {phase}")
    if not node_name:
        raise bad_request(f"pod {target.name} does not have a host assigned")
    if _waiting(pod, container):
        raise bad_request(f'unable to upgrade connection: container not found ("{container}")')
    return container, str(node_name)


async def proxy_exec(
    request: web.Request, registry: Registry, target: Target, query: Query
) -> web.StreamResponse:
    """pods/exec: relayed to the agent's /exec (the same v5 channel protocol)."""
    container, node_name = await _running_pod(registry, target, query, "exec into")
    params = [("command", c) for c in request.query.getall("command", [])]
    return await _channel_session(request, registry, target, "exec", container, node_name, params)


async def proxy_attach(
    request: web.Request, registry: Registry, target: Target, query: Query
) -> web.StreamResponse:
    """pods/attach: relayed to the agent's /attach (the container's own stdio)."""
    container, node_name = await _running_pod(registry, target, query, "attach")
    return await _channel_session(request, registry, target, "attach", container, node_name, [])


async def _channel_session(
    request: web.Request,
    registry: Registry,
    target: Target,
    kind: str,
    container: str,
    node_name: str,
    params: list[tuple[str, str]],
) -> web.StreamResponse:
    if _wants_spdy(request):
        raise bad_request(
            f"kubesvc serves pods/{kind} over WebSocket ({CHANNEL_PROTOCOL}) only, not SPDY/3.1; "
            "use kubectl 1.30 or newer without KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false"
        )
    if not _wants_websocket(request):
        raise StatusError(400, "BadRequest", "Upgrade request required")
    params += [(k, "true") for k in ("stdin", "stdout", "stderr", "tty") if _flag(request, k)]
    address = await node_address(registry, node_name)
    url = f"http://{address}/{kind}/{target.namespace}/{target.name}/{container}?"
    async with _agent_session() as session:
        upstream = await _dial(session, url + urlencode(params), CHANNEL_PROTOCOL, node_name)
        downstream = web.WebSocketResponse(protocols=(CHANNEL_PROTOCOL,), max_msg_size=0)
        await downstream.prepare(request)
        await _relay(downstream, upstream)
        return downstream


async def proxy_portforward(
    request: web.Request, registry: Registry, target: Target, query: Query
) -> web.StreamResponse:
    """pods/portforward: kubectl's SPDY session relayed, as bytes, to the agent's /portForward."""
    assert target.name is not None
    pod = await registry.get(target.resource, target.namespace, target.name)
    phase = (pod.get("status") or {}).get("phase")
    node_name = (pod.get("spec") or {}).get("nodeName")
    if phase != "Running" or not node_name:
        raise bad_request(
            "unable to forward port because pod is not running. Current status="
            f"{phase or 'Pending'}"
        )
    websocket, spdy = _wants_websocket(request), _wants_spdy(request)
    if websocket and PORTFORWARD_PROTOCOL not in _offered(request):
        raise bad_request(
            f"unsupported port-forward protocol {request.headers.get('Sec-WebSocket-Protocol')!r}"
            f": kubesvc speaks {PORTFORWARD_PROTOCOL} (kubectl 1.31 and newer)"
        )
    versions = [
        v.strip()
        for line in request.headers.getall("X-Stream-Protocol-Version", [])
        for v in line.split(",")
    ]
    if spdy and PORTFORWARD_SPDY_VERSION not in versions:
        raise bad_request(
            f"unable to negotiate protocol: client supports {versions}, server supports "
            f"[{PORTFORWARD_SPDY_VERSION}]"
        )
    if not websocket and not spdy:
        raise StatusError(400, "BadRequest", "Upgrade request required")
    address = await node_address(registry, str(node_name))
    url = f"http://{address}/portForward/{target.namespace}/{target.name}"
    async with _agent_session() as session:
        upstream = await _dial(session, url, PORTFORWARD_PROTOCOL, str(node_name))
        if spdy:
            return await rawupgrade.relay(request, upstream, PORTFORWARD_SPDY_VERSION)
        downstream = web.WebSocketResponse(protocols=(PORTFORWARD_PROTOCOL,), max_msg_size=0)
        await downstream.prepare(request)
        await _relay(downstream, upstream)
        return downstream


def _flag(request: web.Request, key: str) -> bool:
    return request.query.get(key, "").lower() in ("true", "1")


def _offered(request: web.Request) -> list[str]:
    raw = ",".join(request.headers.getall("Sec-WebSocket-Protocol", []))
    return [p.strip() for p in raw.split(",") if p.strip()]


def _agent_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=5))


async def _dial(
    session: aiohttp.ClientSession, url: str, protocol: str, node_name: str
) -> aiohttp.ClientWebSocketResponse:
    try:
        return await session.ws_connect(url, protocols=(protocol,), max_msg_size=0)
    except aiohttp.WSServerHandshakeError as exc:
        message = (exc.headers.get(AGENT_ERROR_HEADER) if exc.headers else None) or exc.message
        code = exc.status if exc.status in (400, 404) else 500
        reason = {400: "BadRequest", 404: "NotFound"}.get(code, "InternalError")
        raise StatusError(code, reason, message) from None
    except (aiohttp.ClientError, OSError) as exc:
        raise StatusError(
            500, "InternalError", f"the node agent of {node_name} did not answer: {exc}"
        ) from None


async def _relay(
    downstream: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse
) -> None:
    """Binary messages both ways (empty ones too) until either side closes; then close both."""

    async def client_to_node() -> None:
        async for msg in downstream:
            if msg.type == aiohttp.WSMsgType.BINARY:
                await upstream.send_bytes(msg.data)

    async def node_to_client() -> None:
        async for msg in upstream:
            if msg.type == aiohttp.WSMsgType.BINARY:
                await downstream.send_bytes(msg.data)

    try:
        await until_first_done(client_to_node(), node_to_client())
    finally:
        await upstream.close()
        await downstream.close()
