"""The controller manager: every controller, sharing one set of informers, until cancelled.

`run(client)` builds the shared informers, lets each controller register its handlers, starts
the informers, then runs the controllers (each waits for the caches it reads before acting):
Deployment, ReplicaSet, StatefulSet, scheduler, EndpointSlice, Endpoints, node lifecycle. Garbage
collection and namespace finalization run inside the API server. Cancelling `run` stops them all
and closes nothing it did not open (the caller owns the client). If one controller fails, the
others are stopped and the error propagates.
"""

from __future__ import annotations

import asyncio
import logging

from kubesvc.client import Client
from kubesvc.controllers.deployment.controller import DeploymentController
from kubesvc.controllers.endpoints.controller import EndpointsController
from kubesvc.controllers.endpointslice.controller import EndpointSliceController
from kubesvc.controllers.informers import SharedInformers
from kubesvc.controllers.nodelifecycle.controller import NodeLifecycleController
from kubesvc.controllers.replicaset.controller import ReplicaSetController
from kubesvc.controllers.scheduler.controller import Scheduler
from kubesvc.controllers.statefulset.controller import StatefulSetController
from kubesvc.lib.runner import Clock, RealClock

log = logging.getLogger("kubesvc.controllers")

DEFAULT_MONITOR_PERIOD = 5.0


async def run(
    client: Client,
    *,
    node_monitor_grace_period: float = 40.0,
    workers: int = 1,
    clock: Clock | None = None,
) -> None:
    clock = clock or RealClock()
    informers = SharedInformers(client)
    monitor_period = max(0.1, min(DEFAULT_MONITOR_PERIOD, node_monitor_grace_period / 4))
    deployments = DeploymentController(client, informers, clock=clock)
    replicasets = ReplicaSetController(client, informers, clock=clock)
    statefulsets = StatefulSetController(client, informers, clock=clock)
    scheduler = Scheduler(client, informers, clock=clock)
    slices = EndpointSliceController(client, informers, clock=clock)
    endpoints = EndpointsController(client, informers, clock=clock)
    nodes = NodeLifecycleController(
        client,
        informers,
        grace_period=node_monitor_grace_period,
        monitor_period=monitor_period,
        clock=clock,
    )
    tasks = informers.start()
    tasks += [
        asyncio.create_task(deployments.run(workers), name="deployment-controller"),
        asyncio.create_task(replicasets.run(workers), name="replicaset-controller"),
        asyncio.create_task(statefulsets.run(workers), name="statefulset-controller"),
        asyncio.create_task(scheduler.run(), name="scheduler"),
        asyncio.create_task(slices.run(workers), name="endpointslice-controller"),
        asyncio.create_task(endpoints.run(workers), name="endpoints-controller"),
        asyncio.create_task(nodes.run(), name="node-lifecycle-controller"),
    ]
    log.info("controllers started")
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
