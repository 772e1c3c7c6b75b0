"""The Node object and its Lease, as the kubelet keeps them.

`node_object` and `lease_object` are pure; `Registration` creates the Node (or takes over an
existing one), keeps its Ready condition and addresses current, and renews the Lease in
kube-node-lease every `lease_interval` seconds, which is what the node lifecycle controller
watches.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubesvc.api.errors import StatusError
from kubesvc.api.meta import now_rfc3339
from kubesvc.api.resources import lookup
from kubesvc.client import Client

log = logging.getLogger("kubesvc.node")

NODES = lookup("", "nodes")
LEASES = lookup("coordination.k8s.io", "leases")
KUBELET_VERSION = "v1.32.0-kubesvc"
LEASE_SECONDS = 40


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeInfo:
    name: str
    internal_ip: str
    pod_cidr: str
    max_pods: int = 110


def micro_time(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _conditions(now: str) -> list[dict[str, Any]]:
    def condition(kind: str, status: str, reason: str, message: str) -> dict[str, Any]:
        return {
            "type": kind,
            "status": status,
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        }

    return [
        condition(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        condition(
            "DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"
        ),
        condition(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
        condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ]


def node_object(info: NodeInfo, now: datetime) -> dict[str, Any]:
    stamp = now_rfc3339(now)
    uname = platform.uname()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 1024
    capacity = {
        "cpu": str(os.cpu_count() or 1),
        "memory": f"{memory}Ki",
        "pods": str(info.max_pods),
        "ephemeral-storage": "0",
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": info.name,
            "labels": {
                "kubernetes.io/hostname": info.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64" if uname.machine == "x86_64" else uname.machine,
                "beta.kubernetes.io/os": "linux",
            },
        },
        "spec": {"podCIDR": info.pod_cidr, "podCIDRs": [info.pod_cidr]},
        "status": {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "conditions": _conditions(stamp),
            "addresses": [
                {"type": "InternalIP", "address": info.internal_ip},
                {"type": "Hostname", "address": info.name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
                "kernelVersion": uname.release,
                "osImage": _os_image(),
                "containerRuntimeVersion": "kubesvc://0.1.0",
                "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64" if uname.machine == "x86_64" else uname.machine,
            },
        },
    }


def _os_image() -> str:
    try:
        for line in open("/etc/os-release").read().splitlines():  # noqa: SIM115
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return "Linux"


def lease_object(name: str, now: datetime) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": "kube-node-lease"},
        "spec": {
            "holderIdentity": name,
            "leaseDurationSeconds": LEASE_SECONDS,
            "renewTime": micro_time(now),
        },
    }


class Registration:
    def __init__(
        self,
        client: Client,
        info: NodeInfo,
        lease_interval: float = 10.0,
        on_status_posted: Callable[[], None] = lambda: None,
    ) -> None:
        self.client = client
        self.info = info
        self.lease_interval = lease_interval
        self.on_status_posted = on_status_posted

    async def register(self) -> None:
        """Create the Node, or refresh an existing one's status (a restarted agent)."""
        assert NODES is not None
        wanted = node_object(self.info, datetime.now(UTC))
        try:
            await self.client.create(NODES, None, wanted)
        except StatusError as exc:
            if exc.code != 409:
                raise
            await self.client.patch(NODES, None, self.info.name, {"spec": wanted["spec"]})
        await self.post_status()

    async def post_status(self) -> None:
        assert NODES is not None
        status = node_object(self.info, datetime.now(UTC))["status"]
        await self.client.patch(
            NODES, None, self.info.name, {"status": status}, subresource="status"
        )

    async def renew(self) -> None:
        assert LEASES is not None
        lease = lease_object(self.info.name, datetime.now(UTC))
        try:
            current = await self.client.get(LEASES, "kube-node-lease", self.info.name)
        except StatusError as exc:
            if exc.code != 404:
                raise
            await self.client.create(LEASES, "kube-node-lease", lease)
            return
        current["spec"] = lease["spec"]
        await self.client.update(LEASES, "kube-node-lease", current)

    async def run(self) -> None:
        """Renew the Lease forever; post node status every few renewals."""
        beats = 0
        last = time.monotonic()
        while True:
            try:
                await self.renew()
                # after a gap (this agent was stopped or cut off) post status at once
                if beats % 6 == 0 or time.monotonic() - last > 2 * self.lease_interval:
                    await self.post_status()
            except (StatusError, OSError) as exc:
                log.warning("node heartbeat failed: %s", exc)
            beats += 1
            last = time.monotonic()
            await asyncio.sleep(self.lease_interval)
