"""StatefulSets end to end: a real API server, the controller manager, the real kubectl.

The kubelet's part is played by the test (`Kubelet`): it marks bound pods Running and Ready
when told to, and finishes the graceful deletion of terminating pods (a delete with grace
period 0), as a node agent does once the containers have stopped. The manifest is the one of
the Kubernetes StatefulSet tutorial: a headless Service `nginx` and a StatefulSet `web`.
Everything waits on API state, never on time: "web-1 does not exist yet" is checked once the
controller has written the status that follows web-0's creation.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio

from kubesvc.api.errors import StatusError
from kubesvc.api.meta import now_rfc3339
from kubesvc.client import Client
from kubesvc.controllers import manager
from tests.conftest import ApiServer, Kubectl, resource, start_apiserver

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(180),
    pytest.mark.asyncio(loop_scope="module"),
]

Obj = dict[str, Any]


PODS, NODES = resource("", "pods"), resource("", "nodes")
LEASES = resource("coordination.k8s.io", "leases")
STS, REVISIONS = resource("apps", "statefulsets"), resource("apps", "controllerrevisions")
NODE_NAMES = ("node-1", "node-2")

WEB = """\
apiVersion: v1
kind: Service
metadata:
  name: nginx
  labels:
    app: nginx
spec:
  ports:
  - port: 80
    name: web
  clusterIP: None
  selector:
    app: nginx
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: nginx
  serviceName: "nginx"
  replicas: 3
  minReadySeconds: 0
  template:
    metadata:
      labels:
        app: nginx
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: nginx
        image: registry.k8s.io/nginx-slim:0.24
        ports:
        - containerPort: 80
          name: web
        volumeMounts:
        - name: www
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: [ "ReadWriteOnce" ]
      storageClassName: "my-storage-class"
      resources:
        requests:
          storage: 1Gi
