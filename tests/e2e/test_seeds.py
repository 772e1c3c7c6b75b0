"""The user's four notes (../shared/seeds/) replayed command for command against `kubesvc up`.

One cluster per proxy mode that works on this machine; within a mode the tests run in the notes'
order and build on each other, as a reader following the walkthrough would. Each output is
compared with the note's, allowing only what must differ: addresses, ages, random name suffixes,
NodePort numbers, node names, and where kube-proxy itself changed since the note was written
(rule comments and the probability's precision; see docs/proxy-modes.md).

Commands the notes run "on the master" run here on a node, through `kubesvc node-shell`; commands
the notes run inside a pod run through `kubectl exec`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import POD_WIDE_HEADER, Kubectl
from tests.e2e.harness import (
    SEEDS,
    Cluster,
    eventually,
    pods,
    running_ready,
)

MODES = ["iptables", "userspace"]
AGE = r"\d+[smhdy](\d+[smhd])?"
HELLO = 'Hello MyApp | Version: v2 | <a href="hostname.html">Pod Name</a>\n'
POD_NAME = r"{}-[a-z0-9]{{8,10}}-[a-z0-9]{{5}}"


@pytest.fixture(scope="module", params=MODES)
def cluster_args(request: pytest.FixtureRequest) -> tuple[str, ...]:
    return ("--proxy-mode", str(request.param))


@pytest.fixture(scope="module")
def mode(cluster: Cluster) -> str:
    return str(cluster.extra[cluster.extra.index("--proxy-mode") + 1])


def rows(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.strip().splitlines()]


def curl(cluster: Cluster, node: str, url: str) -> subprocess.CompletedProcess[str]:
    return cluster.node_run(node, "curl", "-s", "--max-time", "5", url)


def seen_over(cluster: Cluster, node: str, url: str, want: set[str], tries: int = 40) -> set[str]:
    """What `curl URL` answers, repeated until every answer in `want` came back (or `tries`)."""
    seen: set[str] = set()
    for _ in range(tries):
        seen.add(curl(cluster, node, url).stdout.strip())
        if want <= seen:
            break
    return seen


def dig(cluster: Cluster, node: str, *args: str) -> dict[str, Any]:
    """Run dig on a node and read its output back: header, flags, counts, answer records."""
    text = cluster.node_shell(node, "dig", *args)
    header = re.search(r"->>HEADER<<- opcode: (\w+), status: (\w+), id: \d+", text)
    flags = re.search(
        r";; flags: ([a-z ]+); QUERY: (\d+), ANSWER: (\d+), AUTHORITY: (\d+), ADDITIONAL: (\d+)",
        text,
    )
    assert header and flags, text
    answer: list[list[str]] = []
    section = re.search(r";; ANSWER SECTION:\n(.*?)\n\n", text, re.S)
    if section:
        answer = [line.split() for line in section.group(1).splitlines()]
    return {
        "text": text,
        "status": header.group(2),
        "flags": flags.group(1).split(),
        "answer_count": int(flags.group(3)),
        "answer": answer,
    }


def ready_pods(
    kubectl: Kubectl, selector: str, count: int, namespace: str = "default"
) -> list[Any]:
    def check() -> list[Any] | None:
        items = json.loads(kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json"))[
            "items"
        ]
        return items if running_ready(items, count) else None

    return list(eventually(check, what=f"{count} pods {selector} Running and Ready"))


def service(kubectl: Kubectl, name: str, namespace: str = "default") -> dict[str, Any]:
    return dict(json.loads(kubectl("get", "svc", name, "-n", namespace, "-o", "json")))


def coredns_ips(kubectl: Kubectl) -> list[str]:
    items = ready_pods(kubectl, "k8s-app=kube-dns", 2, namespace="kube-system")
    return sorted(p["status"]["podIP"] for p in items)


# ---- seed 001: the ClusterIP walkthrough --------------------------------------------------


def test_001_deployment_and_pods(cluster: Cluster, kubectl: Kubectl) -> None:
    out = kubectl("apply", "-f", str(SEEDS / "myapp-deploy.yaml"))
    assert out == "deployment.apps/myapp-deploy created\n"
    table = rows(kubectl("get", "pod", "-l", "app=myapp"))
    assert table[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert len(table) == 4
    for name, ready, status, restarts, age in table[1:]:
        assert re.fullmatch(POD_NAME.format("myapp-deploy"), name)
        assert ready in ("0/1", "1/1") and restarts == "0" and re.fullmatch(AGE, age)
        assert status in ("Pending", "ContainerCreating", "Running")
    items = ready_pods(kubectl, "app=myapp", 3)
    wide = rows(kubectl("get", "pod", "-o", "wide", "-l", "app=myapp"))
    assert wide[0] == POD_WIDE_HEADER
    for _name, ready, status, restarts, _age, ip, node, nominated, gates in wide[1:]:
        assert (ready, status, restarts, nominated, gates) == (
            "1/1",
            "Running",
            "0",
            "<none>",
            "<none>",
        )
        assert ip.startswith("10.244.") and re.fullmatch(r"node-[123]", node)
    # `curl 10.244.6.101` on the master: the pod answers
    for pod in items:
        assert curl(cluster, "node-1", pod["status"]["podIP"]).stdout == HELLO


def test_001_cluster_ip_service(cluster: Cluster, kubectl: Kubectl) -> None:
    out = kubectl("apply", "-f", str(SEEDS / "myapp-service.yaml"))
    assert out == "service/myapp created\n"
    table = rows(kubectl("get", "svc", "myapp"))
    assert table[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    name, kind, vip, external, ports, age = table[1]
    assert (name, kind, external, ports) == ("myapp", "ClusterIP", "<none>", "80/TCP")
    assert vip.startswith("10.") and re.fullmatch(AGE, age)
    default = rows(kubectl("get", "svc", "-n", "default"))
    assert ["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP"] in [r[:5] for r in default]
    assert eventually(lambda: curl(cluster, "node-1", vip).stdout == HELLO, what="curl the VIP")
    # `curl VIP/hostname.html` again and again: the answers rotate over the three pods
    names = {p["metadata"]["name"] for p in pods(kubectl, "app=myapp")}
    assert seen_over(cluster, "node-2", f"{vip}/hostname.html", names) == names


def test_001_ipvsadm() -> None:
    # no module tree (/lib/modules) or no ip_vs in it: the kernel cannot do IPVS
    modules = Path("/lib/modules") / os.uname().release
    if not Path("/proc/net/ip_vs").exists() and not list(modules.rglob("ip_vs.ko*")):
        pytest.skip("seed 001 `ipvsadm -Ln`: this kernel has no ip_vs module, so no IPVS mode")
    pytest.skip("seed 001 `ipvsadm -Ln`: the IPVS proxy mode is not built yet")


def test_001_headless_service_and_dig(cluster: Cluster, kubectl: Kubectl) -> None:
    out = kubectl("apply", "-f", str(SEEDS / "myapp-svc-headless.yaml"))
    assert out == "service/myapp-headless created\n"
    table = {r[0]: r for r in rows(kubectl("get", "svc"))[1:]}
    assert table["myapp-headless"][1:5] == ["ClusterIP", "None", "<none>", "80/TCP"]
    system = rows(kubectl("get", "pod", "-n", "kube-system", "-o", "wide"))
    coredns = [r for r in system[1:] if r[0].startswith("coredns-")]
    assert len(coredns) == 2
    for name, _ready, status, *_rest in coredns:
        assert re.fullmatch(POD_NAME.format("coredns"), name) and status == "Running"
    pod_ips = sorted(p["status"]["podIP"] for p in pods(kubectl, "app=myapp"))
    name = "myapp-headless.default.svc.cluster.local."
    for server in [*coredns_ips(kubectl), "10.96.0.10"]:

        def three(server: str = server) -> dict[str, Any] | None:
            reply = dig(cluster, "node-1", "-t", "A", name, f"@{server}")
            return reply if reply["answer_count"] == 3 else None

        reply = eventually(three, what=f"dig {name} @{server} answers three records")
        assert reply["status"] == "NOERROR"
        assert reply["flags"] == ["qr", "aa", "rd"]
        assert "WARNING: recursion requested but not available" in reply["text"]
        assert sorted(r[4] for r in reply["answer"]) == pod_ips
        assert all(r[:4] == [name, "30", "IN", "A"] for r in reply["answer"])


def test_001_node_port(cluster: Cluster, kubectl: Kubectl) -> None:
    assert kubectl("apply", "-f", str(SEEDS / "nodeport.yaml")) == "service/myapp configured\n"
    table = {r[0]: r for r in rows(kubectl("get", "svc"))[1:]}
    kind, vip, external, ports = table["myapp"][1:5]
    port = re.fullmatch(r"80:(\d+)/TCP", ports)
    assert kind == "NodePort" and external == "<none>" and port
    assert 30000 <= int(port.group(1)) <= 32767
    assert vip == service(kubectl, "myapp")["spec"]["clusterIP"]
    for node in ("node-1", "node-3"):
        assert eventually(
            lambda n=node: curl(cluster, n, f"localhost:{port.group(1)}").stdout == HELLO,
            what=f"curl localhost:NODEPORT on {node}",
        )


def test_001_external_name(cluster: Cluster, kubectl: Kubectl) -> None:
    assert kubectl("create", "-f", str(SEEDS / "ex.yaml")) == "service/my-service-1 created\n"
    table = {r[0]: r for r in rows(kubectl("get", "svc"))[1:]}
    assert table["my-service-1"][1:5] == ["ExternalName", "<none>", "hub.atguigu.com", "<none>"]
    assert table["myapp-headless"][1:5] == ["ClusterIP", "None", "<none>", "80/TCP"]
    name = "my-service-1.default.svc.cluster.local."
    reply = dig(cluster, "node-1", "-t", "A", name, f"@{coredns_ips(kubectl)[0]}")
    assert reply["status"] == "NOERROR" and reply["flags"] == ["qr", "aa", "rd"]
    assert reply["answer"][0] == [name, "30", "IN", "CNAME", "hub.atguigu.com."]


# ---- seed 002: how a Service works ------------------------------------------------------


def test_002_pods_and_endpoints(cluster: Cluster, kubectl: Kubectl) -> None:
    kubectl("apply", "-f", str(SEEDS / "hostnames.yaml"))
    items = ready_pods(kubectl, "app=hostnames", 3)
    for pod in items:
        # serve_hostname writes the name with no newline, as Kubernetes' image does
        answer = curl(cluster, "node-1", f"{pod['status']['podIP']}:9376").stdout
        assert answer == pod["metadata"]["name"]
    assert (
        kubectl("apply", "-f", str(SEEDS / "hostnames-svc.yaml")) == "service/hostnames created\n"
    )
    want = sorted(f"{p['status']['podIP']}:9376" for p in items)

    def endpoints() -> list[str] | None:
        table = rows(kubectl("get", "endpoints", "hostnames"))
        assert table[0] == ["NAME", "ENDPOINTS", "AGE"]
        return want if sorted(table[1][1].split(",")) == want else None

    eventually(endpoints, what="kubectl get endpoints lists the three pods")
    table = rows(kubectl("get", "service", "hostnames"))
    assert table[1][1] == "ClusterIP" and table[1][3:5] == ["<none>", "80/TCP"]
    vip = table[1][2]
    names = {p["metadata"]["name"] for p in items}
    assert seen_over(cluster, "node-1", f"{vip}:80", names) == names


def test_002_the_rules_on_a_node(cluster: Cluster, kubectl: Kubectl, mode: str) -> None:
    """Seed 002's `iptables-save | grep …` output is the iptables mode's; in userspace mode the
    same command shows that mode's portal rules redirecting the VIP to the proxy."""
    if mode == "userspace":
        userspace_portals(cluster, kubectl)
        return
    vip = service(kubectl, "hostnames")["spec"]["clusterIP"]
    ips = sorted(p["status"]["podIP"] for p in pods(kubectl, "app=hostnames"))
    saved = cluster.node_shell("node-1", "iptables-save")
    services = [ln for ln in saved.splitlines() if "KUBE-SERVICES" in ln and vip in ln]
    assert services == [
        f"-A KUBE-SERVICES -d {vip}/32 -p tcp -m comment --comment "
        '"default/hostnames:default cluster IP" -m tcp --dport 80 -j KUBE-SVC-ODX2UBAZM7RQWOIU'
    ]
    jumps = [
        ln
        for ln in saved.splitlines()
        if ln.startswith("-A KUBE-SVC-ODX2UBAZM7RQWOIU ") and "KUBE-SEP-" in ln
    ]
    probabilities = [re.search(r"--probability (\S+)", ln) for ln in jumps]
    assert [p.group(1) if p else None for p in probabilities] == [
        "0.33333333349",
        "0.50000000000",
        None,
    ]
    seps = [ln.split(" -j ")[-1] for ln in jumps]
    dnats = []
    for sep in seps:
        rule = [ln for ln in saved.splitlines() if ln.startswith(f"-A {sep} ") and "DNAT" in ln]
        assert len(rule) == 1 and re.fullmatch(
            rf'-A {sep} -p tcp -m comment --comment "default/hostnames:default" -m tcp '
            r"-j DNAT --to-destination (10\.244\.\d+\.\d+):9376",
            rule[0],
        )
        dnats.append(rule[0].rsplit(" ", 1)[1].split(":")[0])
    assert sorted(dnats) == ips


