"""`kubesvc node`: the node agent (the kubelet of a kubesvc cluster).

It registers its Node and keeps the Lease fresh (`registration`), watches the pods bound to it and
every Service (for the environment variables), and keeps one `PodWorker` per pod: a new pod gets a
worker, a deleted one has its worker stopped. Pod status goes back through the `status`
subresource. On SIGTERM it stops every pod it runs and removes their namespaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from kubesvc.api.errors import StatusError
from kubesvc.api.resources import lookup
from kubesvc.client import Client, Informer
from kubesvc.net import cluster, ip
from kubesvc.node import images
from kubesvc.node.pod import NodeContext, PodWorker
from kubesvc.node.registration import NodeInfo, Registration
from kubesvc.node.server import KUBELET_PORT, KubeletServer

log = logging.getLogger("kubesvc.node")

PODS = lookup("", "pods")
SERVICES = lookup("", "services")
CONFIGMAPS = lookup("", "configmaps")
SECRETS = lookup("", "secrets")
Obj = dict[str, Any]


class Agent:
    def __init__(self, client: Client, data_dir: Path, name: str) -> None:
        assert PODS and SERVICES and CONFIGMAPS and SECRETS
        self.client = client
        record = cluster.load(data_dir)
        self.topology = record.topology()
        node = self.topology.node(name)
        self.name = name
        self.registration = Registration(
            client,
            NodeInfo(name=name, internal_ip=node.ip, pod_cidr=node.pod_subnet),
            lease_interval=record.lease_interval,
            on_status_posted=self._republish,
        )
        self.pods = Informer(client, PODS, field_selector=f"spec.nodeName={name}")
        self.services = Informer(client, SERVICES)
        self.configmaps = Informer(client, CONFIGMAPS)
        self.secrets = Informer(client, SECRETS)
        self.workers: dict[str, PodWorker] = {}
        self.stopping: set[asyncio.Task[None]] = set()
        self.terminating: set[str] = set()
        self.ctx = NodeContext(
            node=name,
            node_ip=node.ip,
            cluster=self.topology.cluster,
            topology=self.topology,
            data_dir=data_dir / "nodes" / name,
            image_table=images.ImageTable.load(data_dir / "images.yaml"),
            services=self.services.cache.items,
            lookup=self._lookup,
            publish=self._publish,
            dns_ip=record.dns_ip,
        )
        self._changed = asyncio.Event()
        self.pods.add_handler(lambda old, new: self._changed.set())

    def _republish(self) -> None:
        """The node posted its status (it may have been NotReady): send every pod's again, since
        the node lifecycle controller may have marked them not ready meanwhile."""
        for worker in self.workers.values():
            worker.mark()

    def _lookup(self, kind: str, namespace: str, name: str) -> Obj | None:
        informer = self.configmaps if kind == "ConfigMap" else self.secrets
        return informer.cache.get(f"{namespace}/{name}")

    async def _publish(self, pod: Obj, status: Obj) -> None:
        assert PODS is not None
        meta = pod["metadata"]
        await self.client.patch(
            PODS, meta["namespace"], meta["name"], {"status": status}, subresource="status"
        )

    async def _sync(self) -> None:
        pods = {str(p["metadata"]["uid"]): p for p in self.pods.cache.items()}
        wanted = {uid: p for uid, p in pods.items() if not p["metadata"].get("deletionTimestamp")}
        for uid in [u for u in self.workers if u not in wanted]:
            worker = self.workers.pop(uid)
            self.terminating.add(uid)  # before the loop below looks at it
            self._background(self._terminate(worker, pods.get(uid)))
        for uid, pod in pods.items():  # terminating pods this agent never ran (it restarted)
            if uid not in wanted and uid not in self.terminating:
                self._background(self._finish_delete(pod))
        for uid, pod in wanted.items():
            if uid in self.workers:
                self.workers[uid].update(pod)
                continue
            if _finished(pod):
                continue
            worker = PodWorker(self.ctx, pod)
            self.workers[uid] = worker
            await worker.run()

    def _background(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self.stopping.add(task)
        task.add_done_callback(self.stopping.discard)

    async def _terminate(self, worker: PodWorker, deleting: Obj | None) -> None:
        """Stop a pod's containers within its grace period, then let the API delete it (the
        kubelet's part of graceful deletion). `deleting` is None when the pod is already gone."""
        uid = worker.uid
        try:
            meta = (deleting or worker.pod)["metadata"]
            grace = meta.get("deletionGracePeriodSeconds")
            if grace is None:
                grace = (worker.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
            await worker.stop(float(grace))
            if deleting is not None:
                await self._finish_delete(deleting)
        finally:
            self.terminating.discard(uid)

    async def _finish_delete(self, pod: Obj) -> None:
        assert PODS is not None
        meta = pod["metadata"]
        try:
            await self.client.delete(
                PODS, meta["namespace"], meta["name"], grace_period=0, uid=str(meta["uid"])
            )
        except StatusError as exc:
            if exc.code not in (404, 409):
                log.warning("deleting pod %s: %s", meta["name"], exc)

    async def _serve(self) -> web.AppRunner:
        """The kubelet endpoint on NODE_IP:10250, inside the node's network namespace."""
        node = self.topology.node(self.name)
        sock = await asyncio.to_thread(ip.listen_socket, node.netns, node.ip, KUBELET_PORT)
        server = KubeletServer(self.ctx.data_dir / "pods", self.workers)
        runner = web.AppRunner(server.app(), access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        return runner

    async def run(self) -> None:
        runner = await self._serve()
        await self.registration.register()
        informers = [self.pods, self.services, self.configmaps, self.secrets]
        tasks = [asyncio.create_task(i.run()) for i in informers]
        tasks.append(asyncio.create_task(self.registration.run()))
        try:
            for informer in informers:
                await informer.wait_synced()
            log.info("node %s synced; running pods", self.name)
            while True:
                await self._changed.wait()
                self._changed.clear()
                try:
                    await self._sync()
                except (StatusError, OSError) as exc:
                    log.warning("pod sync failed: %s", exc)
                    await asyncio.sleep(1)
                    self._changed.set()
        finally:
            await asyncio.gather(
                *(w.stop(5.0) for w in self.workers.values()), return_exceptions=True
            )
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await runner.cleanup()


def _finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


async def run_agent(data_dir: Path, name: str) -> None:
    async with Client.from_kubeconfig(data_dir / "kubeconfig") as client:
        await Agent(client, data_dir, name).run()
