"""A whole cluster from `kubesvc up`: nodes in namespaces, pods as processes, endpoints.

Needs root (network namespaces). Every assertion is made with the real tools: kubectl for the
objects, `kubesvc node-shell` + curl for traffic (only to pod addresses inside the namespaces this
cluster made), /proc for a container's environment. The cluster is torn down at the end and the
test checks that no namespace, link or process of it is left.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import KUBECTL, POD_WIDE_HEADER, ROOT, Kubectl
from tests.e2e.harness import (
    SEEDS,
    Cluster,
    eventually,
    pods,
    running_ready,
)


def test_nodes_ready(kubectl: Kubectl) -> None:
    table = kubectl("get", "nodes", "-o", "wide").strip().splitlines()
    assert table[0].split()[:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    rows = [re.split(r"\s{2,}", line) for line in table[1:]]
    assert [r[0] for r in rows] == ["node-1", "node-2", "node-3"]
    assert all(r[1] == "Ready" for r in rows)
    assert [r[5] for r in rows] == ["172.18.0.2", "172.18.0.3", "172.18.0.4"]


def test_seed_001_pods_answer(cluster: Cluster, kubectl: Kubectl) -> None:
    assert kubectl("apply", "-f", str(SEEDS / "myapp-deploy.yaml")) == (
        "deployment.apps/myapp-deploy created\n"
    )
    items = eventually(
        lambda: (lambda i: i if running_ready(i, 3) else None)(pods(kubectl, "app=myapp")),
        what="3 myapp pods Running and Ready",
    )
    table = kubectl("get", "pod", "-o", "wide", "-l", "app=myapp").strip().splitlines()
    assert re.split(r"\s{2,}", table[0]) == POD_WIDE_HEADER
    for line in table[1:]:
        name, ready, status, restarts, _age, ip, node, nominated, gates = re.split(r"\s{2,}", line)
        assert re.fullmatch(r"myapp-deploy-[a-z0-9]{8,10}-[a-z0-9]{5}", name)
        assert (ready, status, restarts, nominated, gates) == (
            "1/1",
            "Running",
            "0",
            "<none>",
            "<none>",
        )
        assert ip.startswith("10.244.") and node.startswith("node-")
    assert len({p["spec"]["nodeName"] for p in items}) >= 2
    pod = items[0]
    ip = pod["status"]["podIP"]
    page = cluster.node_shell("node-2", "curl", "-s", "--max-time", "5", f"http://{ip}/")
    assert page == 'Hello MyApp | Version: v2 | <a href="hostname.html">Pod Name</a>\n'
    name = cluster.node_shell(
        "node-3", "curl", "-s", "--max-time", "5", f"http://{ip}/hostname.html"
    )
    assert name.strip() == pod["metadata"]["name"]


def test_seed_002_endpoints(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", str(SEEDS / "hostnames.yaml"))
    kubectl("apply", "-f", str(SEEDS / "hostnames-svc.yaml"))
    items = eventually(
        lambda: (lambda i: i if running_ready(i, 3) else None)(pods(kubectl, "app=hostnames")),
        what="3 hostnames pods ready",
    )
    ips = sorted(p["status"]["podIP"] for p in items)

    def endpoints() -> str | None:
        row = kubectl("get", "endpoints", "hostnames").strip().splitlines()[1]
        cell = re.split(r"\s{2,}", row)[1]
        return cell if sorted(cell.split(",")) == sorted(f"{ip}:9376" for ip in ips) else None

    eventually(endpoints, what="endpoints list the three pods")


def test_kubectl_logs(cluster: Cluster, kubectl: Kubectl) -> None:
    pod = pods(kubectl, "app=myapp")[0]
    name, ip = pod["metadata"]["name"], pod["status"]["podIP"]
    node = pod["spec"]["nodeName"]
    for _ in range(3):
        cluster.node_shell(node, "curl", "-s", "--max-time", "5", f"http://{ip}/hostname.html")
    lines = kubectl("logs", name).splitlines()
    assert len(lines) >= 3 and all('"GET /hostname.html HTTP/1.1" 200' in ln for ln in lines[-3:])
    last = kubectl("logs", name, "--tail=1", "--timestamps").splitlines()
    assert len(last) == 1
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ", last[0])
    assert kubectl("logs", "deploy/myapp-deploy", "--tail=1").count("\n") == 1
    cmd = [
        KUBECTL,
        "--kubeconfig",
        str(kubectl.kubeconfig),
        "--cache-dir",
        str(kubectl.cache_dir),
        "logs",
        "-f",
        "--tail=0",
        name,
    ]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as follow:
        try:
            time.sleep(1.5)
            cluster.node_shell(node, "curl", "-s", "--max-time", "5", f"http://{ip}/")
            time.sleep(1.5)
        finally:
            follow.terminate()
            out, _ = follow.communicate(timeout=10)
    assert b'"GET / HTTP/1.1" 200' in out
    previous = kubectl.run("logs", name, "-p", check=False)
    assert previous.returncode == 1
    assert f'previous terminated container "myapp" in pod "{name}" not found' in previous.stderr


def test_cluster_ip_and_node_port_through_iptables(cluster: Cluster, kubectl: Kubectl) -> None:
    svc = json.loads(kubectl("get", "svc", "hostnames", "-o", "json"))
    vip = svc["spec"]["clusterIP"]
    names = {p["metadata"]["name"] for p in pods(kubectl, "app=hostnames")}

    def answered() -> set[str]:
        seen = set()
        for _ in range(30):
            seen.add(cluster.node_shell("node-1", "curl", "-s", "--max-time", "3", f"{vip}:80"))
        return seen

    # kube-proxy's rules pick among the three pods: every answer is one of them
    seen = eventually(
        lambda: (lambda s: s if len(s) >= 2 else None)(answered()),
        what="the VIP rotates over the pods",
    )
    assert seen <= names
    rules = cluster.node_shell("node-2", "iptables-save", "-t", "nat")
    assert (
        "-A KUBE-SERVICES -d " + vip + "/32 -p tcp -m comment --comment "
        '"default/hostnames:default cluster IP" -m tcp --dport 80 '
        "-j KUBE-SVC-ODX2UBAZM7RQWOIU"
    ) in rules
    assert rules.count("-j DNAT --to-destination ") >= 3
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubesvc.cli.main",
            "rules",
            "--data-dir",
            str(cluster.data_dir),
            "node-2",
        ],
        capture_output=True,
        text=True,
        timeout=20,
        cwd=ROOT,
    )
    assert shown.returncode == 0, shown.stderr
    assert "-A KUBE-SVC-ODX2UBAZM7RQWOIU " in shown.stdout and shown.stdout.startswith("*filter")
    kubectl("apply", "-f", str(SEEDS / "myapp-service.yaml"))
    kubectl("apply", "-f", str(SEEDS / "nodeport.yaml"))
    node_port = json.loads(kubectl("get", "svc", "myapp", "-o", "json"))["spec"]["ports"][0][
        "nodePort"
    ]
    page = eventually(
        lambda: cluster.node_shell(
            "node-3", "curl", "-s", "--max-time", "3", f"localhost:{node_port}"
        ),
        what="curl localhost:NODEPORT on a node",
    )
    assert page == 'Hello MyApp | Version: v2 | <a href="hostname.html">Pod Name</a>\n'


def test_kubectl_exec(kubectl: Kubectl) -> None:
    name = pods(kubectl, "app=myapp")[0]["metadata"]["name"]
    assert kubectl("exec", name, "--", "hostname") == f"{name}\n"
    result = kubectl.run(
        "exec", name, "--", "sh", "-c", "echo out; echo err >&2; exit 3", check=False
    )
    assert (result.returncode, result.stdout) == (3, "out\n")
    assert "err\n" in result.stderr and "command terminated with exit code 3" in result.stderr
    assert kubectl("exec", "-i", name, "--", "cat", input="piped stdin\n") == "piped stdin\n"
    env = kubectl("exec", name, "--", "env")
    assert "KUBERNETES_SERVICE_HOST=10.96.0.1" in env.splitlines()
    # -it under a real pseudo-terminal (script(1)): the pod gets a tty of the terminal's size
    kube = (
        f"{KUBECTL} --kubeconfig {kubectl.kubeconfig} --cache-dir {kubectl.cache_dir} "
        f"exec -it {name} -- sh -c 'tty; stty size; exit 4'"
    )
    shown = subprocess.run(
        ["script", "-qec", f"stty cols 101 rows 31; {kube}", "/dev/null"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert shown.returncode == 4
    assert "/dev/pts/" in shown.stdout and "31 101" in shown.stdout


REDIS = """\
apiVersion: v1
kind: Service
metadata:
  name: redis-master