def userspace_portals(cluster: Cluster, kubectl: Kubectl) -> None:
    vip = service(kubectl, "hostnames")["spec"]["clusterIP"]
    saved = cluster.node_shell("node-1", "iptables-save", "-t", "nat")
    portals = [ln for ln in saved.splitlines() if vip in ln and "KUBE-PORTALS" in ln]
    assert len(portals) == 2  # KUBE-PORTALS-CONTAINER (REDIRECT) and KUBE-PORTALS-HOST (DNAT)
    for line in portals:
        assert re.fullmatch(
            rf"-A KUBE-PORTALS-(CONTAINER|HOST) -d {re.escape(vip)}/32 -p tcp -m comment "
            r'--comment "default/hostnames:default" -m tcp --dport 80 '
            r"-j (REDIRECT --to-ports \d+|DNAT --to-destination 172\.18\.0\.2:\d+)",
            line,
        ), line


def test_002_ping_vip_gets_no_answer(cluster: Cluster, kubectl: Kubectl) -> None:
    vip = service(kubectl, "hostnames")["spec"]["clusterIP"]
    result = cluster.node_run("node-2", "ping", "-c", "1", "-W", "1", vip)
    assert result.returncode != 0 and "1 received" not in result.stdout


READINESS = """
apiVersion: v1
kind: Pod
metadata:
  name: hostnames-unready
  labels: {app: hostnames}
spec:
  containers:
  - name: hostnames
    image: k8s.gcr.io/serve_hostname
    ports: [{containerPort: 9376}]
    readinessProbe:
      exec: {command: [test, -f, MARKER]}
      periodSeconds: 1
"""


