"""Network programming latency and new-connection latency through a VIP, at 10 and 10,000 Services.

    sudo PYTHONPATH=src .venv/bin/python bench/programming.py [--services 10000] [--samples 20]

Needs root. Starts a real 3-node `kubesvc up` (iptables mode) on /tmp/bench-prog-data (emptied
first, removed at the end) under /tmp/kubesvc-e2e.lock: it takes the lock itself unless it was
started by `flock /tmp/kubesvc-e2e.lock ...`, whose descriptor it inherits. The cluster is
stopped with SIGINT and waited for, whatever happens.

Objects, all through the API with the REST client: a Service `bench-web` (port 80 → 9376,
81 → a closed port) in front of a Deployment of `serve_hostname` kept at 0 or 1 replica, and
selector-less filler Services `bench-fill/bench-fill-NNNNN`, each with an EndpointSlice we
write (ENDPOINTS ready addresses in 10.200.0.0/14, never contacted), which makes 10,000
Services with endpoints cheap. They live in their own namespace: in the pod's, 10k Services'
link variables (enableServiceLinks) would exceed execve's argument limit, as in real
Kubernetes. Where the VIP's rule sits in KUBE-SERVICES depends on history (a partial sync
inserts new rules at the top; upstream walks a Go map, so there its place is random): the table
prints it. The same cluster is measured at 10 Services (`kubernetes`, `kube-dns`, `bench-web`
and 7 fillers), then grown to SERVICES.

At each size, from node-1's network namespace (a small prober started with
`kubesvc node-shell`, line-oriented JSON over its stdin/stdout):
- network programming latency, SAMPLES times: with the Service refusing (no endpoints, REJECT),
  scale the Deployment 0 → 1; this process watches the pod and the EndpointSlice and records
  when it first sees the pod Ready and the slice list it ready (the pod has a readiness probe,
  so Ready means listening); the prober tries the VIP every 5 ms with a 20 ms connect
  timeout and records when a connection first gets an answer (that attempt's start). The short
  timeout matters: a SYN lost while the rules change (e.g. between two tables' commits) would
  cost TCP's 1 s retransmission. Latency = first answer − pod Ready (and − slice change). Then
  scale to 0 and wait until the VIP refuses again.
  Beside it, node-1's `kubeproxy_network_programming_duration_seconds` over the same interval
  (histogram delta; the proxy measures from the slice's trigger time, a Ready
  lastTransitionTime with whole seconds, so it reads up to 1 s high) and its mean partial sync;
- new-connection latency: CONNECTIONS rounds of sequential TCP connects, each closed at once,
  2 ms apart (serve_hostname's accept backlog is Python's 5), in turn to VIP:80 and to the
  pod's IP:9376 (SYN → SYN-ACK from the app's socket), and to VIP:81 and pod IP:9999, a port
  nothing listens on (SYN → RST from the pod's kernel: the "first packet latency" SLI of
  sig-scalability without any application in it). Every path walks nat KUBE-SERVICES with its
  first packet (the direct one to the end without a match); the VIP adds the DNAT chains.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from kubesvc.api.errors import StatusError  # noqa: E402
from kubesvc.api.resources import lookup  # noqa: E402
from kubesvc.client.rest import Client  # noqa: E402
from kubesvc.net import cluster as cluster_files  # noqa: E402
from tests.conftest import free_port  # noqa: E402

DATA = Path("/tmp/bench-prog-data")
LOCK = "/tmp/kubesvc-e2e.lock"
NS = "default"
WEB = "bench-web"
FILL_NS = "bench-fill"  # not the pod's namespace: 10k Services' link env vars exceed execve's limit
CLOSED = 9999  # a pod port nothing listens on
GAP = 0.002  # seconds between two connects: serve_hostname's accept backlog is 5
SERVICES, SLICES = lookup("", "services"), lookup("discovery.k8s.io", "endpointslices")
PODS, DEPLOYMENTS = lookup("", "pods"), lookup("apps", "deployments")
NAMESPACES = lookup("", "namespaces")
NETPROG = "kubeproxy_network_programming_duration_seconds"
PARTIAL = "kubeproxy_sync_partial_proxy_rules_duration_seconds"
LAST = "kubeproxy_sync_proxy_rules_last_timestamp_seconds"
QUEUED = "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds"
PENDING = (
    "kubeproxy_sync_proxy_rules_endpoint_changes_pending",
    "kubeproxy_sync_proxy_rules_service_changes_pending",
)
PROBER = r"""
import json, socket, sys, time
def attempt(host, port):
    s = socket.socket(); s.settimeout(CONNECT_TIMEOUT)
    try:
        s.connect((host, port)); s.settimeout(2); s.sendall(b"GET / HTTP/1.0\r\n\r\n"); data = b""
        while chunk := s.recv(4096): data += chunk
        return "ok", data.split(b"\r\n\r\n", 1)[-1].decode().strip()
    except ConnectionRefusedError: return "refused", ""
    except OSError as exc: return type(exc).__name__, ""
    finally: s.close()
