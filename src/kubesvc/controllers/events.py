"""Events the controllers record, so `kubectl describe` shows what they did.

`Recorder.event(obj, type, reason, message)` builds a core/v1 Event as client-go's recorder does
(name `OBJECT.<hex nanoseconds>`, involvedObject, source component, first/last timestamp, count
1) and creates it in the background: recording never delays or fails a sync.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from kubesvc.api.meta import now_rfc3339
from kubesvc.client import Client
from kubesvc.controllers.informers import RESOURCES
from kubesvc.controllers.pods import meta
from kubesvc.lib.runner import Clock, RealClock

log = logging.getLogger("kubesvc.controllers.events")

Obj = dict[str, Any]


def build_event(obj: Obj, kind: str, reason: str, message: str, component: str, now: str) -> Obj:
    m = meta(obj)
    namespace = m.get("namespace") or "default"
    involved = {
        "kind": obj.get("kind"),
        "namespace": m.get("namespace"),
        "name": m.get("name"),
        "uid": m.get("uid"),
        "apiVersion": obj.get("apiVersion"),
        "resourceVersion": m.get("resourceVersion"),
    }
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{m.get('name')}.{time.time_ns():x}", "namespace": namespace},
        "involvedObject": {k: v for k, v in involved.items() if v},
        "reason": reason,
        "message": message,
        "source": {"component": component},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": kind,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": "",
    }


class Recorder:
    def __init__(self, client: Client, component: str, clock: Clock | None = None) -> None:
        self.client = client
        self.component = component
        self.clock: Clock = clock or RealClock()
        self._tasks: set[asyncio.Task[None]] = set()

    def event(self, obj: Obj, kind: str, reason: str, message: str) -> None:
        body = build_event(
            obj, kind, reason, message, self.component, now_rfc3339(self.clock.now())
        )
        task = asyncio.get_running_loop().create_task(self._create(body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _create(self, body: Obj) -> None:
        try:
            await self.client.create(RESOURCES.events, body["metadata"]["namespace"], body)
        except Exception as exc:  # recording is best effort
            log.debug("event %s not recorded: %s", body["reason"], exc)
