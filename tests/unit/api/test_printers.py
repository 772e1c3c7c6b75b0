"""Server-side Table printing, checked against the seeds' `kubectl get` output and upstream rules.

Each kind gets realistic objects and whole-row assertions. `kubectl_text` lays a Table out the way
kubectl does (upper-cased headers, tabwriter with padding 3, priority-1 columns only with wide), so
the seed transcripts can be compared verbatim. Ages are relative to NOW.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubesvc.api.printers import PRINTERS, columns, row_cells, to_table

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
SEC, MIN, HOUR, DAY = (timedelta(seconds=n) for n in (1, 60, 3600, 86400))
Obj = dict[str, Any]


def ago(delta: timedelta) -> str:
    return (NOW - delta).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def meta(name: str, age: timedelta | None, namespace: str | None = "default", **extra: Any) -> Obj:
    m: Obj = {"name": name, "uid": f"uid-{name}", "resourceVersion": "7", **extra}
    if namespace:
        m["namespace"] = namespace
    if age is not None:
        m["creationTimestamp"] = ago(age)
    return m


def kubectl_text(table: Obj, *, wide: bool = False) -> str:
    """What `kubectl get [-o wide]` prints for a Table."""
    defs = table["columnDefinitions"]
    shown = [i for i, c in enumerate(defs) if wide or c["priority"] == 0]
    lines = [[defs[i]["name"].upper() for i in shown]]
    lines += [[str(row["cells"][i]) for i in shown] for row in table["rows"]]
    widths = [max(6, max(len(line[j]) for line in lines) + 3) for j in range(len(shown) - 1)]
    return "\n".join(
        "".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False)) + line[-1]
        for line in lines
    )


def transcript(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


# --- Service ------------------------------------------------------------------------------


def service(name: str, spec: Obj, age: timedelta, status: Obj | None = None) -> Obj:
    return {"kind": "Service", "apiVersion": "v1", "metadata": meta(name, age), "spec": spec,
            "status": status or {"loadBalancer": {}}}  # fmt: skip


# fmt: off
HTTP = {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 80}
MYAPP_SELECTOR = {"app": "myapp", "release": "stabel"}
MYAPP = service("myapp", {"type": "ClusterIP", "clusterIP": "10.101.48.92",
                          "clusterIPs": ["10.101.48.92"], "ports": [HTTP],
                          "selector": MYAPP_SELECTOR}, 20 * SEC)
HEADLESS = service("myapp-headless", {"type": "ClusterIP", "clusterIP": "None",
                                      "clusterIPs": ["None"], "selector": {"app": "myapp"},
                                      "ports": [{"protocol": "TCP", "port": 80, "targetPort": 80}]},
                   47 * MIN)
NODEPORT = service("myapp", {"type": "NodePort", "clusterIP": "10.101.48.92",
                             "clusterIPs": ["10.101.48.92"], "ports": [{**HTTP, "nodePort": 30707}],
                             "selector": MYAPP_SELECTOR}, 91 * MIN)
EXTERNAL_NAME = service("my-service-1", {"type": "ExternalName",
                                         "externalName": "hub.atguigu.com"}, 9 * SEC)
# fmt: on


def test_service_rows_from_seed_001() -> None:
    assert row_cells("Service", MYAPP, NOW) == [
        "myapp", "ClusterIP", "10.101.48.92", "<none>", "80/TCP", "20s", "app=myapp,release=stabel",
    ]  # fmt: skip
    assert row_cells("Service", HEADLESS, NOW) == [
        "myapp-headless", "ClusterIP", "None", "<none>", "80/TCP", "47m", "app=myapp",
    ]  # fmt: skip
    assert row_cells("Service", NODEPORT, NOW) == [
        "myapp", "NodePort", "10.101.48.92", "<none>", "80:30707/TCP", "91m",
        "app=myapp,release=stabel",
    ]  # fmt: skip
    assert row_cells("Service", EXTERNAL_NAME, NOW) == [
        "my-service-1", "ExternalName", "<none>", "hub.atguigu.com", "<none>", "9s", "<none>",
    ]  # fmt: skip


def test_service_table_prints_like_seed_001() -> None:
    table = to_table("Service", [EXTERNAL_NAME, NODEPORT, HEADLESS], now=NOW)
    assert kubectl_text(table) == transcript("""
        NAME             TYPE           CLUSTER-IP     EXTERNAL-IP       PORT(S)        AGE
        my-service-1     ExternalName   <none>         hub.atguigu.com   <none>         9s
        myapp            NodePort       10.101.48.92   <none>            80:30707/TCP   91m
        myapp-headless   ClusterIP      None           <none>            80/TCP         47m
    """)
    https = {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}
    kubernetes = service(
        "kubernetes",
        {"type": "ClusterIP", "clusterIPs": ["10.96.0.1"], "ports": [https]},
        114 * DAY,
    )
    assert kubectl_text(to_table("Service", [kubernetes], now=NOW)) == transcript("""
        NAME         TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE
        kubernetes   ClusterIP   10.96.0.1    <none>        443/TCP   114d
    """)


# fmt: off
LB_STATUS = {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": "lb.example.com"},
                                          {"ip": "203.0.113.2"}, {"ip": "203.0.113.9"}]}}
LB_IPS = "203.0.113.2,203.0.113.9,lb.example.com"
DNS = {"name": "dns", "port": 53, "protocol": "UDP"}


LB_CASES = [
    ({"type": "LoadBalancer", "ports": [{**HTTP, "nodePort": 31000}]}, None, "<pending>",
     "80:31000/TCP"),
    ({"type": "LoadBalancer", "ports": [HTTP]}, LB_STATUS, LB_IPS, "80/TCP"),
    ({"type": "LoadBalancer", "externalIPs": ["198.51.100.7"]}, LB_STATUS,
     LB_IPS + ",198.51.100.7", "<none>"),
    ({"type": "LoadBalancer", "externalIPs": ["198.51.100.7"]}, None, "198.51.100.7", "<none>"),
    ({"type": "ClusterIP", "externalIPs": ["198.51.100.7", "198.51.100.8"], "ports": [HTTP, DNS]},
     None, "198.51.100.7,198.51.100.8", "80/TCP,53/UDP"),
    ({"type": "NodePort", "ports": [{"port": 8080, "nodePort": 30080}]}, None, "<none>",
     "8080:30080/TCP"),
    ({"type": "Weird", "ports": [{"port": 1, "protocol": "SCTP"}]}, None, "<unknown>", "1/SCTP"),
]
# fmt: on


@pytest.mark.parametrize(("spec", "status", "external_ip", "ports"), LB_CASES)
def test_service_external_ip_and_ports(
    spec: Obj, status: Obj | None, external_ip: str, ports: str
) -> None:
    cells = row_cells("Service", service("lb", spec, 3 * HOUR, status), NOW)
    assert cells[3:5] == [external_ip, ports]


def test_service_defaults_type_and_falls_back_to_cluster_ip() -> None:
    svc = service("plain", {"clusterIP": "10.96.0.20", "ports": [{"port": 80}]}, 5 * MIN)
    assert row_cells("Service", svc, NOW) == [
        "plain", "ClusterIP", "10.96.0.20", "<none>", "80/TCP", "5m", "<none>",
    ]  # fmt: skip


# --- Endpoints and EndpointSlice ----------------------------------------------------------


def endpoints(name: str, subsets: list[Obj] | None, age: timedelta) -> Obj:
    obj: Obj = {"kind": "Endpoints", "apiVersion": "v1", "metadata": meta(name, age)}
    if subsets is not None:
        obj["subsets"] = subsets
    return obj


def addresses(*ips: str) -> list[Obj]:
    return [{"ip": ip, "nodeName": "rain-kubernetes-1"} for ip in ips]


HOSTNAMES_IPS = ("10.168.0.10", "10.168.1.12", "10.168.2.21")


def test_endpoints_like_seed_002() -> None:
    subset = {"addresses": addresses(*HOSTNAMES_IPS),
              "ports": [{"name": "default", "port": 9376, "protocol": "TCP"}]}  # fmt: skip
    ep = endpoints("hostnames", [subset], 34 * MIN)
    assert kubectl_text(to_table("Endpoints", [ep], now=NOW)) == transcript("""
        NAME        ENDPOINTS                                            AGE
        hostnames   10.168.0.10:9376,10.168.1.12:9376,10.168.2.21:9376   34m
    """)


# fmt: off
ENDPOINTS_CASES = [
    (None, "<none>"),
    ([], "<none>"),
    ([{"addresses": addresses("10.244.0.4", "10.244.0.3"), "ports": [{"port": 8080}]}],
     "10.244.0.4:8080,10.244.0.3:8080"),
    ([{"addresses": addresses("10.0.0.1", "10.0.0.2"), "ports": [{"port": 80}, {"port": 443}]}],
     "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more..."),
    ([{"addresses": addresses("10.0.0.1", "10.0.0.2", "10.0.0.3")},  # headless: no ports
      {"addresses": addresses("10.0.0.4", "10.0.0.5")}], "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more..."),
    ([{"addresses": addresses("fd00::5"), "ports": [{"port": 53}]}], "[fd00::5]:53"),
    ([{"notReadyAddresses": addresses("10.0.0.9"), "ports": [{"port": 80}]}], ""),
]
# fmt: on


@pytest.mark.parametrize(("subsets", "expected"), ENDPOINTS_CASES)
def test_endpoints_cell(subsets: list[Obj] | None, expected: str) -> None:
    assert row_cells("Endpoints", endpoints("web", subsets, 2 * SEC), NOW) == [
        "web",
        expected,
        "2s",
    ]


def endpoint_slice(ports: list[Obj], ips: list[str]) -> Obj:
    eps = [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips]
    return {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1", "endpoints": eps,
            "metadata": meta("hostnames-x7k2p", 34 * MIN), "addressType": "IPv4",
            "ports": ports}  # fmt: skip


# fmt: off
SLICE_CASES = [
    ([{"name": "default", "port": 9376, "protocol": "TCP"}], list(HOSTNAMES_IPS), "9376",
     "10.168.0.10,10.168.1.12,10.168.2.21"),
    ([{"port": 80}, {"port": 443}], [f"10.0.0.{i}" for i in range(1, 6)], "80,443",
     "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more..."),
    ([{"name": "http", "port": None}, {"port": None}, {"port": 1}, {"port": 2}], [],
     "http,*,1 + 1 more...", "<unset>"),
    ([], ["10.0.0.1"], "<unset>", "10.0.0.1"),
]
# fmt: on


@pytest.mark.parametrize(("ports", "ips", "ports_cell", "endpoints_cell"), SLICE_CASES)
def test_endpoint_slice(
    ports: list[Obj], ips: list[str], ports_cell: str, endpoints_cell: str
) -> None:
    assert row_cells("EndpointSlice", endpoint_slice(ports, ips), NOW) == [
        "hostnames-x7k2p", "IPv4", ports_cell, endpoints_cell, "34m",
    ]  # fmt: skip


# --- Pod ----------------------------------------------------------------------------------

RUNNING: Obj = {"running": {"startedAt": ago(62 * MIN)}}
TERMINATED_OK: Obj = {"terminated": {"exitCode": 0, "reason": "Completed"}}
LAST_CRASH: Obj = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(30 * SEC)}}
DELETED: Obj = {"deletionTimestamp": ago(5 * SEC), "deletionGracePeriodSeconds": 30}
READY_CONDITIONS = [{"type": t, "status": "True"} for t in
                    ("Initialized", "Ready", "ContainersReady", "PodScheduled")]  # fmt: skip


def cstatus(name: str = "myapp", *, ready: bool = True, restarts: int = 0, **state: Obj) -> Obj:
    return {"name": name, "image": "wangyanglinux/myapp:v2", "ready": ready, "started": ready,
            "restartCount": restarts, "state": state or RUNNING}  # fmt: skip


def pod(
    name: str,
    *,
    phase: str = "Running",
    node: str = "",
    ip: str = "",
    statuses: list[Obj] | None = None,
    conditions: list[Obj] | None = None,
    containers: tuple[str, ...] = ("myapp",),
    spec: Obj | None = None,
    status: Obj | None = None,
    metadata: Obj | None = None,
) -> Obj:
    images = [{"name": c, "image": "wangyanglinux/myapp:v2"} for c in containers]
    pod_spec: Obj = {"containers": images, **(spec or {})}
    pod_status: Obj = {"phase": phase, **(status or {})}
    if node:
        pod_spec["nodeName"] = node
    if ip:
        pod_status |= {"podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "192.168.66.10"}
    if statuses is not None:
        pod_status["containerStatuses"] = statuses
    if conditions is not None:
        pod_status["conditions"] = conditions
    labels = {"app": "myapp", "release": "stabel"}
    return {"kind": "Pod", "apiVersion": "v1", "spec": pod_spec, "status": pod_status,
            "metadata": meta(name, 62 * MIN, labels=labels, **(metadata or {}))}  # fmt: skip


def seed_pod(name: str, node: str, ip: str) -> Obj:
    return pod(name, node=node, ip=ip, statuses=[cstatus()], conditions=READY_CONDITIONS)


MYAPP_PODS = [
    seed_pod("myapp-deploy-c7b5fb585-lw9rr", "zhangliang", "10.244.6.101"),
    seed_pod("myapp-deploy-c7b5fb585-pqd8j", "kongming", "10.244.8.108"),
    seed_pod("myapp-deploy-c7b5fb585-stkdm", "laojun", "10.244.4.51"),
]


def test_pods_wide_like_seed_001() -> None:
    assert row_cells("Pod", MYAPP_PODS[0], NOW) == [
        "myapp-deploy-c7b5fb585-lw9rr", "1/1", "Running", "0", "62m", "10.244.6.101", "zhangliang",
        "<none>", "<none>",
    ]  # fmt: skip
    assert kubectl_text(to_table("Pod", MYAPP_PODS, now=NOW), wide=True) == transcript("""
        NAME                           READY   STATUS    RESTARTS   AGE   IP             NODE         NOMINATED NODE   READINESS GATES
        myapp-deploy-c7b5fb585-lw9rr   1/1     Running   0          62m   10.244.6.101   zhangliang   <none>           <none>
        myapp-deploy-c7b5fb585-pqd8j   1/1     Running   0          62m   10.244.8.108   kongming     <none>           <none>
        myapp-deploy-c7b5fb585-stkdm   1/1     Running   0          62m   10.244.4.51    laojun       <none>           <none>
    """)  # noqa: E501


def test_pods_container_creating_like_seed_001() -> None:
    waiting = cstatus(ready=False, waiting={"reason": "ContainerCreating"})
    creating = [
        pod(f"myapp-deploy-c7b5fb585-{s}", phase="Pending", node="laojun", statuses=[waiting])
        for s in ("lw9rr", "pqd8j", "stkdm")
    ]
    for p in creating:
        p["metadata"]["creationTimestamp"] = ago(22 * SEC)
    assert kubectl_text(to_table("Pod", creating, now=NOW)) == transcript("""
        NAME                           READY   STATUS              RESTARTS   AGE
        myapp-deploy-c7b5fb585-lw9rr   0/1     ContainerCreating   0          22s
        myapp-deploy-c7b5fb585-pqd8j   0/1     ContainerCreating   0          22s
        myapp-deploy-c7b5fb585-stkdm   0/1     ContainerCreating   0          22s
    """)


def init_pod(*states: Obj, restarts: int = 0) -> Obj:
    names = [f"init-{i}" for i in range(len(states))]
    inits = [{"name": n, "ready": False, "restartCount": restarts, "state": s}
             for n, s in zip(names, states, strict=True)]  # fmt: skip
    return pod("web-init", phase="Pending", node="laojun",
               statuses=[cstatus(ready=False, waiting={"reason": "PodInitializing"})],
               spec={"initContainers": [{"name": n, "image": "busybox"} for n in names]},
               status={"initContainerStatuses": inits})  # fmt: skip


# fmt: off
SIDECAR = pod(
    "sidecar", statuses=[cstatus()], conditions=READY_CONDITIONS,
    spec={"initContainers": [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]},
    status={"initContainerStatuses": [{
        **cstatus("proxy", restarts=1),
        "lastState": {"terminated": {"exitCode": 137, "finishedAt": ago(5 * MIN)}}}]},
)
CRASHING = {**cstatus(ready=False, restarts=5, waiting={"reason": "CrashLoopBackOff"}),
            "lastState": LAST_CRASH}
GATED = [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]
DONE = cstatus(ready=False, **TERMINATED_OK)
HALF_DONE = [cstatus("a", ready=False, **TERMINATED_OK), cstatus("b")]


POD_STATUS_CASES = [
    (pod("pending", phase="Pending"), "0/1", "Pending", "0"),
    (pod("crash", statuses=[CRASHING]), "0/1", "CrashLoopBackOff", "5 (30s ago)"),
    (pod("restarted-no-time", statuses=[cstatus(restarts=2)]), "1/1", "Running", "2"),
    (pod("job", phase="Succeeded", statuses=[DONE]), "0/1", "Completed", "0"),
    (pod("half-done", containers=("a", "b"), conditions=READY_CONDITIONS, statuses=HALF_DONE),
     "1/2", "Running", "0"),
    (pod("half-done-unready", containers=("a", "b"), statuses=HALF_DONE), "1/2", "NotReady", "0"),
    (pod("oom", phase="Failed", statuses=[cstatus(ready=False, terminated={
        "exitCode": 137, "reason": "OOMKilled"})]), "0/1", "OOMKilled", "0"),
    (pod("exit", phase="Failed", statuses=[cstatus(ready=False, terminated={"exitCode": 2})]),
     "0/1", "ExitCode:2", "0"),
    (pod("signal", phase="Failed", statuses=[cstatus(ready=False, terminated={
        "exitCode": 0, "signal": 9})]), "0/1", "Signal:9", "0"),
    (pod("evicted", phase="Failed", status={"reason": "Evicted"}), "0/1", "Evicted", "0"),
    (pod("gated", phase="Pending", conditions=GATED), "0/1", "SchedulingGated", "0"),
    (pod("going", statuses=[cstatus()], metadata=DELETED), "1/1", "Terminating", "0"),
    (pod("lost", statuses=[cstatus()], status={"reason": "NodeLost"}, metadata=DELETED),
     "1/1", "Unknown", "0"),
    (pod("done-deleted", phase="Succeeded", statuses=[DONE], metadata=DELETED),
     "0/1", "Completed", "0"),
    (init_pod({"running": {}}, {"waiting": {"reason": "PodInitializing"}}), "0/1", "Init:0/2", "0"),
    (init_pod(TERMINATED_OK, {"running": {}}), "0/1", "Init:1/2", "0"),
    (init_pod({"waiting": {"reason": "CrashLoopBackOff"}}, restarts=3),
     "0/1", "Init:CrashLoopBackOff", "3"),
    (init_pod({"terminated": {"exitCode": 1, "reason": "Error"}}), "0/1", "Init:Error", "0"),
    (init_pod({"terminated": {"exitCode": 3}}), "0/1", "Init:ExitCode:3", "0"),
    (init_pod({"terminated": {"exitCode": 3, "signal": 15}}), "0/1", "Init:Signal:15", "0"),
    (init_pod(TERMINATED_OK, TERMINATED_OK), "0/1", "PodInitializing", "0"),
    (SIDECAR, "2/2", "Running", "1 (5m ago)"),
]
# fmt: on


@pytest.mark.parametrize(("obj", "ready", "status", "restarts"), POD_STATUS_CASES)
def test_pod_status(obj: Obj, ready: str, status: str, restarts: str) -> None:
    assert row_cells("Pod", obj, NOW)[1:4] == [ready, status, restarts]


def test_pod_wide_columns() -> None:
    gates = [{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}]
    extra = [{"type": "example.com/lb", "status": "True"}, {"type": "example.com/dns"}]
    ips = {"podIPs": [{"ip": "10.244.8.16"}, {"ip": "fd00::16"}], "nominatedNodeName": "shennong"}
    gated = pod("gates", node="kongming", statuses=[cstatus()], spec={"readinessGates": gates},
                conditions=READY_CONDITIONS + extra, status=ips)  # fmt: skip
    assert row_cells("Pod", gated, NOW)[5:] == ["10.244.8.16", "kongming", "shennong", "1/2"]


def test_pod_row_conditions() -> None:
    done, failed = pod("job", phase="Succeeded", statuses=[DONE]), pod("bad", phase="Failed")
    rows = to_table("Pod", [done, failed, MYAPP_PODS[0]], now=NOW)["rows"]
    message = "The pod has completed successfully."
    assert rows[0]["conditions"] == [
        {"type": "Completed", "status": "True", "reason": "Succeeded", "message": message}
    ]
    assert rows[1]["conditions"][0]["message"] == "The pod failed."
    assert "conditions" not in rows[2]


# --- Deployment and ReplicaSet ------------------------------------------------------------

POD_TEMPLATE = {
    "metadata": {"labels": {"app": "myapp", "release": "stabel", "env": "test"}},
    "spec": {"containers": [{"name": "myapp", "image": "wangyanglinux/myapp:v2",
                             "ports": [{"name": "http", "containerPort": 80}]}]},
}  # fmt: skip


def workload(kind: str, name: str, spec: Obj, status: Obj) -> Obj:
    return {"kind": kind, "apiVersion": "apps/v1", "metadata": meta(name, 62 * MIN),
            "spec": {"template": POD_TEMPLATE, **spec}, "status": status}  # fmt: skip


MYAPP_DEPLOY = workload(
    "Deployment", "myapp-deploy",
    {"replicas": 3, "selector": {"matchLabels": {"release": "stabel", "app": "myapp"}}},
    {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3},
)  # fmt: skip


def test_deployment() -> None:
    assert row_cells("Deployment", MYAPP_DEPLOY, NOW) == [
        "myapp-deploy", "3/3", 3, 3, "62m", "myapp", "wangyanglinux/myapp:v2",
        "app=myapp,release=stabel",
    ]  # fmt: skip
    assert kubectl_text(to_table("Deployment", [MYAPP_DEPLOY], now=NOW)) == transcript("""
        NAME           READY   UP-TO-DATE   AVAILABLE   AGE
        myapp-deploy   3/3     3            3           62m
    """)
    scaling = workload("Deployment", "web", {"replicas": 5},
                       {"replicas": 3, "updatedReplicas": 2, "readyReplicas": 1})  # fmt: skip
    assert row_cells("Deployment", scaling, NOW)[1:4] == ["1/5", 2, 0]
    assert row_cells("Deployment", workload("Deployment", "web", {}, {}), NOW)[1:4] == ["0/1", 0, 0]


# fmt: off
EXPRESSIONS = [
    {"key": "tier", "operator": "In", "values": ["web", "cache"]},
    {"key": "canary", "operator": "DoesNotExist"},
    {"key": "env", "operator": "NotIn", "values": ["prod"]},
    {"key": "app", "operator": "Exists"},
]
FULL = "app=web,app,!canary,env notin (prod),tier in (cache,web)"


SELECTOR_CASES = [
    ({"matchLabels": {"app": "web"}, "matchExpressions": EXPRESSIONS}, FULL, FULL),
    ({}, "", "<none>"),
    (None, "", "<none>"),
    ({"matchExpressions": [{"key": "tier", "operator": "Near", "values": ["x"]}]},
     "<invalid>", "<error>"),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": []}]},
     "<invalid>", "<error>"),
    ({"matchLabels": {"bad key!": "x"}}, "<invalid>", "<error>"),
    ({"matchLabels": {"example.com/app": "web-1.0_b"}}, "example.com/app=web-1.0_b",
     "example.com/app=web-1.0_b"),
]
# fmt: on


@pytest.mark.parametrize(("selector", "deployment_cell", "replica_set_cell"), SELECTOR_CASES)
def test_workload_selectors(
    selector: Obj | None, deployment_cell: str, replica_set_cell: str
) -> None:
    spec = {"replicas": 1} if selector is None else {"replicas": 1, "selector": selector}
    deploy, rs = workload("Deployment", "web", spec, {}), workload("ReplicaSet", "web-5d", spec, {})
    assert row_cells("Deployment", deploy, NOW)[-1] == deployment_cell
    assert row_cells("ReplicaSet", rs, NOW)[-1] == replica_set_cell


def test_replica_set() -> None:
    labels = {"app": "myapp", "release": "stabel", "pod-template-hash": "c7b5fb585"}
    rs = workload("ReplicaSet", "myapp-deploy-c7b5fb585",
                  {"replicas": 3, "selector": {"matchLabels": labels}},
                  {"replicas": 3, "readyReplicas": 2, "availableReplicas": 2})  # fmt: skip
    assert row_cells("ReplicaSet", rs, NOW) == [
        "myapp-deploy-c7b5fb585", 3, 3, 2, "62m", "myapp", "wangyanglinux/myapp:v2",
        "app=myapp,pod-template-hash=c7b5fb585,release=stabel",
    ]  # fmt: skip


# --- Ingress and IngressClass -------------------------------------------------------------


def ingress(spec: Obj, lb: list[Obj] | None = None) -> Obj:
    return {"kind": "Ingress", "apiVersion": "networking.k8s.io/v1",
            "metadata": meta("myapp-ingress", 5 * HOUR), "spec": spec,
            "status": {"loadBalancer": {"ingress": lb} if lb else {}}}  # fmt: skip


def rule(host: str = "") -> Obj:
    backend = {"service": {"name": "myapp", "port": {"number": 80}}}
    paths = [{"path": "/", "pathType": "Prefix", "backend": backend}]
    return ({"host": host} if host else {}) | {"http": {"paths": paths}}


# fmt: off
INGRESS_CASES = [
    (ingress({"ingressClassName": "nginx", "rules": [rule("www1.atguigu.com")]},
             [{"ip": "192.168.66.10"}]), ["nginx", "www1.atguigu.com", "192.168.66.10", "80"]),
    (ingress({"rules": [rule()], "tls": [{"hosts": ["a.example.com"], "secretName": "t"}]}),
     ["<none>", "*", "", "80, 443"]),
    (ingress({"defaultBackend": {"service": {"name": "myapp", "port": {"number": 80}}}}),
     ["<none>", "*", "", "80"]),
    (ingress({"rules": [rule("a.com"), rule(), rule("b.com"), rule("c.com"), rule("d.com")]},
             [{"hostname": "lb.example.com"}, {"ip": "10.0.0.2"}, {"ip": "10.0.0.1"}]),
     ["<none>", "a.com,b.com,c.com + 2 more...", "10.0.0.1,10.0.0.2,lb.example.com", "80"]),
]
# fmt: on


@pytest.mark.parametrize(("obj", "cells"), INGRESS_CASES)
def test_ingress(obj: Obj, cells: list[str]) -> None:
    assert row_cells("Ingress", obj, NOW) == ["myapp-ingress", *cells, "5h"]


def test_ingress_class() -> None:
    def ingress_class(spec: Obj) -> Obj:
        return {"kind": "IngressClass", "apiVersion": "networking.k8s.io/v1",
                "metadata": meta("nginx", 3 * DAY, namespace=None), "spec": spec}  # fmt: skip

    params = {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}
    plain = ingress_class({"controller": "k8s.io/ingress-nginx"})
    custom = ingress_class({"controller": "example.com/ingress", "parameters": params})
    assert row_cells("IngressClass", plain, NOW) == [
        "nginx",
        "k8s.io/ingress-nginx",
        "<none>",
        "3d",
    ]
    assert row_cells("IngressClass", custom, NOW) == [
        "nginx", "example.com/ingress", "IngressParameters.k8s.example.com/external-lb", "3d",
    ]  # fmt: skip


# --- Node and Namespace -------------------------------------------------------------------

NODE_INFO = {"kubeletVersion": "v1.32.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
             "kernelVersion": "6.1.0-18-amd64",
             "containerRuntimeVersion": "containerd://1.7.13"}  # fmt: skip


def node(name: str, ready: str | None = "True", labels: Obj | None = None, **spec: Any) -> Obj:
    conditions = [{"type": "MemoryPressure", "status": "False"}]
    if ready is not None:
        conditions.append({"type": "Ready", "status": ready, "reason": "KubeletReady"})
    addresses = [{"type": "InternalIP", "address": "192.168.66.10"},
                 {"type": "Hostname", "address": name}]  # fmt: skip
    status = {"conditions": conditions, "addresses": addresses, "nodeInfo": NODE_INFO}
    return {"kind": "Node", "apiVersion": "v1", "spec": spec, "status": status,
            "metadata": meta(name, 114 * DAY, namespace=None, labels=labels or {})}  # fmt: skip


def test_node() -> None:
    labels = {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/hostname": "k8s-master"}
    assert row_cells("Node", node("k8s-master", labels=labels), NOW) == [
        "k8s-master", "Ready", "control-plane", "114d", "v1.32.0", "192.168.66.10", "<none>",
        "Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64", "containerd://1.7.13",
    ]  # fmt: skip
    assert row_cells("Node", {"metadata": {"name": "n1"}}, NOW) == [
        "n1", "Unknown", "<none>", "<unknown>", "", "<none>", "<none>", "<unknown>", "<unknown>",
        "<unknown>",
    ]  # fmt: skip


# fmt: off
NODE_CASES = [
    (node("laojun", ready="False"), "NotReady", "<none>"),
    (node("laojun", ready="Unknown", unschedulable=True), "NotReady,SchedulingDisabled", "<none>"),
    (node("laojun", ready=None), "Unknown", "<none>"),
    (node("laojun", labels={"kubernetes.io/role": "worker", "node-role.kubernetes.io/": "",
                            "node-role.kubernetes.io/infra": "x"}), "Ready", "infra,worker"),
]
# fmt: on


@pytest.mark.parametrize(("obj", "status", "roles"), NODE_CASES)
def test_node_status_and_roles(obj: Obj, status: str, roles: str) -> None:
    assert row_cells("Node", obj, NOW)[1:3] == [status, roles]


def test_namespace() -> None:
    ns = {"kind": "Namespace", "apiVersion": "v1", "metadata": meta("default", 114 * DAY, None),
          "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}  # fmt: skip
    assert row_cells("Namespace", ns, NOW) == ["default", "Active", "114d"]
    gone = ns | {"status": {"phase": "Terminating"}}
    assert row_cells("Namespace", gone, NOW) == ["default", "Terminating", "114d"]


# --- Event --------------------------------------------------------------------------------

INVOLVED = {"kind": "Pod", "namespace": "default", "name": "myapp-deploy-c7b5fb585-lw9rr",
            "uid": "uid-1", "apiVersion": "v1"}  # fmt: skip
PULLED = 'Container image "wangyanglinux/myapp:v2" already present on machine'
ASSIGNED = "Successfully assigned default/myapp-deploy-c7b5fb585-lw9rr to zhangliang"


def test_event_from_the_kubelet() -> None:
    event = {
        "kind": "Event", "apiVersion": "v1", "metadata": meta("lw9rr.17d8", 10 * MIN),
        "involvedObject": INVOLVED | {"fieldPath": "spec.containers{myapp}"}, "reason": "Pulled",
        "type": "Normal", "message": PULLED + "\n", "count": 3,
        "source": {"component": "kubelet", "host": "zhangliang"},
        "firstTimestamp": ago(10 * MIN), "lastTimestamp": ago(61 * SEC),
    }  # fmt: skip
    assert row_cells("Event", event, NOW) == [
        "61s", "Normal", "Pulled", "pod/myapp-deploy-c7b5fb585-lw9rr", "spec.containers{myapp}",
        "kubelet, zhangliang", PULLED, "10m", 3, "lw9rr.17d8",
    ]  # fmt: skip


def test_event_from_the_events_api() -> None:
    scheduled = {
        "kind": "Event", "apiVersion": "v1", "metadata": meta("lw9rr.1", 62 * MIN),
        "involvedObject": INVOLVED, "reason": "Scheduled", "type": "Normal", "message": ASSIGNED,
        "source": {}, "firstTimestamp": None, "lastTimestamp": None, "action": "Binding",
        "eventTime": ago(62 * MIN + 0.5 * SEC), "reportingComponent": "default-scheduler",
        "reportingInstance": "default-scheduler-k8s-master",
    }  # fmt: skip
    assert row_cells("Event", scheduled, NOW) == [
        "62m", "Normal", "Scheduled", "pod/myapp-deploy-c7b5fb585-lw9rr", "",
        "default-scheduler, default-scheduler-k8s-master", ASSIGNED, "62m", 1, "lw9rr.1",
    ]  # fmt: skip
    series = scheduled | {"involvedObject": {"kind": "Node"}, "reportingInstance": "",
                          "series": {"count": 7, "lastObservedTime": ago(30 * SEC)}}  # fmt: skip
    assert row_cells("Event", series, NOW)[:9] == [
        "30s", "Normal", "Scheduled", "node", "", "default-scheduler", ASSIGNED, "62m", 7,
    ]  # fmt: skip
    assert row_cells("Event", {}, NOW) == [
        "<unknown>", "", "", "", "", "", "", "<unknown>", 1, "",
    ]  # fmt: skip


# --- ConfigMap, Secret, ServiceAccount, Lease ---------------------------------------------


def test_small_kinds() -> None:
    cm = {
        "metadata": meta("kube-root-ca.crt", 114 * DAY),
        "data": {"ca.crt": "-----BEGIN"},
        "binaryData": {"logo": "iVBO"},
    }
    tls = {
        "metadata": meta("web-tls", 2 * HOUR),
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "LS0t", "tls.key": "LS0t"},
    }
    opaque = {
        "metadata": meta("creds", 2 * HOUR),
        "data": {"user": "YQ=="},
        "stringData": {"user": "a", "password": "b"},
    }
    sa = {"metadata": meta("default", 114 * DAY)}
    lease = {
        "metadata": meta("kube-controller-manager", 114 * DAY),
        "spec": {"holderIdentity": "k8s-master_4f1c", "leaseDurationSeconds": 15},
    }
    assert row_cells("ConfigMap", cm, NOW) == ["kube-root-ca.crt", 2, "114d"]
    assert row_cells("Secret", tls, NOW) == ["web-tls", "kubernetes.io/tls", 2, "120m"]
    assert row_cells("Secret", opaque, NOW) == ["creds", "Opaque", 2, "120m"]
    assert row_cells("ServiceAccount", sa, NOW) == ["default", 0, "114d"]
    assert row_cells("ServiceAccount", sa | {"secrets": [{"name": "tok"}]}, NOW)[1] == 1
    assert row_cells("Lease", lease, NOW) == ["kube-controller-manager", "k8s-master_4f1c", "114d"]
    nobody = {"metadata": meta("nobody", 60 * SEC)}
    assert row_cells("Lease", nobody, NOW) == ["nobody", "", "60s"]


# --- default printer, columns, tables -----------------------------------------------------


def test_default_printer_for_other_kinds() -> None:
    name_col, age_col = columns("Pod")[0], columns("Pod")[4]
    assert columns("Widget") == [name_col, age_col | {"name": "Created At", "type": "date"}]
    assert row_cells("Widget", {"metadata": meta("w1", MIN)}, NOW) == ["w1", "2024-06-01T11:59:00Z"]
    assert row_cells("Widget", {"metadata": {"name": "w2"}}, NOW) == ["w2", "0001-01-01T00:00:00Z"]
    offset = {"metadata": {"name": "w3", "creationTimestamp": "2024-06-01T14:00:00+02:00"}}
    assert row_cells("Widget", offset, NOW) == ["w3", "2024-06-01T12:00:00Z"]


COLUMNS = {
    "Service": "Name Type Cluster-IP External-IP Port(s) Age | Selector",
    "Endpoints": "Name Endpoints Age",
    "EndpointSlice": "Name AddressType Ports Endpoints Age",
    "Pod": "Name Ready Status Restarts Age | IP Node Nominated_Node Readiness_Gates",
    "Deployment": "Name Ready Up-to-date Available Age | Containers Images Selector",
    "ReplicaSet": "Name Desired:integer Current:integer Ready:integer Age"
    " | Containers Images Selector",
    "Ingress": "Name Class Hosts Address Ports Age",
    "IngressClass": "Name Controller Parameters Age",
    "Node": "Name Status Roles Age Version"
    " | Internal-IP External-IP OS-Image Kernel-Version Container-Runtime",
    "Namespace": "Name Status Age",
    "ConfigMap": "Name Data Age",
    "Secret": "Name Type Data Age",
    "ServiceAccount": "Name Secrets Age",
    "Lease": "Name Holder Age",
}


@pytest.mark.parametrize("kind", sorted(COLUMNS))
def test_columns(kind: str) -> None:
    """`A B | C D`: A and B at priority 0, C and D at 1; `:integer` marks a non-string type."""
    defs = columns(kind)
    rendered = " ".join(
        d["name"].replace(" ", "_") + ("" if d["type"] == "string" else f":{d['type']}")
        + (" |" if d["priority"] == 0 and i + 1 < len(defs) and defs[i + 1]["priority"] else "")
        for i, d in enumerate(defs)
    )  # fmt: skip
    assert rendered == COLUMNS[kind]
    assert defs[0]["format"] == "name" and all(d["format"] == "" for d in defs[1:])
    assert all(d["description"] for d in defs)


def test_event_columns_upstream_order() -> None:
    assert [(d["name"], d["priority"], d["format"]) for d in columns("Event")] == [
        ("Last Seen", 0, ""), ("Type", 0, ""), ("Reason", 0, ""), ("Object", 0, ""),
        ("Subobject", 1, ""), ("Source", 1, ""), ("Message", 0, ""), ("First Seen", 1, ""),
        ("Count", 1, ""), ("Name", 1, "name"),
    ]  # fmt: skip


def test_to_table_shapes() -> None:
    table = to_table("Service", [MYAPP], now=NOW, resource_version="144", continue_token="eyJ2")
    assert table == {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": "144", "continue": "eyJ2"},
        "columnDefinitions": columns("Service"),
        "rows": [{"cells": row_cells("Service", MYAPP, NOW),
                  "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": MYAPP["metadata"]}}],
    }  # fmt: skip
    full = to_table("Service", [MYAPP], now=NOW, include_object="Object")
    assert full["rows"][0]["object"] == MYAPP and full["metadata"] == {}
    bare = to_table("Service", [MYAPP], now=NOW, include_object="None")
    assert bare["rows"] == [{"cells": row_cells("Service", MYAPP, NOW)}]
    default = to_table("Service", [MYAPP], now=NOW, include_object="")
    assert default["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    beta = to_table("Service", [MYAPP], now=NOW, api_version="meta.k8s.io/v1beta1")
    assert beta["apiVersion"] == beta["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1"


def test_to_table_empty_and_errors() -> None:
    empty = to_table("Pod", [], now=NOW, resource_version="9")
    assert empty["rows"] == [] and len(empty["columnDefinitions"]) == 9
    with pytest.raises(ValueError, match=r'^unrecognized includeObject value: "Everything"$'):
        to_table("Pod", [], now=NOW, include_object="Everything")


# --- robustness ---------------------------------------------------------------------------

# fmt: off
FIELD_NAMES = [
    "metadata", "name", "creationTimestamp", "deletionTimestamp", "labels", "spec", "status",
    "type", "clusterIP", "clusterIPs", "externalIPs", "externalName", "ports", "port", "nodePort",
    "protocol", "selector", "matchLabels", "matchExpressions", "key", "operator", "values",
    "loadBalancer", "ingress", "ip", "hostname", "subsets", "addresses", "endpoints",
    "addressType", "containers", "initContainers", "restartPolicy", "containerStatuses",
    "initContainerStatuses", "state", "waiting", "running", "terminated", "reason", "exitCode",
    "signal", "lastState", "finishedAt", "restartCount", "ready", "started", "conditions",
    "phase", "podIP", "podIPs", "nodeName", "nominatedNodeName", "readinessGates",
    "conditionType", "replicas", "readyReplicas", "template", "rules", "host", "tls",
    "ingressClassName", "parameters", "apiGroup", "kind", "unschedulable", "nodeInfo",
    "involvedObject", "series", "count", "eventTime", "firstTimestamp", "lastTimestamp",
    "source", "data", "stringData", "binaryData", "secrets", "holderIdentity", "controller",
]
WORDS = ["2024-06-01T11:00:00Z", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+05:00",
         "9999-12-31T23:59:59-14:00", "2024-06-01T11:59:59.5Z", "yesterday", "", "True", "Ready",
         "In", "Exists", "ClusterIP", "LoadBalancer", "ExternalName", "Always", "Completed"]
# fmt: on
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
JSON = st.recursive(
    SCALARS | st.sampled_from(WORDS),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=3), inner, max_size=6)
    ),
    max_leaves=40,
)
KINDS = st.sampled_from([*sorted(PRINTERS), "Widget"])


@settings(max_examples=300, deadline=None)
@given(kind=KINDS, obj=st.dictionaries(st.sampled_from(FIELD_NAMES), JSON, max_size=6),
       now=st.datetimes(timezones=st.none() | st.just(UTC)))  # fmt: skip
def test_printers_never_raise(kind: str, obj: Obj, now: datetime) -> None:
    cells = row_cells(kind, obj, now)
    assert len(cells) == len(columns(kind))
    assert all(
        isinstance(c, str) or (isinstance(c, int) and not isinstance(c, bool)) for c in cells
    )
    for include in ("Metadata", "Object", "None"):
        assert to_table(kind, [obj], now=now, include_object=include)["rows"][0]["cells"] == cells


REALISTIC = [("Service", NODEPORT), ("Pod", MYAPP_PODS[0]), ("Pod", SIDECAR),
             ("Deployment", MYAPP_DEPLOY), ("Event", {"involvedObject": INVOLVED})]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mangled_realistic_objects_never_raise(data: st.DataObject) -> None:
    kind, obj = data.draw(st.sampled_from(REALISTIC))
    cells = row_cells(kind, _mangle(obj, data), NOW)
    assert len(cells) == len(columns(kind))


def _mangle(value: Any, data: st.DataObject) -> Any:
    """A copy of `value` in which some subtrees are replaced by arbitrary JSON."""
    if data.draw(st.integers(0, 9)) == 0:
        return data.draw(JSON)
    if isinstance(value, dict):
        return {k: _mangle(v, data) for k, v in value.items()}
    if isinstance(value, list):
        return [_mangle(v, data) for v in value]
    return value