def until(cmd, want):
    deadline, lost, state = time.time() + cmd["timeout"], 0, ""
    while time.time() < deadline:
        at = time.time(); state, body = attempt(cmd["host"], cmd["port"])
        if state == want: return {"at": at, "body": body, "lost": lost}
        lost += state not in ("ok", "refused")
        time.sleep(0.005)
    return {"at": None, "state": state}
def connects(cmd):
    out = {t: [] for t in cmd["targets"]}
    for _ in range(cmd["n"]):
        for target in cmd["targets"]:
            host, port = target.rsplit(":", 1); s = socket.socket(); s.settimeout(3)
            start = time.perf_counter()
            try: s.connect((host, int(port))); state = "ok"
            except ConnectionRefusedError: state = "refused"
            except OSError as exc: state = type(exc).__name__
            out[target].append((time.perf_counter() - start, state)); s.close()
            time.sleep(cmd["gap"])
    return out
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    out = connects(cmd) if cmd["op"] == "connects" else until(cmd, cmd["op"])
    print(json.dumps(out), flush=True)
""".replace("CONNECT_TIMEOUT", "0.02")


def hold_lock() -> int | None:
    """Take the cluster lock unless an inherited descriptor (from flock(1)) already holds it."""
    import fcntl

    for entry in os.listdir("/proc/self/fd"):
        if os.path.realpath(f"/proc/self/fd/{entry}") == LOCK:
            return None
    fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    print(f"waiting for {LOCK} ...", file=sys.stderr, flush=True)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def web_objects() -> tuple[dict[str, Any], dict[str, Any]]:
    labels = {"app": WEB}
    http = {"name": "http", "port": 80, "targetPort": 9376}
    closed = {"name": "closed", "port": 81, "targetPort": CLOSED}  # nothing listens: SYN → RST
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": WEB},
        "spec": {"selector": labels, "ports": [http, closed]},
    }
    container: dict[str, Any] = {"name": "web", "image": "registry.k8s.io/serve_hostname"}
    container["ports"] = [{"containerPort": 9376}]
    # Ready only once it listens: otherwise Ready comes before the app binds its port (Python
    # starting up), and that second would be counted as programming time.
    container["readinessProbe"] = {"tcpSocket": {"port": 9376}, "periodSeconds": 1}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": WEB},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [container]},
            },
        },
    }
    return service, deployment


def filler(i: int, endpoints: int) -> tuple[dict[str, Any], dict[str, Any]]:
    name = f"bench-fill-{i:05d}"
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"name": "http", "port": 80}]},
    }
    addresses = [f"10.{200 + e}.{i // 256 % 256}.{i % 256}" for e in range(endpoints)]
    slice_ = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/service-name": name,
                "endpointslice.kubernetes.io/managed-by": "bench.kubesvc.io",
            },
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addresses],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }
    return service, slice_


class Watcher:
    """First-seen wall times of the web pods turning Ready and of the slice listing them."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.ready: dict[str, float] = {}
        self.pod_ip: dict[str, str] = {}
        self.in_slice: dict[str, float] = {}
        self.pods: set[str] = set()

    async def run(self, res: Any, selector: str, handle: Any) -> None:
        while True:
            listed = await self.client.list(res, NS, label_selector=selector)
            handle("RESET", {})
            for obj in listed["items"]:
                handle("ADDED", obj)
            rv = listed["metadata"]["resourceVersion"]
            try:
                async for kind, obj in self.client.watch(res, NS, rv, label_selector=selector):
                    if kind != "BOOKMARK":
                        handle(kind, obj)
            except (aiohttp.ClientError, StatusError, ValueError) as exc:  # list again
                print(f"  watch {res.plural}: {exc!r}", file=sys.stderr, flush=True)
                await asyncio.sleep(0.2)

    def on_pod(self, kind: str, pod: dict[str, Any]) -> None:
        if kind == "RESET":
            self.pods = set()
            return
        name, now = pod["metadata"]["name"], time.time()
        if kind == "DELETED":
            self.pods.discard(name)
            return
        self.pods.add(name)
        status = pod.get("status") or {}
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        if ready and name not in self.ready:
            self.ready[name], self.pod_ip[name] = now, status.get("podIP", "")

    def on_slice(self, kind: str, slice_: dict[str, Any]) -> None:
        now = time.time()
        for ep in slice_.get("endpoints") or [] if kind in ("ADDED", "MODIFIED") else []:
            pod = (ep.get("targetRef") or {}).get("name")
            if pod and (ep.get("conditions") or {}).get("ready") and pod not in self.in_slice:
                self.in_slice[pod] = now


