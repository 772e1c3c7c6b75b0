"""Watch streams: newline-delimited JSON events on a chunked HTTP response.

`resourceVersion` absent or "0" starts with synthetic ADDED events for what exists (then, with
`sendInitialEvents` and bookmarks, a BOOKMARK annotated `k8s.io/initial-events-end`); a number
N streams changes after N. A revision older than the store keeps gives one ERROR event with a
410 Expired Status, as kube-apiserver does. With `allowWatchBookmarks` a BOOKMARK carrying the
newest revision delivered goes out every `BOOKMARK_INTERVAL` seconds. `timeoutSeconds` ends the
stream; otherwise it lasts until the client leaves or the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kubesvc.api import printers
from kubesvc.api.errors import StatusError, bad_request
from kubesvc.apiserver.paths import Target
from kubesvc.apiserver.registry import Registry, Selectors, WatchEvent

if TYPE_CHECKING:
    from kubesvc.apiserver.http import Query

BOOKMARK_INTERVAL = 30.0


def _bookmark(target: Target, revision: int, initial_end: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(revision)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    res = target.resource
    return {"kind": res.kind, "apiVersion": res.api_version, "metadata": meta}


class _Encoder:
    def __init__(self, target: Target, table: bool, include_object: str) -> None:
        self.target = target
        self.table = table
        self.include_object = include_object
        self.first = True

    def line(self, kind: str, obj: dict[str, Any]) -> bytes:
        if self.table and kind not in ("BOOKMARK", "ERROR"):
            rv = str((obj.get("metadata") or {}).get("resourceVersion", ""))
            obj = printers.to_table(
                self.target.resource.kind,
                [obj],
                now=datetime.now(UTC),
                include_object=self.include_object,
                resource_version=rv,
            )
            if not self.first:
                obj["columnDefinitions"] = None
            self.first = False
        return json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"


async def serve_watch(
    request: web.Request, registry: Registry, target: Target, query: Query, selectors: Selectors
) -> web.StreamResponse:
    rv_text = query.get("resourceVersion")
    if rv_text and not rv_text.isdigit():
        raise bad_request(f"invalid resource version: {rv_text}")
    timeout_text = query.get("timeoutSeconds")
    timeout = float(timeout_text) if timeout_text.isdigit() else 1800.0 * (1 + random.random())
    bookmarks = query.flag("allowWatchBookmarks")
    encoder = _Encoder(
        target,
        "as=Table" in request.headers.get("Accept", ""),
        query.get("includeObject", "Metadata") or "Metadata",
    )
    if encoder.table:  # refuse a bad includeObject now, not in the middle of the stream
        try:
            printers.to_table(
                target.resource.kind,
                [],
                now=datetime.now(UTC),
                include_object=encoder.include_object,
            )
        except ValueError as exc:
            raise bad_request(str(exc)) from None
    initial: list[dict[str, Any]] = []
    after = int(rv_text or 0)
    send_initial = query.flag("sendInitialEvents") or rv_text in ("", "0")
    if send_initial and query.get("sendInitialEvents") != "false":
        initial, after, _ = await registry.list(target.resource, target.namespace, selectors)
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for obj in initial:
        await response.write(encoder.line("ADDED", obj))
    if bookmarks and query.flag("sendInitialEvents"):
        await response.write(encoder.line("BOOKMARK", _bookmark(target, after, True)))
    with contextlib.suppress(TimeoutError, ConnectionResetError, asyncio.CancelledError):
        async with asyncio.timeout(timeout):
            await _pump(response, registry, target, after, selectors, encoder, bookmarks)
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await response.write_eof()
    return response


async def _pump(
    response: web.StreamResponse,
    registry: Registry,
    target: Target,
    after: int,
    selectors: Selectors,
    encoder: _Encoder,
    bookmarks: bool,
) -> None:
    newest = after
    stream = registry.watch(target.resource, target.namespace, after, selectors)
    pending: asyncio.Task[WatchEvent] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(stream.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=BOOKMARK_INTERVAL)
            if not done:
                if bookmarks:
                    await response.write(encoder.line("BOOKMARK", _bookmark(target, newest)))
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            except StatusError as error:
                await response.write(encoder.line("ERROR", error.to_status()))
                return
            finally:
                pending = None
            newest = event.revision
            await response.write(encoder.line(event.type, event.object))
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        with contextlib.suppress(BaseException):
            await stream.aclose()  # type: ignore[attr-defined]
