"""The controller manager against a real API server, with the kubelet's part played by the test.

One API server and one `manager.run` for the whole module (node lifecycle grace period 2 s).
The test registers three Ready nodes with Leases, applies the seeds' Deployment and a Service
like the seeds' hostnames one, and writes pod statuses itself (Running, Ready, podIPs) the way
a node agent would. Then: ReplicaSet and pods named as upstream names them, spread over nodes;
EndpointSlice and Endpoints list the ready pods; readiness changes move addresses; scaling and
a new image roll out; a node whose Lease stops being renewed turns Unknown and its pods'
endpoints not ready.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
import yaml

from kubesvc.api.errors import StatusError
from kubesvc.api.meta import now_rfc3339
from kubesvc.client import Client
from kubesvc.controllers import manager
from tests.conftest import ROOT, ApiServer, Kubectl, resource, start_apiserver

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(120),
    pytest.mark.asyncio(loop_scope="module"),
]

Obj = dict[str, Any]


PODS, NODES, SERVICES = resource("", "pods"), resource("", "nodes"), resource("", "services")
ENDPOINTS, LEASES = resource("", "endpoints"), resource("coordination.k8s.io", "leases")
DEPLOYMENTS, REPLICASETS = resource("apps", "deployments"), resource("apps", "replicasets")
SLICES = resource("discovery.k8s.io", "endpointslices")
NODE_NAMES = ("node-1", "node-2", "node-3")
SEED = ROOT / "tests/fixtures/seeds/myapp-deploy.yaml"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    api = start_apiserver(tmp_path_factory.mktemp("controllers"))
    try:
        yield api
    finally:
        api.stop()


class Cluster:
    """The test's view: a client, fake kubelets (node heartbeats, pod statuses), waiting."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.beating = set(NODE_NAMES)
        self.ip_of: dict[str, str] = {}

    async def eventually(self, check: Callable[[], Any], timeout: float = 10.0) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = await check()
            if result:
                return result
            if loop.time() > deadline:
                raise AssertionError(f"condition not met in {timeout}s; last result {result!r}")
            await asyncio.sleep(0.05)

    async def register_nodes(self) -> None:
        for name in NODE_NAMES:
            await self.client.create(NODES, None, {"metadata": {"name": name}})
            await self.client.create(
                LEASES,
                "kube-node-lease",
                {
                    "metadata": {"name": name},
                    "spec": {"holderIdentity": name, "leaseDurationSeconds": 40},
                },
            )
            await self.heartbeat(name)

    async def heartbeat(self, name: str) -> None:
        node = await self.client.get(NODES, None, name)
        stamp = now_rfc3339()
        ready = next(
            (c for c in (node.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"),
            None,
        )
        since = ready["lastTransitionTime"] if ready and ready["status"] == "True" else stamp
        node["status"] = {
            **(node.get("status") or {}),
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": stamp,
                    "lastTransitionTime": since,
                }
            ],
        }
        await self.client.update(NODES, None, node, "status")
        lease = await self.client.get(LEASES, "kube-node-lease", name)
        lease["spec"]["renewTime"] = now_rfc3339().replace("Z", ".000000Z")
        await self.client.update(LEASES, "kube-node-lease", lease)

    async def heartbeats(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            for name in sorted(self.beating):
                lease = await self.client.get(LEASES, "kube-node-lease", name)
                lease["spec"]["renewTime"] = now_rfc3339().replace("Z", ".000000Z")
                await self.client.update(LEASES, "kube-node-lease", lease)

    async def pods(self, label: str = "app=myapp") -> list[Obj]:
        listed = await self.client.list(PODS, "default", label_selector=label)
        return [p for p in listed["items"] if not p["metadata"].get("deletionTimestamp")]

    async def set_pod(self, pod: Obj, ready: bool) -> None:
        """What the node agent reports for a running container (readiness as given)."""
        name = pod["metadata"]["name"]
        node = pod["spec"]["nodeName"]
        index = NODE_NAMES.index(node) + 1
        ip = self.ip_of.setdefault(name, f"10.244.{index}.{len(self.ip_of) + 5}")
        for _ in range(5):
            fresh = await self.client.get(PODS, "default", name)
            stamp = now_rfc3339()
            state = "True" if ready else "False"
            conditions = [
                c for c in fresh["status"].get("conditions") or [] if c["type"] == "PodScheduled"
            ]
            conditions += [
                {"type": kind, "status": state, "lastProbeTime": None, "lastTransitionTime": stamp}
                for kind in ("ContainersReady", "Ready")
            ]
            container = fresh["spec"]["containers"][0]
            fresh["status"].update(
                phase="Running",
                podIP=ip,
                podIPs=[{"ip": ip}],
                hostIP=f"172.18.0.{index + 1}",
                conditions=conditions,
                containerStatuses=[
                    {
                        "name": container["name"],
                        "image": container["image"],
                        "imageID": "",
                        "ready": ready,
                        "started": True,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": stamp}},
                    }
                ],
            )
            try:
                await self.client.update(PODS, "default", fresh, "status")
                return
            except StatusError as exc:
                if exc.code != 409:
                    raise
        raise AssertionError(f"could not update {name}")

    async def run_pods(self, label: str = "app=myapp") -> list[Obj]:
        """Mark every scheduled pod Running and Ready, as kubelets would."""
        pods = await self.pods(label)
        for pod in pods:
            if pod["spec"].get("nodeName") and pod["status"].get("phase") != "Running":
                await self.set_pod(pod, True)
        return pods

    async def endpoints_text(self, name: str) -> tuple[list[str], list[str]]:
        try:
            eps = await self.client.get(ENDPOINTS, "default", name)
        except StatusError:
            return [], []
        ready, not_ready = [], []
        for subset in eps.get("subsets") or []:
            ports = [p["port"] for p in subset.get("ports") or []]
            ready += [f"{a['ip']}:{p}" for a in subset.get("addresses") or [] for p in ports]
            not_ready += [
                f"{a['ip']}:{p}" for a in subset.get("notReadyAddresses") or [] for p in ports
            ]
        return ready, not_ready

    async def slice_endpoints(self, service: str) -> list[Obj]:
        listed = await self.client.list(
            SLICES, "default", label_selector=f"kubernetes.io/service-name={service}"
        )
        return [e for s in listed["items"] for e in s.get("endpoints") or []]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(server: ApiServer) -> AsyncIterator[Cluster]:
    client = Client(server.url)
    state = Cluster(client)
    await state.register_nodes()
    controllers = asyncio.create_task(manager.run(client, node_monitor_grace_period=2))
    beats = asyncio.create_task(state.heartbeats())
    try:
        yield state
    finally:
        for task in (controllers, beats):
            task.cancel()
        await asyncio.gather(controllers, beats, return_exceptions=True)
        await client.close()


async def test_deployment_creates_replicaset_and_spread_pods(cluster: Cluster) -> None:
    deployment = yaml.safe_load(SEED.read_text())
    await cluster.client.create(DEPLOYMENTS, "default", deployment)

    async def three_scheduled() -> list[Obj]:
        pods = await cluster.pods()
        return pods if len(pods) == 3 and all(p["spec"].get("nodeName") for p in pods) else []

    pods = await cluster.eventually(three_scheduled)
    rss = (await cluster.client.list(REPLICASETS, "default"))["items"]
    assert len(rss) == 1
    rs = rss[0]
    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert re.fullmatch(r"[456789bcdf]{1,10}", pod_hash)
    assert rs["metadata"]["name"] == f"myapp-deploy-{pod_hash}"
    assert rs["spec"]["selector"]["matchLabels"] == {
        "app": "myapp",
        "release": "stabel",
        "pod-template-hash": pod_hash,
    }
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    owner = rs["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"], owner["blockOwnerDeletion"]) == (
        "Deployment",
        "myapp-deploy",
        True,
        True,
    )
    for pod in pods:
        assert re.fullmatch(
            rf"myapp-deploy-{pod_hash}-[bcdfghjklmnpqrstvwxz2456789]{{5}}", pod["metadata"]["name"]
        )
        assert pod["metadata"]["labels"]["pod-template-hash"] == pod_hash
        assert pod["metadata"]["ownerReferences"][0]["name"] == rs["metadata"]["name"]
    assert len({p["spec"]["nodeName"] for p in pods}) == 3

    await cluster.run_pods()

    async def available() -> Obj | None:
        d = await cluster.client.get(DEPLOYMENTS, "default", "myapp-deploy")
        st = d["status"]
        return d if st.get("availableReplicas") == 3 and st.get("readyReplicas") == 3 else None

    d = await cluster.eventually(available)
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert d["status"]["observedGeneration"] == 1 and d["status"]["updatedReplicas"] == 3
    reasons = {c["type"]: c["reason"] for c in d["status"]["conditions"]}
    assert reasons == {
        "Available": "MinimumReplicasAvailable",
        "Progressing": "NewReplicaSetAvailable",
    }