class Prober:
    def __init__(self, data_dir: Path, node: str) -> None:
        self.argv = [sys.executable, "-m", "kubesvc.cli.main", "node-shell", "--data-dir"]
        self.argv += [str(data_dir), node, "--", sys.executable, "-c", PROBER]
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, limit=1 << 24
        )
        assert self.proc.stdout is not None
        json.loads(await self.proc.stdout.readline())

    async def ask(self, **cmd: Any) -> Any:
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        await self.proc.stdin.drain()
        line = await self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the prober exited")
        return json.loads(line)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()  # by pid: the node-shell exec'd into `ip netns exec ... python`
            await self.proc.wait()


async def node_metrics(session: aiohttp.ClientSession, node_ip: str) -> dict[str, float]:
    """The proxy's metrics on a node, as {sample name with labels: value}."""
    async with session.get(f"http://{node_ip}:10249/metrics") as reply:
        text = await reply.text()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def histogram(before: dict[str, float], after: dict[str, float], name: str) -> dict[str, Any]:
    """The observations between two scrapes: count, mean and bucket upper bounds of p50/p99."""

    def delta(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    count = sum(delta(k) for k in after if k.startswith(f"{name}_count"))
    total = sum(delta(k) for k in after if k.startswith(f"{name}_sum"))
    buckets = sorted(
        (float(k.split('le="')[1].split('"')[0]), delta(k))
        for k in after
        if k.startswith(f"{name}_bucket") and 'le="+Inf"' not in k
    )
    bound = {
        name: next((le for le, n in buckets if count and n >= q * count), math.inf)
        for name, q in (("p50", 0.5), ("p99", 0.99))
    }
    return {"count": count, "mean": total / count if count else math.nan, **bound}


class Bench:
    def __init__(self, client: Client, data_dir: Path, endpoints: int, samples: int) -> None:
        self.client, self.endpoints, self.samples = client, endpoints, samples
        topology = cluster_files.load(data_dir).topology()
        self.node_ip = {n.name: n.ip for n in topology.nodes}
        self.netns = {n.name: n.netns for n in topology.nodes}
        self.watcher = Watcher(client)
        self.prober = Prober(data_dir, "node-1")
        self.fillers = 0
        self.vip = ""

    async def setup(self) -> None:
        service, deployment = web_objects()
        self.vip = (await self.client.create(SERVICES, NS, service))["spec"]["clusterIP"]
        await self.client.create(DEPLOYMENTS, NS, deployment)
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": FILL_NS}}
        await self.client.create(NAMESPACES, None, namespace)
        await self.prober.start()

    async def grow(self, total: int) -> float:
        """Create fillers until the cluster has `total` Services; the time it took."""
        have = len((await self.client.list(SERVICES))["items"])
        todo = list(range(self.fillers, self.fillers + max(0, total - have)))
        self.fillers += len(todo)
        start = time.monotonic()
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in todo:
            queue.put_nowait(i)

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                service, slice_ = filler(i, self.endpoints)
                await self.client.create(SERVICES, FILL_NS, service)
                await self.client.create(SLICES, FILL_NS, slice_)
                if i % 1000 == 999:
                    print(f"  {i + 1} fillers", file=sys.stderr, flush=True)

        await asyncio.gather(*(worker() for _ in range(16)))
        return time.monotonic() - start

    async def settle(self, session: aiohttp.ClientSession, timeout: float = 300) -> None:
        """Wait until every node's proxy has synced everything queued (twice in a row)."""
        deadline, calm = time.monotonic() + timeout, 0
        while calm < 2:
            if time.monotonic() > deadline:
                raise RuntimeError("the proxies did not settle")
            await asyncio.sleep(1)
            ok = True
            for ip in self.node_ip.values():
                m = await node_metrics(session, ip)
                last = max((v for k, v in m.items() if k.startswith(LAST)), default=0)
                queued = max((v for k, v in m.items() if k.startswith(QUEUED)), default=0)
                pending = sum(v for k, v in m.items() if k.startswith(PENDING))
                ok = ok and last >= queued and pending == 0
            calm = calm + 1 if ok else 0

    async def scale(self, replicas: int) -> None:
        await self.client.patch(DEPLOYMENTS, NS, WEB, {"spec": {"replicas": replicas}})

    async def refusing(self) -> None:
        await self.scale(0)
        reply = await self.prober.ask(op="refused", host=self.vip, port=80, timeout=120)
        if reply["at"] is None:
            raise RuntimeError(f"the VIP never refused again: {reply}")
        deadline = time.monotonic() + 120
        while self.watcher.pods:
            if time.monotonic() > deadline:
                pods = await self.client.list(PODS, NS, label_selector=f"app={WEB}")
                state = [(p["metadata"], p.get("status")) for p in pods["items"]]
                raise RuntimeError(f"pods not gone: {self.watcher.pods}: {state}")
            await asyncio.sleep(0.1)

    async def one_sample(self) -> tuple[float, float, int]:
        await self.refusing()
        asked = asyncio.create_task(self.prober.ask(op="ok", host=self.vip, port=80, timeout=120))
        await self.scale(1)
        reply = await asked
        if reply["at"] is None:
            raise RuntimeError(f"the new pod was never reached: {reply}")
        pod = reply["body"]
        for _ in range(100):  # our watch may trail the traffic by a little
            if pod in self.watcher.ready and pod in self.watcher.in_slice:
                break
            await asyncio.sleep(0.05)
        ready, listed = self.watcher.ready[pod], self.watcher.in_slice[pod]
        return reply["at"] - ready, reply["at"] - listed, int(reply["lost"])

    async def phase(self, session: aiohttp.ClientSession, connections: int) -> dict[str, Any]:
        await self.settle(session)
        services = len((await self.client.list(SERVICES))["items"])
        before = await node_metrics(session, self.node_ip["node-1"])
        from_ready, from_slice, lost = [], [], []
        for n in range(self.samples):
            a, b, c = await self.one_sample()
            from_ready.append(a)
            from_slice.append(b)
            lost.append(c)
            print(
                f"  sample {n + 1}: Ready → answer {a * 1000:.0f} ms, slice → answer "
                f"{b * 1000:.0f} ms, {c} tries lost",
                file=sys.stderr,
                flush=True,
            )
        after = await node_metrics(session, self.node_ip["node-1"])
        pod = next(iter(self.watcher.pods))
        pod_ip = self.watcher.pod_ip[pod]
        targets = [f"{self.vip}:80", f"{pod_ip}:9376", f"{self.vip}:81", f"{pod_ip}:{CLOSED}"]
        conns = await self.prober.ask(op="connects", targets=targets, n=connections, gap=GAP)
        return {
            "services": services,
            "from_ready": from_ready,
            "from_slice": from_slice,
            "lost": lost,
            "metric": histogram(after=after, before=before, name=NETPROG),
            "partial": histogram(after=after, before=before, name=PARTIAL),
            "connects": [conns[t] for t in targets],
            "position": self.rule_position(),
        }

    def rule_position(self) -> tuple[int, int]:
        saved = subprocess.run(
            ["ip", "netns", "exec", self.netns["node-1"], "iptables-save", "-t", "nat"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rules = [ln for ln in saved.splitlines() if ln.startswith("-A KUBE-SERVICES ")]
        mine = next(i for i, ln in enumerate(rules, 1) if f"{NS}/{WEB}:http cluster IP" in ln)
        return mine, len(rules)


UP = [sys.executable, "-m", "kubesvc.cli.main", "up"]


def start_cluster(data_dir: Path) -> subprocess.Popen[bytes]:
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    with open(data_dir / "up.log", "wb") as log:
        proc = subprocess.Popen(
            [*UP, "--data-dir", str(data_dir), "--nodes", "3", "--port", str(free_port())],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    deadline = time.monotonic() + 120
    while "cluster ready" not in (data_dir / "up.log").read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_cluster(proc)
            raise RuntimeError(f"kubesvc up failed:\n{(data_dir / 'up.log').read_text()}")
        time.sleep(0.2)
    return proc


def stop_cluster(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(180)
        except subprocess.TimeoutExpired:
            print("kubesvc up did not stop in 180 s: killed", file=sys.stderr)
            proc.kill()
            proc.wait(30)


PATHS = (
    ("connect via VIP :80 (SYN→SYN-ACK)", "ok"),
    ("connect to pod IP :9376", "ok"),
    ("first packet via VIP :81 (SYN→RST)", "refused"),
    ("first packet to pod IP :9999", "refused"),
)


def report(results: list[dict[str, Any]], args: argparse.Namespace, grow_s: float) -> None:
    def ms(values: list[float]) -> str:
        return f"{pct(values, 0.5) * 1000:.0f} / {pct(values, 0.99) * 1000:.0f} ms"

    def connects(samples: list[list[Any]], want: str) -> str:
        good = [t for t, state in samples if state == want and t < 0.5]
        lost = len(samples) - len(good)
        text = f"{pct(good, 0.5) * 1e6:.0f} / {pct(good, 0.99) * 1e6:.0f} µs"
        return f"{text}, {lost} slow" if lost else text

    def bucket(h: dict[str, Any]) -> str:
        return f"≤{h['p50']:g} / ≤{h['p99']:g} s (n={h['count']:.0f})"

    rows: list[tuple[str, list[str]]] = [
        ("pod Ready → VIP answers, p50 / p99", [ms(r["from_ready"]) for r in results]),
        ("slice lists it → VIP answers", [ms(r["from_slice"]) for r in results]),
        ("tries lost per sample (mean)", [f"{statistics.mean(r['lost']):.1f}" for r in results]),
        ("metric network_programming p50/p99", [bucket(r["metric"]) for r in results]),
        ("metric network_programming, mean", [f"{r['metric']['mean']:.2f} s" for r in results]),
        ("node-1 partial sync, mean (metric)", [f"{r['partial']['mean']:.3f} s" for r in results]),
    ]
    for i, (title, want) in enumerate(PATHS):
        rows.append((title, [connects(r["connects"][i], want) for r in results]))
    positions = [f"{r['position'][0]:,} of {r['position'][1]:,}" for r in results]
    rows.append(("VIP rule in nat KUBE-SERVICES", positions))
    print(
        f"kubesvc iptables mode (iptables-nft), 3 nodes on {os.cpu_count()} CPUs; "
        f"{args.samples} programming samples and {args.connections:,} connects per path and size"
        f"; each filler Service has {args.endpoints} endpoints"
    )
    heads = [f"{r['services']:,} Services" for r in results]
    print(f"{'':37}" + "".join(f"{h:>27}" for h in heads))
    for title, cells in rows:
        print(f"{title:37}" + "".join(f"{c:>27}" for c in cells))

    def ratio(i: int, want: str) -> str:
        first, last = (
            [t for t, st in r["connects"][i] if st == want] for r in (results[0], results[-1])
        )
        return f"{pct(last, 0.5) / pct(first, 0.5):.1f}×"

    print(
        f"\np50 at {results[-1]['services']:,} vs {results[0]['services']} Services: "
        f"connect via VIP {ratio(0, 'ok')}, to pod IP {ratio(1, 'ok')}; first packet via VIP "
        f"{ratio(2, 'refused')}, to pod IP {ratio(3, 'refused')}.\n"
        f"Grew from 10 to {results[-1]['services']:,} Services (+ slices) in {grow_s:.0f} s. "
        "'slow': a connect over 0.5 s or refused/failed (a lost SYN costs 1 s).\n"
        "Aim (issue 5): pod Ready → traffic p99 ≤ 0.5 s at 10k Services (the issue quotes "
        "Kubernetes' test threshold as 30 s).\n"
        "The metric counts from the slice's trigger time, a Ready lastTransitionTime in whole "
        "seconds, so it reads up to 1 s high; our rows use watch times instead.\n"
        "The prober tries the VIP every 5 ms with a 20 ms connect timeout: a time is the start "
        "of the first answered try, at most ~25 ms after the rules took effect; 'lost' tries\n"
        "got neither an answer nor a refusal within 20 ms (a REJECT slower than that on a busy "
        "machine, or a SYN dropped while rules change).\n"
        "A partial sync inserts a new KUBE-SERVICES rule at the top (restores.py), so the VIP "
        "rule's place depends on history (upstream's is random);\nthe pod IP rows walk the "
        "whole chain without a match: the worst case."
    )


async def run(args: argparse.Namespace) -> None:
    proc = start_cluster(DATA)
    try:
        async with (
            Client.from_kubeconfig(DATA / "kubeconfig") as client,
            aiohttp.ClientSession() as session,
        ):
            bench = Bench(client, DATA, args.endpoints, args.samples)
            watches = [
                asyncio.create_task(bench.watcher.run(PODS, f"app={WEB}", bench.watcher.on_pod)),
                asyncio.create_task(
                    bench.watcher.run(
                        SLICES, f"kubernetes.io/service-name={WEB}", bench.watcher.on_slice
                    )
                ),
            ]
            try:
                await bench.setup()
                results = []
                await bench.grow(10)
                print("measuring at 10 Services", file=sys.stderr, flush=True)
                results.append(await bench.phase(session, args.connections))
                grow_s = await bench.grow(args.services)
                print(f"measuring at {args.services} Services", file=sys.stderr, flush=True)
                results.append(await bench.phase(session, args.connections))
            finally:
                await bench.prober.stop()
                for task in watches:
                    task.cancel()
                await asyncio.gather(*watches, return_exceptions=True)
        report(results, args, grow_s)
    finally:
        stop_cluster(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--endpoints", type=int, default=5, help="endpoints per filler Service")
    parser.add_argument("--samples", type=int, default=20, help="programming samples per size")
    parser.add_argument("--connections", type=int, default=2000, help="connects per path")
    parser.add_argument("--keep", action="store_true", help=f"keep {DATA} (logs) afterwards")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/programming.py needs root (kubesvc up)", file=sys.stderr)
        return 1
    lock = hold_lock()
    try:
        asyncio.run(run(args))
    finally:
        if lock is not None:
            os.close(lock)
        if not args.keep:
            shutil.rmtree(DATA, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