def test_002_only_ready_pods_are_endpoints(
    cluster: Cluster, kubectl: Kubectl, tmp_path: Path
) -> None:
    marker = tmp_path / "ready"  # containers run on the host's file system
    kubectl("apply", "-f", "-", input=READINESS.replace("MARKER", str(marker)))
    ip = eventually(
        lambda: json.loads(kubectl("get", "pod", "hostnames-unready", "-o", "json"))["status"].get(
            "podIP"
        ),
        what="the unready pod runs",
    )

    def listed() -> bool:
        # (the table shows three addresses and "+ 1 more...", as kubectl's does: read the object)
        ep = json.loads(kubectl("get", "endpoints", "hostnames", "-o", "json"))
        ready = [a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []]
        return ip in ready

    eventually(lambda: rows(kubectl("get", "pod", "hostnames-unready"))[1][2] == "Running")
    assert not listed()
    vip = service(kubectl, "hostnames")["spec"]["clusterIP"]
    assert "hostnames-unready" not in seen_over(cluster, "node-3", f"{vip}:80", set(), tries=10)
    marker.write_text("ok")
    eventually(listed, what="the pod becomes an endpoint once its readiness probe passes")
    seen = seen_over(cluster, "node-3", f"{vip}:80", {"hostnames-unready"})
    assert "hostnames-unready" in seen
    marker.unlink()
    eventually(lambda: not listed(), what="removed again when the probe fails")
    kubectl("delete", "pod", "hostnames-unready", "--wait=false")


