"""An async Kubernetes REST client: the only way components other than the API server talk to it.

Thin over aiohttp: paths come from the resource table, bodies are Kubernetes JSON, failures are
raised as the server's `StatusError` (code, reason, message), so callers handle 404/409 the way
client-go users do. `watch` yields `(type, object)` pairs from a streaming list; it ends when the
server ends the stream and raises `StatusError` (410 Expired) for an ERROR event.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from kubesvc.api.errors import StatusError
from kubesvc.api.resources import Resource, lookup


def server_from_kubeconfig(path: Path) -> str:
    """The server URL of the current context of a kubeconfig (kubesvc writes plain HTTP ones)."""
    config = yaml.safe_load(path.read_text())
    current = config.get("current-context")
    context = next(c["context"] for c in config["contexts"] if c["name"] == current)
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    return str(cluster["server"]).rstrip("/")


def collection_path(res: Resource, namespace: str | None) -> str:
    base = f"/apis/{res.group}/{res.version}" if res.group else f"/api/{res.version}"
    if res.namespaced and namespace:
        return f"{base}/namespaces/{namespace}/{res.plural}"
    return f"{base}/{res.plural}"


def object_path(res: Resource, namespace: str | None, name: str, sub: str = "") -> str:
    path = f"{collection_path(res, namespace)}/{name}"
    return f"{path}/{sub}" if sub else path


async def _raise_for_status(reply: aiohttp.ClientResponse) -> None:
    if reply.status < 400:
        return
    text = await reply.text()
    try:
        status = json.loads(text)
    except ValueError:
        status = {}
    if not isinstance(status, dict):
        status = {}
    raise StatusError(
        reply.status,
        str(status.get("reason", "")),
        str(status.get("message", text.strip())),
        status.get("details"),
    )


class Client:
    def __init__(self, server: str, session: aiohttp.ClientSession | None = None) -> None:
        self.server = server.rstrip("/")
        self._session = session
        self._own_session = session is None

    @classmethod
    def from_kubeconfig(cls, path: Path) -> Client:
        return cls(server_from_kubeconfig(path))

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        return self._session

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json", "Content-Type": content_type}
        async with self.session.request(
            method, self.server + path, data=data, params=params, headers=headers
        ) as reply:
            await _raise_for_status(reply)
            return await reply.json()

    async def get(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", object_path(res, namespace, name))
        return result

    async def list(
        self,
        res: Resource,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        field_selector: str = "",
    ) -> dict[str, Any]:
        """The whole list (following `continue`), items with kind and apiVersion filled in."""
        params = {"limit": "500"}
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        items: list[dict[str, Any]] = []
        while True:
            page = await self._call("GET", collection_path(res, namespace), params=params)
            for item in page.get("items") or []:
                item.setdefault("kind", res.kind)
                item.setdefault("apiVersion", res.api_version)
                items.append(item)
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                page["items"] = items
                return dict(page)
            params["continue"] = token

    async def create(
        self, res: Resource, namespace: str | None, obj: dict[str, Any]
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", collection_path(res, namespace), body=obj)
        return result

    async def update(
        self, res: Resource, namespace: str | None, obj: dict[str, Any], subresource: str = ""
    ) -> dict[str, Any]:
        name = obj["metadata"]["name"]
        result: dict[str, Any] = await self._call(
            "PUT", object_path(res, namespace, name, subresource), body=obj
        )
        return result

    async def patch(
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        patch: Any,
        *,
        patch_type: str = "application/merge-patch+json",
        subresource: str = "",
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "PATCH",
            object_path(res, namespace, name, subresource),
            body=patch,
            content_type=patch_type,
        )
        return result

    async def bind(self, namespace: str, pod: str, node: str) -> None:
        """Assign a pending pod to a node (pods/binding), as a scheduler does."""
        pods = lookup("", "pods")
        assert pods is not None
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod, "namespace": namespace},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        await self._call("POST", object_path(pods, namespace, pod, "binding"), body=body)

    async def delete(
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        *,
        propagation: str = "Background",
        grace_period: int | None = None,
        uid: str = "",
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"propagationPolicy": propagation}
        if grace_period is not None:
            body["gracePeriodSeconds"] = grace_period
        if uid:
            body["preconditions"] = {"uid": uid}
        result: dict[str, Any] = await self._call(
            "DELETE", object_path(res, namespace, name), body=body
        )
        return result

    async def watch(
        self,
        res: Resource,
        namespace: str | None,
        resource_version: str,
        *,
        label_selector: str = "",
        field_selector: str = "",
        timeout_seconds: int | None = None,
        bookmarks: bool = True,
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        params = {"watch": "true", "resourceVersion": resource_version}
        if field_selector:
            params["fieldSelector"] = field_selector
        if bookmarks:
            params["allowWatchBookmarks"] = "true"
        if label_selector:
            params["labelSelector"] = label_selector
        if timeout_seconds is not None:
            params["timeoutSeconds"] = str(timeout_seconds)
        async with self.session.get(
            self.server + collection_path(res, namespace), params=params
        ) as reply:
            await _raise_for_status(reply)
            async for line in reply.content:
                if not line.strip():
                    continue
                event = json.loads(line)
                kind, obj = str(event["type"]), event["object"]
                if kind == "ERROR":
                    raise StatusError(
                        int(obj.get("code", 500)),
                        str(obj.get("reason", "")),
                        str(obj.get("message", "")),
                    )
                yield kind, obj
