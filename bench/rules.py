"""Benchmark of the iptables mode's syncs: render and apply, full and partial, nft and legacy.

    sudo PYTHONPATH=src .venv/bin/python bench/rules.py [--sizes 1000,10000] [--endpoints 5]

Needs root; no cluster and no lock (each backend gets its own scratch network namespace, named
`ks-bench-rules-<random>`, deleted at the end even on failure). For each size (Services ×
ENDPOINTS endpoints, all ClusterIP, endpoints sorted as the proxy sorts them) it times:

- render, full and partial (pure Python, `render_sync`; the same text feeds both backends, so
  the render rows are measured once per size and printed in both columns). A partial render
  still walks every Service, as upstream does, to count rules and find the chains to keep;
- for each backend (`iptables-nft`, `iptables-legacy`) in a fresh namespace with kube-proxy's
  base chains: the first full restore (empty kernel), a full resync (every chain rewritten, as
  after a canary flush or once an hour), `iptables-save -t nat` (how a sync finds stale chains;
  the proxy does it at most once per sync period above 1000 endpoints), the restore of a
  one-Service partial sync, and a whole partial sync as the proxier does it in a large cluster
  (render with `changed={that Service}` and no stale-chain scan, then restore), alternately
  removing and re-adding one endpoint of that Service.

Medians of RUNS runs; a measurement whose first run takes longer than SLOW seconds is not
repeated, and a full resync is skipped when the first full restore already took that long
(they cost the same: both write every chain). On this machine `iptables-nft-restore` 1.8.9
grows about quadratically with the ruleset (10k × 5 takes minutes, most of it `strcmp` in its
own user space), so that cell dominates the run time.

Published kube-proxy figures are printed under the table (see REFERENCES); they are whole
clusters and other machines, quoted beside our numbers, not compared cell by cell.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from kubesvc.proxy.iptables.apply import IptablesTool
from kubesvc.proxy.iptables.render import render_sync
from kubesvc.proxy.model import EndpointInfo, ServicePortInfo

RUNS = 5
SLOW = 60.0  # seconds: a measurement slower than this is taken once
BACKENDS = (("nft", "iptables-nft"), ("legacy", "iptables-legacy"))
OPTIONS: dict[str, Any] = {"node_ip": "172.18.0.2", "cluster_cidr": "10.244.0.0/16"}
CHANGED = "bench/svc-0"

REFERENCES = """\
Published kube-proxy figures (other machines, whole clusters; for scale, not cell by cell):
- KEP-3453 (kubernetes/enhancements keps/sig-network/3453-minimize-iptables-restore/README.md,
  "What are the reasonable SLOs"): turning partial restores on in the gce-5000Nodes scalability
  test halved network_programming_duration_seconds at p50, p90 and p99, p50 "from about 27
  seconds to about 13"; lowering --iptables-min-sync-period from 10s to 1s then brought p50 to
  "about 5 seconds" (p90/p99 unchanged, "dominated by the time it takes to do full resyncs").
- kubernetes/kubernetes#92836 (2020, on the 10 s min-sync-period): "We had lots of reports of
  people whose iptables runs were 4-5 seconds each".
- kubernetes/kubernetes#138073 (2026, a user's kube-proxy log): 3,595 Services, 138,792
  endpoints, 12,044 nat chains, 38,841 nat rules: one partial sync took 2.84 s.