spec:
  selector: {app: redis}
  clusterIP: 10.96.0.11
  ports:
  - port: 6379
    targetPort: 6379
---
apiVersion: v1
kind: Pod
metadata:
  name: envcheck
spec:
  containers:
  - name: c
    image: busybox
    command: ["sleep", "3600"]
"""


def test_seed_000_environment(cluster: Cluster, kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=REDIS)
    eventually(lambda: running_ready(pods(kubectl, "!app"), 1) or None, what="envcheck running")
    # the container process's environment, read from /proc through the node agent's records
    pod = json.loads(kubectl("get", "pod", "envcheck", "-o", "json"))
    uid, node = pod["metadata"]["uid"], pod["spec"]["nodeName"]
    pid_file = cluster.data_dir / "nodes" / node / "pods" / f"default_envcheck_{uid}" / "c.pid"
    pid = int(
        eventually(
            lambda: pid_file.exists() and pid_file.read_text().strip(),
            what="container pid recorded",
        )
    )
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    env = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
    assert {k: v for k, v in env.items() if k.startswith("REDIS_MASTER_")} == {
        "REDIS_MASTER_SERVICE_HOST": "10.96.0.11",
        "REDIS_MASTER_SERVICE_PORT": "6379",
        "REDIS_MASTER_PORT": "tcp://10.96.0.11:6379",
        "REDIS_MASTER_PORT_6379_TCP": "tcp://10.96.0.11:6379",
        "REDIS_MASTER_PORT_6379_TCP_PROTO": "tcp",
        "REDIS_MASTER_PORT_6379_TCP_PORT": "6379",
        "REDIS_MASTER_PORT_6379_TCP_ADDR": "10.96.0.11",
    }
    assert env["HOSTNAME"] == "envcheck"
    # the node-local exec sees the same environment, hostname and DNS settings
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubesvc.cli.main",
            "pod-exec",
            "--data-dir",
            str(cluster.data_dir),
            "envcheck",
            "--",
            "sh",
            "-c",
            "hostname; echo $REDIS_MASTER_SERVICE_HOST; cat /etc/resolv.conf",
        ],
        capture_output=True,
        text=True,
        timeout=20,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[:2] == ["envcheck", "10.96.0.11"]
    assert "nameserver 10.96.0.10" in lines
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in " ".join(lines)
    assert "options ndots:5" in lines


UNKNOWN_IMAGE = """\
apiVersion: v1
kind: Pod
metadata:
  name: noimage
