"""A seeded random sequence of Service and EndpointSlice changes, for the sync tests.

Each step puts, changes or deletes one object among a handful of Services (ClusterIP and
NodePort, some with external IPs) and their slices (0 to 4 endpoints), so a run goes through
first endpoints, last endpoints, new and deleted Services and NodePort changes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from proxy_scenarios import HTTP, HTTP_EP, endpoint_slice, service

Obj = dict[str, Any]
NAMES = ("alpha", "beta", "gamma", "delta", "eps", "zeta")


def _service(rng: random.Random, index: int) -> Obj:
    name = NAMES[index]
    spec: dict[str, Any] = {}
    ports = [dict(HTTP[0])]
    if rng.random() < 0.4:
        spec["type"] = "NodePort"
        ports[0]["nodePort"] = 30100 + index
    if rng.random() < 0.3:
        spec["externalIPs"] = [f"192.0.2.{10 + index}"]
    return service(name, f"10.96.1.{10 + index}", ports, **spec)


def _slice(rng: random.Random, index: int) -> Obj:
    count = rng.choice((0, 1, 1, 2, 3, 4))
    hosts = rng.sample(range(2, 60), count)
    eps = [(f"10.244.{1 + h % 3}.{h}", f"node-{1 + h % 3}") for h in hosts]
    return endpoint_slice(NAMES[index], HTTP_EP, eps)


def churn(seed: int, steps: int) -> Iterator[tuple[str, str, Obj | None]]:
    """(kind, metadata.name, the object or None for a delete) per step."""
    rng = random.Random(seed)
    live: set[tuple[str, int]] = set()
    for _ in range(steps):
        index = rng.randrange(len(NAMES))
        kind = "Service" if rng.random() < 0.35 else "EndpointSlice"
        name = NAMES[index] if kind == "Service" else f"{NAMES[index]}-abcde"
        if (kind, index) in live and rng.random() < 0.2:
            live.discard((kind, index))
            yield kind, name, None
            continue
        live.add((kind, index))
        yield kind, name, _service(rng, index) if kind == "Service" else _slice(rng, index)