async def test_service_endpoints_follow_pod_readiness(cluster: Cluster) -> None:
    service = {
        "metadata": {"name": "myapp", "labels": {"tier": "web"}},
        "spec": {
            "selector": {"app": "myapp", "release": "stabel"},
            "ports": [
                {"name": "http", "port": 80, "targetPort": "http"},
                {"name": "alt", "port": 8080, "targetPort": 9376},
            ],
        },
    }
    await cluster.client.create(SERVICES, "default", service)
    ips = sorted(cluster.ip_of.values())

    async def all_ready() -> list[str]:
        ready, not_ready = await cluster.endpoints_text("myapp")
        return ready if len(ready) == 6 and not not_ready else []

    ready = await cluster.eventually(all_ready)
    assert ready == [f"{ip}:80" for ip in ips] + [f"{ip}:9376" for ip in ips] or sorted(
        ready
    ) == sorted([f"{ip}:80" for ip in ips] + [f"{ip}:9376" for ip in ips])
    eps = await cluster.client.get(ENDPOINTS, "default", "myapp")
    assert eps["metadata"]["labels"] == {"tier": "web"}
    subset = eps["subsets"][0]
    assert [a["ip"] for a in subset["addresses"]] == ips
    assert subset["ports"] == [
        {"name": "alt", "port": 9376, "protocol": "TCP"},
        {"name": "http", "port": 80, "protocol": "TCP"},
    ]
    address = subset["addresses"][0]
    assert address["targetRef"]["kind"] == "Pod" and address["nodeName"].startswith("node-")

    slices = (
        await cluster.client.list(
            SLICES, "default", label_selector="kubernetes.io/service-name=myapp"
        )
    )["items"]
    assert len(slices) == 1
    sl = slices[0]
    assert sl["metadata"]["name"].startswith("myapp-")
    assert sl["metadata"]["labels"] == {
        "tier": "web",
        "kubernetes.io/service-name": "myapp",
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
    }
    assert sl["addressType"] == "IPv4"
    assert sl["metadata"]["ownerReferences"][0]["kind"] == "Service"
    assert sorted(sl["ports"], key=lambda p: p["name"]) == [
        {"name": "alt", "port": 9376, "protocol": "TCP"},
        {"name": "http", "port": 80, "protocol": "TCP"},
    ]
    assert sorted(e["addresses"][0] for e in sl["endpoints"]) == ips
    assert all(
        e["conditions"] == {"ready": True, "serving": True, "terminating": False}
        for e in sl["endpoints"]
    )

    # one pod stops being ready: its address moves to notReadyAddresses / ready: false
    victim = sorted(await cluster.pods(), key=lambda p: cluster.ip_of[p["metadata"]["name"]])[0]
    await cluster.set_pod(victim, False)
    victim_ip = cluster.ip_of[victim["metadata"]["name"]]

    async def moved() -> bool:
        ready, not_ready = await cluster.endpoints_text("myapp")
        return (
            sorted(not_ready) == sorted([f"{victim_ip}:80", f"{victim_ip}:9376"])
            and len(ready) == 4
        )

    await cluster.eventually(moved)

    async def slice_not_ready() -> bool:
        for e in await cluster.slice_endpoints("myapp"):
            if e["addresses"] == [victim_ip]:
                return e["conditions"] == {"ready": False, "serving": False, "terminating": False}
        return False

    await cluster.eventually(slice_not_ready)
    await cluster.set_pod(victim, True)
    await cluster.eventually(all_ready)