- "NFTables mode for kube-proxy" (kubernetes.io blog, 2025-02-28): with iptables the update
  sent on every sync stays O(number of Services) even with partial restores."""


def cluster(
    services: int, endpoints: int
) -> tuple[list[ServicePortInfo], dict[str, list[EndpointInfo]]]:
    ports, eps = [], {}
    for i in range(services):
        port = ServicePortInfo(
            namespace="bench",
            name=f"svc-{i}",
            port_name="http",
            protocol="TCP",
            cluster_ip=f"10.{96 + i // 65536}.{i // 256 % 256}.{i % 256}",
            port=80,
        )
        ports.append(port)
        eps[port.key] = [
            EndpointInfo(ip=f"10.{200 + e}.{i // 256 % 256}.{i % 256}", port=8080, node_name="n")
            for e in range(endpoints)
        ]
    return ports, eps


def timed(fn: Callable[[], object], runs: int = RUNS) -> float:
    """The median wall time of `fn` over `runs` runs, or of fewer when one run exceeds SLOW."""
    samples: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
        if samples[-1] > SLOW:
            break
    return statistics.median(samples)


class Workload:
    """One size's Services and endpoints, with the partial change the benchmark flips."""

    def __init__(self, services: int, endpoints: int) -> None:
        self.endpoints = endpoints
        self.ports, self.eps = cluster(services, endpoints)
        self.key = self.ports[0].key
        self.all_eps = list(self.eps[self.key])

    def flip(self) -> None:
        """Remove the first Service's last endpoint, or put it back."""
        current = self.eps[self.key]
        self.eps[self.key] = current[:-1] if len(current) == self.endpoints else self.all_eps

    def render_full(self) -> str:
        return render_sync(self.ports, self.eps, **OPTIONS).text

    def render_partial(self) -> str:
        return render_sync(self.ports, self.eps, changed={CHANGED}, **OPTIONS).text


def measure_render(work: Workload) -> dict[str, float]:
    full = render_sync(work.ports, work.eps, **OPTIONS)
    return {
        "nat rules": full.nat_rules,
        "render, full (Python)": timed(work.render_full),
        "render, partial (Python)": timed(work.render_partial),
    }


def measure_backend(binary: str, work: Workload) -> dict[str, float | None]:
    netns = f"ks-bench-rules-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        tool = IptablesTool(binary, netns)
        tool.ensure_base()
        full = work.render_full()
        start = time.perf_counter()
        tool.restore(full)
        first = time.perf_counter() - start
        resync = timed(lambda: tool.restore(full)) if first <= SLOW else None
        save = timed(lambda: tool.chains("nat"))
        partial = work.render_partial()
        partial_restore = timed(lambda: tool.restore(partial))

        def partial_sync() -> None:
            work.flip()
            tool.restore(work.render_partial())

        return {
            "first full restore (empty kernel)": first,
            "full resync (every chain rewritten)": resync,
            "iptables-save -t nat": save,
            "partial restore (1 Service changed)": partial_restore,
            "partial sync (render + restore)": timed(partial_sync),
        }
    finally:
        subprocess.run(["ip", "netns", "delete", netns], check=False)


def cell(row: str, value: float | None) -> str:
    if value is None:
        return f"{'skipped':>13}"
    if row == "nat rules":
        return f"{int(value):>13,}"
    if value >= 10:
        return f"{value:>11.1f} s"
    return f"{value * 1000:>10.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="Service counts, comma-separated")
    parser.add_argument("--endpoints", type=int, default=5, help="endpoints per Service")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/rules.py needs root (network namespaces, iptables)", file=sys.stderr)
        return 1
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    columns: list[tuple[str, dict[str, float | None]]] = []
    started = time.monotonic()
    for size in sizes:
        work = Workload(size, args.endpoints)
        renders = measure_render(work)
        for name, binary in BACKENDS:
            print(f"measuring {size} Services on {binary} ...", file=sys.stderr, flush=True)
            title = f"{size // 1000}k {name}" if size % 1000 == 0 else f"{size} {name}"
            columns.append((title, {**renders, **measure_backend(binary, work)}))
    version = subprocess.run(["iptables", "-V"], capture_output=True, text=True).stdout.split()
    print(
        f"iptables mode, Services × {args.endpoints} endpoints, median of up to {RUNS} runs "
        f"(iptables {version[1] if len(version) > 1 else '?'}, {os.cpu_count()} CPUs)"
    )
    print(f"{'':38}" + "".join(f"{title:>13}" for title, _ in columns))
    for row in columns[0][1]:
        print(f"{row:38}" + "".join(cell(row, values[row]) for _, values in columns))
    print(
        f"\nrender rows: pure Python, one text for both backends.\n'skipped': the first full "
        f"restore took over {SLOW:.0f} s, and a resync writes the same rules.\n"
        f"whole run {time.monotonic() - started:.0f} s\n"
    )
    print(REFERENCES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
