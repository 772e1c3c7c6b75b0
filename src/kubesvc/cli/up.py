"""`kubesvc up`: a whole cluster in the foreground, and `kubesvc node-shell`.

Order of start: clean what an earlier run left (by the cluster id derived from the data dir),
build the network (underlay, node namespaces, routes), start the API server and the controllers
in this process, start one node agent process per node, wait until every node is Ready. Order
of stop (SIGINT/SIGTERM): the agents (which stop their pods), the controllers and the API server,
then the network; what is left is checked and reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubesvc.api.errors import StatusError
from kubesvc.api.resources import lookup
from kubesvc.apiserver.server import Config, kubeconfig_path, serve
from kubesvc.cli import addons
from kubesvc.client import Client
from kubesvc.net import cluster, plan, topology
from kubesvc.net.plan import Topology

NODES = lookup("", "nodes")
ENDPOINTS = lookup("", "endpoints")


@dataclass(frozen=True, slots=True, kw_only=True)
class UpOptions:
    data_dir: Path
    nodes: int
    proxy_mode: str
    pod_cidr: str
    service_cidr: str
    node_cidr: str
    port: int
    node_ready_timeout: float = 60.0
    node_monitor_grace_period: float = 40.0
    dns_ready_timeout: float = 60.0
    iptables_sync_period: float = 30.0


def say(text: str) -> None:
    print(text, flush=True)


def cluster_topology(data_dir: Path) -> Topology:
    """The topology of the cluster whose data dir this is (as `up` planned it)."""
    try:
        return cluster.load(data_dir).topology()
    except cluster.NoCluster as exc:
        raise SystemExit(f"error: {exc}") from None


def _record(t: Topology, opts: UpOptions) -> cluster.ClusterRecord:
    return cluster.ClusterRecord(
        cluster=t.cluster,
        nodes=opts.nodes,
        node_cidr=opts.node_cidr,
        pod_cidr=opts.pod_cidr,
        service_cidr=opts.service_cidr,
        proxy_mode=opts.proxy_mode,
        # agents renew their Lease four times per grace period (every 10 s for the default 40 s)
        lease_interval=min(10.0, opts.node_monitor_grace_period / 4),
    )


def _spawn(opts: UpOptions, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
    """Start a component process, its output in DATA/logs/NAME.log, its pid in DATA/run."""
    log_dir = opts.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
    proc = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
    log.close()
    (opts.data_dir / "run").mkdir(exist_ok=True)
    (opts.data_dir / "run" / f"{name}.pid").write_text(f"{proc.pid}\n")
    return proc


def _start_agent(opts: UpOptions, node: str) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        "-m",
        "kubesvc.cli.main",
        "node",
        "--data-dir",
        str(opts.data_dir),
        "--name",
        node,
    ]
    return _spawn(opts, node, argv)


def _start_proxy(opts: UpOptions, t: Topology, node: str) -> subprocess.Popen[bytes]:
    """kube-proxy for `node`, inside the node's namespace, talking to the API server over the
    underlay (as a cluster node's kube-proxy does)."""
    n = t.node(node)
    argv = [
        "ip",
        "netns",
        "exec",
        n.netns,
        sys.executable,
        "-m",
        "kubesvc.cli.main",
        "proxy",
        "--server",
        f"http://{t.host_ip}:{opts.port}",
        "--node",
        node,
        "--node-ip",
        n.ip,
        "--cluster-cidr",
        opts.pod_cidr,
        "--proxy-mode",
        opts.proxy_mode,
        "--iptables-sync-period",
        str(opts.iptables_sync_period),
    ]
    return _spawn(opts, f"proxy-{node}", argv)


def stale_components(data_dir: Path) -> list[int]:
    """Pids of component processes an earlier `up` on this data dir left running (it crashed):
    those recorded in DATA/run whose command line still names this data dir."""
    found = []
    for pid_file in sorted((data_dir / "run").glob("*.pid")):
        try:
            pid = int(pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        words = [w.decode(errors="replace") for w in cmdline]
        if "kubesvc.cli.main" in words and str(data_dir) in words:
            found.append(pid)
    return found


def _kill_stale(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
        time.sleep(0.05)


def _stop_agents(agents: dict[str, subprocess.Popen[bytes]], grace: float = 15.0) -> None:
    for proc in agents.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in agents.values():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _ready(node: dict[str, Any]) -> bool:
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


async def _wait_nodes(
    client: Client, names: list[str], timeout: float, agents: dict[str, subprocess.Popen[bytes]]
) -> None:
    assert NODES is not None
    deadline = time.monotonic() + timeout
    reported: set[str] = set()
    while True:
        listed = await client.list(NODES)
        ready = {n["metadata"]["name"] for n in listed["items"] if _ready(n)}
        for name in sorted(ready & set(names) - reported):
            say(f"  {name} Ready")
            reported.add(name)
        if set(names) <= ready:
            return
        for name, proc in agents.items():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the node agent of {name} exited ({proc.returncode}); see "
                    f"logs/{name}.log in the data dir"
                )
        if time.monotonic() > deadline:
            missing = ", ".join(sorted(set(names) - ready))
            raise RuntimeError(f"nodes not Ready after {timeout:.0f}s: {missing}")
        await asyncio.sleep(0.2)


async def _wait_dns(client: Client, timeout: float) -> None:
    """Wait until the kube-dns Service has a ready endpoint (a CoreDNS pod answered /ready);
    a slow DNS is reported, not fatal: the cluster works, names resolve once it is ready."""
    assert ENDPOINTS is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ep = await client.get(ENDPOINTS, "kube-system", "kube-dns")
        except StatusError:
            ep = {}
        ready = [a for s in ep.get("subsets") or [] for a in s.get("addresses") or []]
        if ready:
            say(f"  cluster DNS ready ({len(ready)} of 2 coredns pods)")
            return
        await asyncio.sleep(0.2)
    say(
        f"  warning: no coredns pod ready after {timeout:.0f}s; see `kubectl -n kube-system "
        "get pods -l k8s-app=kube-dns` and `kubectl -n kube-system logs deploy/coredns`"
    )


async def run_up(opts: UpOptions) -> None:
    from kubesvc.controllers.manager import run as run_controllers

    if os.geteuid() != 0:
        raise SystemExit(
            "error: kubesvc up builds network namespaces and needs root.\n"
            "  run it as root (sudo make up), or run the API server alone: "
            "kubesvc apiserver --data-dir DIR"
        )
    opts.data_dir.mkdir(parents=True, exist_ok=True)
    cluster_id = plan.cluster_id(opts.data_dir)
    started = time.monotonic()
    say(f"kubesvc up: cluster {cluster_id}, data dir {opts.data_dir}")
    stale = stale_components(opts.data_dir)
    left = topology.leftovers(cluster_id)
    if stale or left:
        say(f"  cleaning what an earlier run left: {len(stale)} processes, {len(left)} items")
        _kill_stale(stale)
        topology.down(cluster_id)
    t = plan.plan_topology(cluster_id, opts.nodes, opts.node_cidr, opts.pod_cidr, opts.service_cidr)
    say(
        f"  network: underlay {opts.node_cidr}, {opts.nodes} node namespaces, "
        f"pods {opts.pod_cidr}, services {opts.service_cidr}"
    )
    topology.up(t)
    record = _record(t, opts)
    record.save(opts.data_dir)
    agents: dict[str, subprocess.Popen[bytes]] = {}
    tasks: list[asyncio.Task[None]] = []
    client: Client | None = None
    try:
        config = Config(
            data_dir=opts.data_dir,
            port=opts.port,
            advertise_address=t.host_ip,
            also_bind=(t.host_ip,),
            service_cidr=opts.service_cidr,
        )
        api_started = asyncio.Event()
        tasks.append(asyncio.create_task(serve(config, api_started)))
        say(f"  API server on 127.0.0.1:{opts.port} and {t.host_ip}:{opts.port}")
        await asyncio.wait_for(api_started.wait(), 30)
        client = Client.from_kubeconfig(kubeconfig_path(opts.data_dir))
        tasks.append(
            asyncio.create_task(
                run_controllers(client, node_monitor_grace_period=opts.node_monitor_grace_period)
            )
        )
        say(
            "  controllers: deployment, replicaset, statefulset, scheduler, endpointslice, "
            "endpoints, node lifecycle"
        )
        for node in t.nodes:
            agents[node.name] = _start_agent(opts, node.name)
            agents[f"proxy-{node.name}"] = _start_proxy(opts, t, node.name)
        names = ", ".join(n.name for n in t.nodes)
        say(f"  node agents and proxies ({opts.proxy_mode} mode): {names}")
        await _wait_nodes(client, [n.name for n in t.nodes], opts.node_ready_timeout, agents)
        # the add-ons after the nodes, so the scheduler spreads their pods over all of them
        await addons.ensure(client, addons.coredns_objects(record.dns_ip))
        say(f"  cluster DNS: coredns (2 replicas) behind the kube-dns Service {record.dns_ip}")
        await _wait_dns(client, opts.dns_ready_timeout)
        say(
            f"cluster ready in {time.monotonic() - started:.1f}s\n\nUse it:\n"
            f"  export KUBECONFIG={kubeconfig_path(opts.data_dir)}\n  kubectl get nodes\n"
            f"  kubesvc node-shell --data-dir {opts.data_dir} node-1\nStop with Ctrl-C."
        )
        await asyncio.gather(*tasks)
    finally:
        say("kubesvc up: stopping")
        # in a thread: the API server on this loop keeps answering the agents as they stop
        # their pods (and close their exec/attach/port-forward streams)
        await asyncio.to_thread(_stop_agents, agents)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if client is not None:
            await client.close()
        removed = topology.down(cluster_id)
        say(f"kubesvc up: stopped; removed {len(removed)} network pieces")


def node_shell(data_dir: Path, node: str, command: list[str]) -> int:
    t = cluster_topology(data_dir)
    try:
        target = t.node(node)
    except plan.PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    argv = command or [os.environ.get("SHELL", "/bin/sh")]
    os.execvp("ip", ["ip", "netns", "exec", target.netns, *argv])
    return 0  # not reached