def test_002_session_affinity(cluster: Cluster, kubectl: Kubectl, mode: str) -> None:
    kubectl("patch", "svc", "hostnames", "-p", '{"spec":{"sessionAffinity":"ClientIP"}}')
    spec = service(kubectl, "hostnames")["spec"]
    assert spec["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    if mode == "iptables":
        eventually(
            lambda: (
                "--rcheck --seconds 10800 --reap" in cluster.node_shell("node-2", "iptables-save")
            ),
            what="the affinity rules",
        )
    else:
        time.sleep(2)  # the proxy picks the change up; nothing to see from outside it
    answers = {curl(cluster, "node-2", f"{spec['clusterIP']}:80").stdout for _ in range(8)}
    assert len(answers) == 1
    kubectl("patch", "svc", "hostnames", "-p", '{"spec":{"sessionAffinity":"None"}}')


# ---- seed 000: discovery by environment variables and DNS, one VIP per Service ----------

REDIS = """
apiVersion: v1
kind: Service
metadata: {name: redis-master}
spec:
  selector: {app: redis}
  ports: [{port: 6379, targetPort: 6379}]
"""

CLIENT = """
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: NS}
spec:
  containers:
  - name: c
    image: busybox
    command: [sleep, "3600"]
"""

MY_SERVICE = """
apiVersion: v1
kind: Namespace
metadata: {name: my-ns}
---
apiVersion: v1
kind: Service
metadata: {name: my-service, namespace: my-ns}
spec:
  selector: {app: myapp}
  ports: [{name: http, port: 80, targetPort: 80}]
"""


def test_000_environment_variables(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=REDIS)
    vip = service(kubectl, "redis-master")["spec"]["clusterIP"]
    kubectl("apply", "-f", "-", input=CLIENT.replace("NS", "default"))
    eventually(lambda: running_ready(pods(kubectl, "!app"), 1) or None, what="client running")
    env = kubectl("exec", "client", "--", "env").splitlines()
    redis = sorted(line for line in env if line.startswith("REDIS_MASTER_"))
    assert redis == sorted(
        [
            f"REDIS_MASTER_SERVICE_HOST={vip}",
            "REDIS_MASTER_SERVICE_PORT=6379",
            f"REDIS_MASTER_PORT=tcp://{vip}:6379",
            f"REDIS_MASTER_PORT_6379_TCP=tcp://{vip}:6379",
            "REDIS_MASTER_PORT_6379_TCP_PROTO=tcp",
            "REDIS_MASTER_PORT_6379_TCP_PORT=6379",
            f"REDIS_MASTER_PORT_6379_TCP_ADDR={vip}",
        ]
    )


def test_000_dns_names_from_pods(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=MY_SERVICE)
    kubectl("apply", "-f", "-", input=CLIENT.replace("NS", "my-ns"))
    eventually(
        lambda: (
            running_ready(
                json.loads(kubectl("get", "pods", "-n", "my-ns", "-o", "json"))["items"], 1
            )
            or None
        ),
        what="the client in my-ns runs",
    )
    vip = service(kubectl, "my-service", "my-ns")["spec"]["clusterIP"]
    resolv = kubectl("exec", "-n", "my-ns", "client", "--", "cat", "/etc/resolv.conf")
    assert "search my-ns.svc.cluster.local svc.cluster.local cluster.local" in resolv
    assert "nameserver 10.96.0.10" in resolv and "options ndots:5" in resolv

    def lookup(ns: str, *args: str) -> subprocess.CompletedProcess[str]:
        return kubectl.run("exec", "-n", ns, "client", "--", "nslookup", *args, check=False)

    # in my-ns, the short name and name.namespace both resolve to the VIP
    for name in ("my-service", "my-service.my-ns"):
        out = eventually(
            lambda n=name: (lambda r: r.stdout if r.returncode == 0 else None)(lookup("my-ns", n)),
            what=f"nslookup {name} in my-ns",
        )
        assert f"Address: {vip}" in out and "my-service.my-ns.svc.cluster.local" in out
    # other namespaces must use my-service.my-ns
    assert lookup("default", "my-service").returncode != 0
    assert f"Address: {vip}" in lookup("default", "my-service.my-ns").stdout
    # the named port: SRV _http._tcp.my-service.my-ns
    srv = lookup("default", "-type=SRV", "_http._tcp.my-service.my-ns").stdout
    assert "service = 0 100 80 my-service.my-ns.svc.cluster.local." in srv


def test_000_one_vip_per_service(kubectl: Kubectl) -> None:
    vip = service(kubectl, "redis-master")["spec"]["clusterIP"]
    clash = REDIS.replace("redis-master", "redis-copy").replace(
        "selector:", f"clusterIP: {vip}\n  selector:"
    )
    result = kubectl.run("create", "-f", "-", input=clash, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f'The Service "redis-copy" is invalid: spec.clusterIPs: Invalid value: '
        f'[]string{{"{vip}"}}: failed to allocate IP {vip}: provided IP is already allocated'
    )
    assert kubectl.run("get", "svc", "redis-copy", check=False).returncode == 1


FLAKY = """
apiVersion: v1
kind: Service
metadata: {name: flaky}
spec:
  ports: [{name: http, port: 80, targetPort: 9376}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: flaky-1
  labels: {kubernetes.io/service-name: flaky}
addressType: IPv4
ports: [{name: http, port: 9376, protocol: TCP}]
endpoints:
- addresses: [LIVE]
- addresses: [DEAD]
"""


def test_000_a_dead_backend_userspace_retries_iptables_fails(
    cluster: Cluster, kubectl: Kubectl, mode: str
) -> None:
    """Seed 000: in iptables mode a connection sent to a backend that does not answer fails;
    the userspace proxy tries another backend. DEAD is a pod address where nothing listens."""
    live = pods(kubectl, "app=hostnames")[0]
    dead = pods(kubectl, "app=myapp")[0]["status"]["podIP"]  # nothing on 9376 there
    kubectl(
        "apply",
        "-f",
        "-",
        input=FLAKY.replace("LIVE", live["status"]["podIP"]).replace("DEAD", dead),
    )
    vip = service(kubectl, "flaky")["spec"]["clusterIP"]
    eventually(
        lambda: curl(cluster, "node-1", f"{vip}:80").stdout.strip() == live["metadata"]["name"],
        what="the live backend answers through the VIP",
    )
    results = [curl(cluster, "node-1", f"{vip}:80").returncode for _ in range(20)]
    if mode == "iptables":
        assert any(rc != 0 for rc in results), "iptables mode has no retry: some must fail"
    else:
        assert results == [0] * 20, "userspace mode retries another backend"