spec:
  containers:
  - name: c
    image: example.com/team/unknown:1.0
"""


def test_unknown_image_waits_with_a_reason(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=UNKNOWN_IMAGE)

    def waiting() -> dict[str, Any] | None:
        pod = json.loads(kubectl("get", "pod", "noimage", "-o", "json"))
        statuses = pod["status"].get("containerStatuses") or []
        state = statuses[0]["state"].get("waiting") if statuses else None
        return state if state and state.get("reason") == "ErrImagePull" else None

    state = eventually(waiting, what="ErrImagePull")
    assert "images.yaml" in state["message"]
    row = re.split(r"\s{2,}", kubectl("get", "pod", "noimage").strip().splitlines()[1])
    assert row[1:3] == ["0/1", "ErrImagePull"]
    kubectl("delete", "pod", "noimage")


def slice_endpoints(kubectl: Kubectl, service: str) -> dict[str, bool]:
    """Pod IP → ready, from the Service's EndpointSlices."""
    listed = json.loads(
        kubectl(
            "get", "endpointslices", "-l", f"kubernetes.io/service-name={service}", "-o", "json"
        )
    )
    return {
        ep["addresses"][0]: bool(ep["conditions"].get("ready"))
        for item in listed["items"]
        for ep in item.get("endpoints") or []
    }


PROBED = """\
apiVersion: v1
kind: Service
metadata:
  name: probed
spec:
  selector: {app: probed}
  ports:
  - port: 80
---
apiVersion: v1
kind: Pod
metadata:
  name: probed
  labels: {app: probed}
spec:
  containers:
  - name: c
    image: busybox
    command: ["sleep", "3600"]
    readinessProbe:
      exec:
        command: ["test", "-f", "MARKER"]
      periodSeconds: 1
      failureThreshold: 1
"""


def test_readiness_probe_drives_endpoints(kubectl: Kubectl, tmp_path: Path) -> None:
    marker = tmp_path / "ready"  # the container runs on the host's file system
    kubectl("apply", "-f", "-", input=PROBED.replace("MARKER", str(marker)))
    ip = eventually(
        lambda: json.loads(kubectl("get", "pod", "probed", "-o", "json"))["status"].get("podIP"),
        what="probed has an IP",
    )
    eventually(
        lambda: slice_endpoints(kubectl, "probed") == {ip: False},
        what="a not-ready endpoint while the probe fails",
    )
    marker.write_text("ok")
    eventually(
        lambda: slice_endpoints(kubectl, "probed") == {ip: True},
        timeout=20,
        what="ready once the probe passes",
    )
    marker.unlink()
    eventually(
        lambda: slice_endpoints(kubectl, "probed") == {ip: False},
        timeout=20,
        what="not ready again when it fails",
    )
    kubectl("delete", "pod", "probed")
    kubectl("delete", "svc", "probed")


LIVE = """\
apiVersion: v1
kind: Pod
metadata:
  name: live
spec:
  containers:
  - name: c
    image: busybox
    command: ["sleep", "3600"]
    startupProbe:
      exec: {command: ["test", "-f", "STARTED"]}
      periodSeconds: 1
      failureThreshold: 60
    livenessProbe:
      exec: {command: ["test", "-f", "ALIVE"]}
      periodSeconds: 1
      failureThreshold: 1
"""