async def test_kubectl_reads_endpoints_as_in_seed_002(
    cluster: Cluster, server: ApiServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    kubectl = Kubectl(server.kubeconfig, tmp_path_factory.mktemp("kubectl-cache"))
    hostnames = yaml.safe_load((ROOT / "tests/fixtures/seeds/hostnames-svc.yaml").read_text())
    hostnames["spec"]["selector"] = {"app": "myapp"}
    await cluster.client.create(SERVICES, "default", hostnames)
    expected = ",".join(f"{ip}:9376" for ip in sorted(cluster.ip_of.values()))

    async def listed() -> str:
        out = await asyncio.to_thread(kubectl, "get", "endpoints", "hostnames")
        return out if expected in out else ""

    out = await cluster.eventually(listed)
    header, row = out.strip().splitlines()
    assert header.split() == ["NAME", "ENDPOINTS", "AGE"]
    assert row.split()[:2] == ["hostnames", expected]
    wide = await asyncio.to_thread(kubectl, "get", "pod", "-o", "wide")
    lines = wide.strip().splitlines()
    assert lines[0].split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    for line in lines[1:]:
        name, ready, status, _restarts, _age, ip, node = line.split()[:7]
        assert re.fullmatch(r"myapp-deploy-[456789bcdf]+-[a-z0-9]{5}", name)
        assert (ready, status, ip, node) == ("1/1", "Running", cluster.ip_of[name], node)
        assert node in NODE_NAMES
    await cluster.client.delete(SERVICES, "default", "hostnames")


async def test_selectorless_service_is_left_alone(cluster: Cluster) -> None:
    await cluster.client.create(
        SERVICES, "default", {"metadata": {"name": "manual"}, "spec": {"ports": [{"port": 80}]}}
    )
    await asyncio.sleep(0.5)
    with pytest.raises(StatusError) as info:
        await cluster.client.get(ENDPOINTS, "default", "manual")
    assert info.value.code == 404
    assert await cluster.slice_endpoints("manual") == []


async def test_scale_down_and_up(cluster: Cluster) -> None:
    await cluster.client.patch(DEPLOYMENTS, "default", "myapp-deploy", {"spec": {"replicas": 1}})

    async def one_left() -> list[Obj]:
        pods = await cluster.pods()
        return pods if len(pods) == 1 else []

    await cluster.eventually(one_left)

    async def one_endpoint() -> bool:
        ready, _ = await cluster.endpoints_text("myapp")
        return len(ready) == 2

    await cluster.eventually(one_endpoint)
    await cluster.client.patch(DEPLOYMENTS, "default", "myapp-deploy", {"spec": {"replicas": 2}})

    async def two_scheduled() -> list[Obj]:
        pods = await cluster.pods()
        return pods if len(pods) == 2 and all(p["spec"].get("nodeName") for p in pods) else []

    pods = await cluster.eventually(two_scheduled)
    assert len({p["spec"]["nodeName"] for p in pods}) == 2
    await cluster.run_pods()

    async def settled() -> bool:
        d = await cluster.client.get(DEPLOYMENTS, "default", "myapp-deploy")
        rs = (await cluster.client.list(REPLICASETS, "default"))["items"][0]
        return (
            d["status"].get("availableReplicas") == 2
            and rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "2"
        )

    await cluster.eventually(settled)


async def test_image_change_rolls_out_a_new_replicaset(cluster: Cluster) -> None:
    old_rs = (await cluster.client.list(REPLICASETS, "default"))["items"][0]["metadata"]["name"]
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "myapp", "image": "wangyanglinux/myapp:v3"}]}
            }
        }
    }
    await cluster.client.patch(
        DEPLOYMENTS,
        "default",
        "myapp-deploy",
        patch,
        patch_type="application/strategic-merge-patch+json",
    )

    async def rolled() -> bool:
        await cluster.run_pods()
        d = await cluster.client.get(DEPLOYMENTS, "default", "myapp-deploy")
        st = d["status"]
        return (
            st.get("observedGeneration") == d["metadata"]["generation"]
            and st.get("updatedReplicas") == 2
            and st.get("replicas") == 2
            and st.get("availableReplicas") == 2
        )

    await cluster.eventually(rolled, timeout=20)
    rss = {
        rs["metadata"]["name"]: rs
        for rs in (await cluster.client.list(REPLICASETS, "default"))["items"]
    }
    assert len(rss) == 2 and old_rs in rss
    assert rss[old_rs]["spec"]["replicas"] == 0
    new_name = next(name for name in rss if name != old_rs)
    new_rs = rss[new_name]
    assert new_rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert new_rs["spec"]["template"]["spec"]["containers"][0]["image"] == "wangyanglinux/myapp:v3"
    pods = await cluster.pods()
    assert {p["metadata"]["name"].rsplit("-", 1)[0] for p in pods} == {new_name}
    d = await cluster.client.get(DEPLOYMENTS, "default", "myapp-deploy")
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"


