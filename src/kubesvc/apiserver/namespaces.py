"""Namespace finalization: empty a terminating namespace, then let it go.

A deleted Namespace first turns `Terminating` (its `kubernetes` finalizer holds it). This loop
watches Namespaces; for each terminating one it deletes every object inside it (in the order of
the resource table; objects that still carry finalizers are given a few passes to finish), then
removes the `kubernetes` finalizer through the `finalize` subresource, which deletes the
Namespace once nothing else holds it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubesvc.api.errors import StatusError
from kubesvc.api.resources import RESOURCES, lookup
from kubesvc.apiserver.registry import Registry

log = logging.getLogger("kubesvc.namespaces")
NAMESPACES = lookup("", "namespaces")


async def empty_namespace(registry: Registry, namespace: str) -> int:
    """Delete what is left in `namespace`; return how many objects remain."""
    remaining = 0
    for res in RESOURCES:
        if not res.namespaced:
            continue
        items, _, _ = await registry.list(res, namespace)
        for item in items:
            name = item["metadata"]["name"]
            try:
                _, gone = await registry.delete(
                    res, namespace, name, {"propagationPolicy": "Background"}
                )
            except StatusError as exc:
                if exc.code == 404:
                    continue
                raise
            remaining += 0 if gone else 1
    return remaining


async def finalize(registry: Registry, ns: dict[str, Any]) -> None:
    assert NAMESPACES is not None
    name = ns["metadata"]["name"]
    if await empty_namespace(registry, name):
        return
    finalizers = [f for f in (ns.get("spec") or {}).get("finalizers") or [] if f != "kubernetes"]
    try:
        await registry.update(
            NAMESPACES, None, name, {"spec": {"finalizers": finalizers}}, subresource="finalize"
        )
    except StatusError as exc:
        if exc.code != 404:
            raise
    log.info("namespace %s finalized", name)


async def run(registry: Registry, interval: float = 1.0) -> None:
    assert NAMESPACES is not None
    while True:
        try:
            items, _, _ = await registry.list(NAMESPACES, None)
            for ns in items:
                meta, spec = ns["metadata"], ns.get("spec") or {}
                if meta.get("deletionTimestamp") and "kubernetes" in (spec.get("finalizers") or []):
                    await finalize(registry, ns)
        except Exception:
            log.exception("namespace finalization pass failed")
        await asyncio.sleep(interval)