def test_startup_gates_and_liveness_restarts(kubectl: Kubectl, tmp_path: Path) -> None:
    started, alive = tmp_path / "started", tmp_path / "alive"
    kubectl(
        "apply", "-f", "-", input=LIVE.replace("STARTED", str(started)).replace("ALIVE", str(alive))
    )

    def container() -> dict[str, Any]:
        pod = json.loads(kubectl("get", "pod", "live", "-o", "json"))
        statuses = pod["status"].get("containerStatuses") or [{}]
        return dict(statuses[0])

    eventually(lambda: container().get("state", {}).get("running"), what="live running")
    time.sleep(2)
    assert container()["started"] is False and container()["ready"] is False
    alive.write_text("ok")
    started.write_text("ok")
    eventually(
        lambda: container().get("started") and container().get("ready"),
        what="started and ready once the startup probe passes",
    )
    alive.unlink()  # the liveness probe fails: the kubelet restarts the container
    eventually(
        lambda: container().get("restartCount", 0) >= 1,
        timeout=30,
        what="restarted by the liveness probe",
    )
    alive.write_text("ok")
    eventually(lambda: container().get("ready"), what="ready again after the restart")
    # the restarted container's log is a new one; the first run's is `--previous`
    assert kubectl.run("logs", "live", "-p").returncode == 0
    kubectl("delete", "pod", "live")


STUBBORN = """\
apiVersion: v1
kind: Pod
metadata:
  name: stubborn
  labels: {app: stubborn}
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "trap '' TERM; while true; do sleep 0.2; done"]
"""


def test_graceful_deletion_shows_terminating(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=STUBBORN)
    eventually(lambda: running_ready(pods(kubectl, "app=stubborn"), 1), what="stubborn ready")
    started = time.monotonic()
    kubectl("delete", "pod", "stubborn", "--wait=false")
    row = re.split(r"\s{2,}", kubectl("get", "pod", "stubborn").strip().splitlines()[1])
    assert row[2] == "Terminating"
    eventually(
        lambda: kubectl.run("get", "pod", "stubborn", check=False).returncode == 1,
        timeout=20,
        what="the pod is gone after its grace period",
    )
    # the container ignored SIGTERM, so the kubelet waited for the grace period, then killed it
    assert time.monotonic() - started >= 2.5


def test_deleted_pod_is_replaced_and_scale_follows(kubectl: Kubectl) -> None:
    before = {p["metadata"]["name"]: p["status"]["podIP"] for p in pods(kubectl, "app=hostnames")}
    victim = sorted(before)[0]
    kubectl("delete", "pod", victim)

    def replaced() -> bool:
        now = pods(kubectl, "app=hostnames")
        names = {p["metadata"]["name"] for p in now}
        return running_ready(now, 3) and victim not in names

    eventually(replaced, what="a new pod replaces the deleted one")
    eventually(
        lambda: (
            len(slice_endpoints(kubectl, "hostnames")) == 3
            and before[victim] not in slice_endpoints(kubectl, "hostnames")
        ),
        what="endpoints follow the replacement",
    )
    kubectl("scale", "deployment", "hostnames", "--replicas=1")
    eventually(lambda: len(slice_endpoints(kubectl, "hostnames")) == 1, what="scaled to 1")
    kubectl("scale", "deployment", "hostnames", "--replicas=3")
    eventually(
        lambda: list(slice_endpoints(kubectl, "hostnames").values()) == [True] * 3,
        what="scaled back to 3 ready endpoints",
    )


def test_stopped_node_agent_turns_node_not_ready(cluster: Cluster, kubectl: Kubectl) -> None:
    pid = int((cluster.data_dir / "run" / "node-3.pid").read_text())
    on_node_3 = {
        p["status"]["podIP"]
        for p in pods(kubectl, "app=hostnames")
        if p["spec"]["nodeName"] == "node-3"
    }
    os.kill(pid, signal.SIGSTOP)  # the agent stops heartbeating; its pods keep running
    try:

        def status() -> str:
            rows = kubectl("get", "nodes").strip().splitlines()[1:]
            return {r.split()[0]: r.split()[1] for r in rows}["node-3"]

        eventually(lambda: status() == "NotReady", timeout=30, what="node-3 NotReady")
        if on_node_3:
            eventually(
                lambda: all(
                    not slice_endpoints(kubectl, "hostnames").get(ip, True) for ip in on_node_3
                ),
                timeout=20,
                what="node-3's endpoints not ready",
            )
    finally:
        os.kill(pid, signal.SIGCONT)
    eventually(lambda: status() == "Ready", timeout=90, what="node-3 Ready again")