async def test_silent_node_turns_unknown_and_its_endpoints_not_ready(cluster: Cluster) -> None:
    pods = await cluster.run_pods()
    node = pods[0]["spec"]["nodeName"]
    on_node = {cluster.ip_of[p["metadata"]["name"]] for p in pods if p["spec"]["nodeName"] == node}
    cluster.beating.discard(node)

    async def unknown() -> Obj | None:
        n = await cluster.client.get(NODES, None, node)
        ready = next(c for c in n["status"]["conditions"] if c["type"] == "Ready")
        return ready if ready["status"] == "Unknown" else None

    ready = await cluster.eventually(unknown, timeout=15)
    assert ready["reason"] == "NodeStatusUnknown"
    assert ready["message"] == "Kubelet stopped posting node status."

    async def endpoints_moved() -> bool:
        _, not_ready = await cluster.endpoints_text("myapp")
        return {a.split(":")[0] for a in not_ready} == on_node

    await cluster.eventually(endpoints_moved)
    n = await cluster.client.get(NODES, None, node)
    assert {(t["key"], t["effect"]) for t in n["spec"].get("taints") or []} == {
        ("node.kubernetes.io/unreachable", "NoSchedule"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
    }


async def test_service_deletion_removes_endpoints(cluster: Cluster) -> None:
    await cluster.client.delete(SERVICES, "default", "myapp")

    async def gone() -> bool:
        try:
            await cluster.client.get(ENDPOINTS, "default", "myapp")
        except StatusError as exc:
            return exc.code == 404
        return False

    await cluster.eventually(gone)