"""


class Kubelet:
    """Plays the node agents: pod statuses on request, terminations always."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.ip_count = 10

    async def register_nodes(self) -> None:
        stamp = now_rfc3339()
        for name in NODE_NAMES:
            await self.client.create(NODES, None, {"metadata": {"name": name}})
            node = await self.client.get(NODES, None, name)
            node["status"] = {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "KubeletReady",
                        "lastHeartbeatTime": stamp,
                        "lastTransitionTime": stamp,
                    }
                ]
            }
            await self.client.update(NODES, None, node, "status")
            lease = {
                "metadata": {"name": name},
                "spec": {
                    "holderIdentity": name,
                    "leaseDurationSeconds": 40,
                    "renewTime": stamp.replace("Z", ".000000Z"),
                },
            }
            await self.client.create(LEASES, "kube-node-lease", lease)

    async def pods(self) -> dict[str, Obj]:
        listed = await self.client.list(PODS, "default")
        return {p["metadata"]["name"]: p for p in listed["items"]}

    async def finish_terminations(self) -> None:
        """Forever: a terminating pod is removed, as its node agent would once it stopped."""
        while True:
            for name, pod in (await self.pods()).items():
                if pod["metadata"].get("deletionTimestamp"):
                    try:
                        await self.client.delete(PODS, "default", name, grace_period=0)
                    except StatusError as exc:
                        if exc.code != 404:
                            raise
            await asyncio.sleep(0.05)

    async def run_pod(self, name: str, phase: str = "Running", ready: bool = True) -> None:
        pod = await self.client.get(PODS, "default", name)
        assert pod["spec"].get("nodeName"), f"{name} is not scheduled"
        self.ip_count += 1
        stamp = now_rfc3339()
        state = "True" if ready else "False"
        pod["status"].update(
            phase=phase,
            podIP=f"10.244.1.{self.ip_count}",
            podIPs=[{"ip": f"10.244.1.{self.ip_count}"}],
            hostIP="172.18.0.2",
            conditions=[
                {"type": kind, "status": state, "lastProbeTime": None, "lastTransitionTime": stamp}
                for kind in ("Initialized", "ContainersReady", "Ready", "PodScheduled")
            ],
        )
        await self.client.update(PODS, "default", pod, "status")


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 20.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"condition not met in {timeout}s; last result {result!r}")
        await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    api = start_apiserver(tmp_path_factory.mktemp("statefulset"))
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture(scope="module")
def kubectl(server: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(server.kubeconfig, tmp_path_factory.mktemp("kubectl-cache"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def kubelet(server: ApiServer) -> AsyncIterator[Kubelet]:
    client = Client(server.url)
    fake = Kubelet(client)
    await fake.register_nodes()
    tasks = [
        asyncio.create_task(manager.run(client, node_monitor_grace_period=3600)),
        asyncio.create_task(fake.finish_terminations()),
    ]
    try:
        yield fake
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.close()


async def run(kubectl: Kubectl, *args: str, **kw: Any) -> str:
    return await asyncio.to_thread(kubectl, *args, **kw)


def sts_status(kubelet: Kubelet) -> Callable[[], Awaitable[Obj]]:
    async def read() -> Obj:
        return dict((await kubelet.client.get(STS, "default", "web")).get("status") or {})

    return read


async def wait_status(kubelet: Kubelet, **wanted: Any) -> Obj:
    async def matches() -> Obj | None:
        status = await sts_status(kubelet)()
        return status if all(status.get(k) == v for k, v in wanted.items()) else None

    result: Obj = await eventually(matches)
    return result


async def wait_pods(kubelet: Kubelet, names: set[str], *, live: bool = True) -> dict[str, Obj]:
    """Until exactly `names` exist (only the not-terminating ones when `live`), all bound."""

    async def check() -> dict[str, Obj] | None:
        pods = await kubelet.pods()
        if live:
            pods = {n: p for n, p in pods.items() if not p["metadata"].get("deletionTimestamp")}
        bound = all(p["spec"].get("nodeName") for p in pods.values())
        return pods if set(pods) == names and bound else None

    result: dict[str, Obj] = await eventually(check)
    return result


async def test_pods_are_created_in_order(kubelet: Kubelet, kubectl: Kubectl) -> None:
    out = await run(kubectl, "apply", "-f", "-", input=WEB)
    assert out.split("\n")[:2] == ["service/nginx created", "statefulset.apps/web created"]

    pods = await wait_pods(kubelet, {"web-0"})
    status = await wait_status(kubelet, replicas=1, observedGeneration=1)
    assert set(await kubelet.pods()) == {"web-0"}  # web-1 waits for web-0 to be Ready
    revision = status["updateRevision"]
    assert re.fullmatch(r"web-[bcdfghjklmnpqrstvwxz2456789]{1,10}", revision)
    assert status["currentRevision"] == revision and status["collisionCount"] == 0

    web0 = pods["web-0"]
    assert web0["spec"]["hostname"] == "web-0" and web0["spec"]["subdomain"] == "nginx"
    assert web0["metadata"]["generateName"] == "web-"
    assert web0["metadata"]["labels"] == {
        "app": "nginx",
        "statefulset.kubernetes.io/pod-name": "web-0",
        "apps.kubernetes.io/pod-index": "0",
        "controller-revision-hash": revision,
    }
    sts = await kubelet.client.get(STS, "default", "web")
    owner = web0["metadata"]["ownerReferences"][0]
    assert owner == {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "name": "web",
        "uid": sts["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    assert {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-0"}} in web0["spec"][
        "volumes"
    ]

    await kubelet.run_pod("web-0", ready=False)  # running but not ready: still no web-1
    await wait_status(kubelet, replicas=1, readyReplicas=None)
    assert set(await kubelet.pods()) == {"web-0"}

    for i in range(3):
        await kubelet.run_pod(f"web-{i}")
        if i < 2:
            await wait_pods(kubelet, {f"web-{j}" for j in range(i + 2)})
            await wait_status(kubelet, replicas=i + 2, readyReplicas=i + 1)
            assert set(await kubelet.pods()) == {f"web-{j}" for j in range(i + 2)}
    await wait_status(kubelet, replicas=3, readyReplicas=3, availableReplicas=3, currentReplicas=3)


async def test_kubectl_shows_the_statefulset(kubelet: Kubelet, kubectl: Kubectl) -> None:
    header, row = (await run(kubectl, "get", "sts")).strip().splitlines()
    assert header.split() == ["NAME", "READY", "AGE"]
    assert row.split()[:2] == ["web", "3/3"]
    header, row = (await run(kubectl, "get", "statefulset", "web", "-o", "wide")).splitlines()
    assert header.split() == ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]
    assert row.split()[3:] == ["nginx", "registry.k8s.io/nginx-slim:0.24"]
    names = await run(kubectl, "get", "pods", "-l", "app=nginx", "-o", "name")
    assert names.split() == ["pod/web-0", "pod/web-1", "pod/web-2"]
    everything = await run(kubectl, "get", "all")
    assert "statefulset.apps/web   3/3" in everything

    described = await run(kubectl, "describe", "sts", "web")
    for line in (
        r"Name:\s+web",
        r"Selector:\s+app=nginx",
        r"Replicas:\s+3 desired \| 3 total",
        r"Update Strategy:\s+RollingUpdate",
        r"Partition:\s+0",
        r"Pods Status:\s+3 Running / 0 Waiting / 0 Succeeded / 0 Failed",
        r"Image:\s+registry.k8s.io/nginx-slim:0.24",
        r"Normal\s+SuccessfulCreate\s+.*create Pod web-2 in StatefulSet web successful",
    ):
        assert re.search(line, described), f"{line!r} not in:\n{described}"

    status = await sts_status(kubelet)()
    revisions = (await run(kubectl, "get", "controllerrevisions")).strip().splitlines()
    assert revisions[0].split() == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    assert revisions[1].split()[:3] == [status["updateRevision"], "statefulset.apps/web", "1"]
    rollout = await run(kubectl, "rollout", "status", "sts/web", "--timeout=10s")
    assert "partitioned roll out complete: 3 new pods have been updated" in rollout


async def test_invalid_statefulsets_are_refused(kubectl: Kubectl) -> None:
    bad = WEB.split("---\n")[1].replace("name: web\n", "name: bad\n", 1)
    bad = bad.replace("      labels:\n        app: nginx\n", "      labels:\n        app: other\n")
    result = kubectl.run("apply", "-f", "-", input=bad, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        'The StatefulSet "bad" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"other"}: `selector` does not match template `labels`'
    )
    patch = json.dumps({"spec": {"serviceName": "other", "replicas": 4}})
    result = kubectl.run("patch", "sts", "web", "-p", patch, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        'The StatefulSet "web" is invalid: spec: Forbidden: updates to statefulset spec for '
        "fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
        "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
    )


async def test_scale_down_goes_in_reverse_order(kubelet: Kubelet, kubectl: Kubectl) -> None:
    seen: list[str] = []
    listed = await kubelet.client.list(PODS, "default")
    since = str(listed["metadata"]["resourceVersion"])

    async def record_deletions() -> None:
        # a watch, not polling: every deletion is an event, however fast it completes
        async for kind, pod in kubelet.client.watch(PODS, "default", since):
            name = pod["metadata"]["name"]
            marked = kind == "DELETED" or pod["metadata"].get("deletionTimestamp")
            if marked and name not in seen:
                seen.append(name)

    watcher = asyncio.create_task(record_deletions())
    try:
        out = await run(kubectl, "scale", "sts", "web", "--replicas=1")
        assert out.strip() == "statefulset.apps/web scaled"
        await wait_pods(kubelet, {"web-0"}, live=False)
        await wait_status(kubelet, replicas=1, readyReplicas=1, availableReplicas=1)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    assert seen == ["web-2", "web-1"]
    _, row = (await run(kubectl, "get", "sts", "web")).splitlines()
    assert row.split()[1] == "1/1"


async def test_a_deleted_pod_comes_back_with_its_name(kubelet: Kubelet, kubectl: Kubectl) -> None:
    before = (await kubelet.pods())["web-0"]
    await run(kubectl, "delete", "pod", "web-0", "--wait=false")

    async def replaced() -> Obj | None:
        pod = (await kubelet.pods()).get("web-0")
        fresh = pod and pod["metadata"]["uid"] != before["metadata"]["uid"]
        return pod if fresh and pod["spec"].get("nodeName") else None

    after = await eventually(replaced)
    assert after["spec"]["hostname"] == "web-0" and after["spec"]["subdomain"] == "nginx"
    await kubelet.run_pod("web-0")
    assert (await kubelet.client.get(PODS, "default", "web-0"))["status"]["podIP"] != before[
        "status"
    ]["podIP"]
    await wait_status(kubelet, replicas=1, readyReplicas=1)

    await kubelet.run_pod("web-0", phase="Failed", ready=False)  # a failed pod is made again

    async def recreated() -> Obj | None:
        pod = (await kubelet.pods()).get("web-0")
        fresh = pod and pod["metadata"]["uid"] != after["metadata"]["uid"]
        return pod if fresh and pod["spec"].get("nodeName") else None

    await eventually(recreated)
    await kubelet.run_pod("web-0")
    await wait_status(kubelet, replicas=1, readyReplicas=1)


async def test_rolling_update_in_reverse_ordinal_order(kubelet: Kubelet, kubectl: Kubectl) -> None:
    await run(kubectl, "scale", "sts", "web", "--replicas=2")
    await wait_pods(kubelet, {"web-0", "web-1"})
    await kubelet.run_pod("web-1")
    old = (await wait_status(kubelet, replicas=2, readyReplicas=2))["updateRevision"]

    await run(kubectl, "set", "image", "sts/web", "nginx=nginx:1.25")
    status = await eventually(
        lambda: _when(sts_status(kubelet), lambda s: s.get("updateRevision") not in (None, old))
    )
    new = status["updateRevision"]

    async def updated(name: str) -> Obj | None:
        pod = (await kubelet.pods()).get(name)
        ok = pod and pod["metadata"]["labels"]["controller-revision-hash"] == new
        return pod if ok and pod["spec"].get("nodeName") else None

    web1 = await eventually(lambda: updated("web-1"))
    assert web1["spec"]["containers"][0]["image"] == "nginx:1.25"
    web0 = (await kubelet.pods())["web-0"]
    assert web0["metadata"]["labels"]["controller-revision-hash"] == old  # web-1 first
    await kubelet.run_pod("web-1")
    await eventually(lambda: updated("web-0"))
    await kubelet.run_pod("web-0")
    final = await wait_status(kubelet, replicas=2, readyReplicas=2, updatedReplicas=2)
    assert final["currentRevision"] == new
    history = await run(kubectl, "rollout", "history", "sts/web")
    assert re.search(r"REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>", history), history


async def test_parallel_policy_creates_all_at_once(kubelet: Kubelet, kubectl: Kubectl) -> None:
    manifest = (
        WEB.split("---\n")[1]
        .replace("name: web\n", "name: par\n", 1)
        .replace("app: nginx", "app: par")
        .replace("replicas: 3\n", "replicas: 3\n  podManagementPolicy: Parallel\n")
    )
    await run(kubectl, "apply", "-f", "-", input=manifest)

    async def three() -> bool:
        pods = await kubelet.pods()
        return {"par-0", "par-1", "par-2"} <= set(pods)

    await eventually(three)
    await run(kubectl, "delete", "sts", "par")


async def test_deleting_the_set_deletes_its_pods(kubelet: Kubelet, kubectl: Kubectl) -> None:
    out = await run(kubectl, "delete", "sts", "web")
    assert out.strip() == 'statefulset.apps "web" deleted'

    async def gone() -> bool:
        revisions = await kubelet.client.list(REVISIONS, "default")
        return not await kubelet.pods() and not revisions["items"]

    await eventually(gone)


async def _when(read: Callable[[], Awaitable[Obj]], test: Callable[[Obj], bool]) -> Obj | None:
    value = await read()
    return value if test(value) else None
