"""Cluster DNS speed, one command: `python bench/dns.py [--seconds 8] [--event-loop uvloop]`.

Starts a real `kubesvc apiserver` on a temporary data dir, creates 100 ClusterIP Services and
10 headless Services with 3 ready endpoints each (EndpointSlices written directly), runs
`kubesvc dns` on a loopback port, and, in the same run with the same load generator (dnsperf),
dnsmasq on another loopback port serving the same records (`--host-record`, NXDOMAIN for other
names under cluster.local via `--local`). The query mix: every Service's A record, every headless
Service's A records, and 10 names that do not exist. The answer caches are warmed first.

Printed: queries per second at saturation (dnsperf, 4 sockets, 256 queries in flight) and
latency p50/p99 at a fixed 20,000 queries per second (dnsperf -v, one line per answer), the
median of `--rounds` rounds that alternate between the two servers (this machine is shared, so
single runs are noisy); then the delay from a Service's creation (the API call returned) to its
name answering NOERROR, asked every 0.5 ms with the NXDOMAIN already in our cache. When
`taskset` exists the servers run on CPU 0 and dnsperf on CPU 1. dnsperf and dnsmasq are
installed with apt-get when missing (needs root).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from dnslib import DNSRecord  # noqa: E402

from kubesvc.api.resources import lookup  # noqa: E402
from kubesvc.client import Client  # noqa: E402
from tests.conftest import free_port, free_udp_and_tcp_port, start_apiserver  # noqa: E402

SERVICES, HEADLESS, MISSING = 100, 10, 10
FIXED_QPS = 20000


def ensure_tools() -> None:
    missing = [
        pkg
        for tool, pkg in (("dnsperf", "dnsperf"), ("dnsmasq", "dnsmasq-base"))
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists()
    ]
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"error: install {' '.join(missing)} (apt-get install {' '.join(missing)})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def pinned(cpu: int, cmd: list[str]) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(cpu), *cmd]
    return cmd


async def create_objects(url: str) -> dict[str, list[str]]:
    """The Services and slices; returns each name's A records."""
    services, slices = lookup("", "services"), lookup("discovery.k8s.io", "endpointslices")
    assert services is not None and slices is not None
    records: dict[str, list[str]] = {}
    async with Client(url) as client:
        for i in range(SERVICES):
            body = {"metadata": {"name": f"svc-{i}"}, "spec": {"ports": [{"port": 80}]}}
            created = await client.create(services, "default", body)
            records[f"svc-{i}.default.svc.cluster.local"] = [created["spec"]["clusterIP"]]
        for i in range(HEADLESS):
            name = f"hl-{i}"
            spec = {"clusterIP": "None", "ports": [{"name": "http", "port": 80}]}
            await client.create(services, "default", {"metadata": {"name": name}, "spec": spec})
            ips = [f"10.244.{j + 1}.{i + 10}" for j in range(3)]
            await client.create(
                slices,
                "default",
                {
                    "metadata": {
                        "name": f"{name}-a",
                        "labels": {"kubernetes.io/service-name": name},
                    },
                    "addressType": "IPv4",
                    "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
                    "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips],
                },
            )
            records[f"{name}.default.svc.cluster.local"] = ips
    return records


def start_dns(kubeconfig: Path, port: int, ready: int, event_loop: str) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable, "-m", "kubesvc.cli.main", "dns", "--kubeconfig", str(kubeconfig),
        "--listen", f"127.0.0.1:{port}", "--upstream", f"127.0.0.1:{free_udp_and_tcp_port()}",
        "--health-port", "0", "--metrics-port", "0", "--ready-port", str(ready),
        "--event-loop", event_loop,
    ]  # fmt: skip
    proc = subprocess.Popen(pinned(0, cmd), cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{ready}/ready", timeout=1) as reply:
                if reply.status == 200:
                    return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    sys.exit("error: kubesvc dns did not become ready")


def start_dnsmasq(port: int, records: dict[str, list[str]]) -> subprocess.Popen[bytes]:
    cmd = [
        "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces",
        "--listen-address=127.0.0.1", f"--port={port}", "--local=/cluster.local/",
        "--user=root", "--pid-file=", "--cache-size=10000",
    ]  # fmt: skip
    for name, ips in records.items():
        cmd += [f"--host-record={name},{ip}" for ip in ips]
    return subprocess.Popen(pinned(0, cmd))


def dnsperf(port: int, queries: Path, *args: str) -> str:
    cmd = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(queries), *args]
    return subprocess.run(pinned(1, cmd), capture_output=True, text=True, check=True).stdout


def throughput(port: int, queries: Path, seconds: float) -> tuple[float, float]:
    out = dnsperf(port, queries, "-l", str(seconds), "-c", "4", "-q", "256")
    qps = float(next(line for line in out.splitlines() if "Queries per second" in line).split()[-1])
    lost = next(line for line in out.splitlines() if "Queries lost" in line)
    return qps, float(lost.split("(")[1].rstrip("%)"))


def latency(port: int, queries: Path, seconds: float) -> tuple[float, float]:
    out = dnsperf(port, queries, "-l", str(seconds), "-Q", str(FIXED_QPS), "-v")
    samples = sorted(float(line.split()[-1]) for line in out.splitlines() if line.startswith(">"))
    if not samples:
        return float("nan"), float("nan")
    return (
        samples[len(samples) // 2] * 1000,
        samples[min(len(samples) - 1, int(0.99 * len(samples)))] * 1000,
    )


def ask(port: int, name: str) -> int:
    """The rcode of one A query (over UDP, 0.2 s timeout; -1 when none came)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        sock.sendto(bytes(DNSRecord.question(name).pack()), ("127.0.0.1", port))
        try:
            return int(DNSRecord.parse(sock.recv(4096)).header.rcode)
        except TimeoutError:
            return -1


async def creation_delays(url: str, port: int, count: int) -> list[float]:
    services = lookup("", "services")
    assert services is not None
    delays = []
    async with Client(url) as client:
        for i in range(count):
            name = f"late-{i}"
            fqdn = f"{name}.default.svc.cluster.local"
            assert ask(port, fqdn) == 3  # NXDOMAIN, and now in the cache
            body = {"metadata": {"name": name}, "spec": {"ports": [{"port": 80}]}}
            await client.create(services, "default", body)
            created = time.perf_counter()
            while ask(port, fqdn) != 0:
                await asyncio.sleep(0.0005)
            delays.append(time.perf_counter() - created)
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs; medians shown")
    parser.add_argument("--event-loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()
    ensure_tools()
    with tempfile.TemporaryDirectory() as tmp:
        api = start_apiserver(Path(tmp))
        procs: list[subprocess.Popen[bytes]] = []
        try:
            records = asyncio.run(create_objects(api.url))
            queries = Path(tmp) / "queries.txt"
            names = [*records, *(f"missing-{i}.default.svc.cluster.local" for i in range(MISSING))]
            queries.write_text("".join(f"{name} A\n" for name in names))
            ours, peer = free_udp_and_tcp_port(), free_udp_and_tcp_port()
            procs.append(start_dns(api.kubeconfig, ours, free_port(), args.event_loop))
            procs.append(start_dnsmasq(peer, records))
            time.sleep(0.5)
            servers = ((f"kubesvc dns ({args.event_loop})", ours), ("dnsmasq", peer))
            for _, port in servers:
                dnsperf(port, queries, "-l", "1", "-c", "4", "-q", "64")  # warm the caches
            results: dict[str, list[tuple[float, float, float, float]]] = {}
            for _ in range(args.rounds):  # alternate, so both see the same background load
                for label, port in servers:
                    qps, lost = throughput(port, queries, args.seconds)
                    p50, p99 = latency(port, queries, min(args.seconds, 4))
                    results.setdefault(label, []).append((qps, lost, p50, p99))
            rows = [
                (label, *map(median, zip(*runs, strict=True))) for label, runs in results.items()
            ]
            delays = asyncio.run(creation_delays(api.url, ours, 20))
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
            api.stop()
    print(
        f"dnsperf on loopback, {len(names)} names (A, headless A, NXDOMAIN), caches hot, "
        f"median of {args.rounds} alternating rounds"
    )
    print(f"{'server':<24}{'QPS':>12}{'lost %':>9}{f'p50 ms @{FIXED_QPS}':>16}{'p99 ms':>9}")
    for label, qps, lost, p50, p99 in rows:
        print(f"{label:<24}{qps:>12,.0f}{lost:>9.2f}{p50:>16.3f}{p99:>9.3f}")
    print(f"{'ratio (ours / dnsmasq)':<24}{rows[0][1] / rows[1][1]:>11.2f}x")
    ordered = sorted(delays)
    print(
        f"Service created -> name answers: p50 {ordered[len(ordered) // 2] * 1000:.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms ({len(ordered)} Services)"
    )


if __name__ == "__main__":
    main()
