"""Benchmark of the iptables mode's syncs: render and apply, full and partial, nft and legacy.

    sudo PYTHONPATH=src .venv/bin/python bench/rules.py [--sizes 1000,10000] [--endpoints 5]
                                                         [--one-input-full]

Needs root; no cluster and no lock (each backend gets its own scratch network namespaces, named
`ks-bench-rules-<random>`, deleted at the end even on failure). For each size (Services ×
ENDPOINTS endpoints, all ClusterIP, endpoints sorted as the proxy sorts them) it times:

- render, full and partial (pure Python, `render_sync`; the same text feeds both backends, so
  the render rows are measured once per size and printed in both columns). The partial render
  reuses the previous sync's rules for the unchanged Services, as the proxier does;
- for each backend (`iptables-nft`, `iptables-legacy`) in a fresh namespace with kube-proxy's
  base chains: a first full sync (empty kernel) as the proxier applies it (one input, or
  chunks above 1,000 Service ports on iptables-nft: `restores.full_restores`), a full resync
  (every chain rewritten), `iptables-save -t nat` (what upstream runs to find stale chains),
  the restore of a one-Service partial sync as upstream writes it (every top-level chain
  whole: KUBE-SERVICES has a rule per Service) and as the proxier writes it (only the difference:
  `restores.partial_restore`), and a whole partial sync as the proxier does it (render with
  the previous sync's pieces, then restore the difference), alternately removing and
  re-adding one endpoint of that Service.
- with `--one-input-full`, also the first full sync as one input, as upstream applies it. On
  this machine `iptables-nft-restore` 1.8.9 grows about quadratically with one input's size
  (10k × 5 took 300 s, most of it `strcmp` in its own user space), which is why the proxier
  cuts large full syncs into chunks; without the flag that row is measured on iptables-nft
  only up to 1,000 (iptables-legacy always gets one input, from the proxier too).

Medians of RUNS runs; a measurement whose first run takes longer than SLOW seconds is not
repeated. Published kube-proxy figures are printed under the table (see REFERENCES); they are
whole clusters and other machines, quoted beside our numbers, not compared cell by cell.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from kubesvc.proxy.iptables.apply import IptablesTool
from kubesvc.proxy.iptables.render import Rendered, render_sync
from kubesvc.proxy.iptables.restores import CHUNK, full_restores, partial_restore
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
        self.last = self.render_full()

    def flip(self) -> None:
        """Remove the first Service's last endpoint, or put it back."""
        current = self.eps[self.key]
        self.eps[self.key] = current[:-1] if len(current) == self.endpoints else self.all_eps

    def render_full(self) -> Rendered:
        return render_sync(self.ports, self.eps, **OPTIONS)

    def render_upstream_partial(self) -> Rendered:
        """A partial sync without the previous sync's pieces: every Service rendered again."""
        return render_sync(self.ports, self.eps, changed={CHANGED}, **OPTIONS)

    def render_partial(self) -> Rendered:
        """The proxier's partial sync, after the previous one (`self.last`) was applied."""
        rendered = render_sync(
            self.ports,
            self.eps,
            changed={CHANGED},
            previous=self.last,
            existing_nat_chains=self.last.active_nat_chains,
            **OPTIONS,
        )
        self.last = rendered
        return rendered


def measure_render(work: Workload) -> dict[str, float | None]:
    def partial() -> None:
        work.flip()
        work.render_partial()

    return {
        "nat rules": work.last.nat_rules,
        "render, full (Python)": timed(work.render_full),
        "render, partial as upstream (Python)": timed(work.render_upstream_partial),
        "render, partial (Python)": timed(partial),
    }


@contextlib.contextmanager
def scratch(binary: str) -> Iterator[IptablesTool]:
    netns = f"ks-bench-rules-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        tool = IptablesTool(binary, netns)
        tool.ensure_base()
        yield tool
    finally:
        subprocess.run(["ip", "netns", "delete", netns], check=False)


def apply_full(tool: IptablesTool, rendered: Rendered) -> None:
    """As the proxier applies a full sync: in chunks on iptables-nft, as one input on legacy."""
    for text in full_restores(rendered, CHUNK if tool.nf_tables() else None):
        tool.restore(text)


def measure_backend(binary: str, work: Workload, one_input: bool) -> dict[str, float | None]:
    full = work.render_full()
    row: dict[str, float | None] = {"first full sync, one input (upstream)": None}
    if one_input or len(work.ports) <= 1000 or binary.endswith("legacy"):
        with scratch(binary) as tool:
            row["first full sync, one input (upstream)"] = timed(
                lambda: tool.restore(full.text), runs=1
            )
    with scratch(binary) as tool:
        row["first full sync (kubesvc)"] = timed(lambda: apply_full(tool, full), runs=1)
        row["full resync (every chain rewritten)"] = timed(lambda: apply_full(tool, full))
        row["iptables-save -t nat"] = timed(lambda: tool.chains("nat"))
        work.last = full
        upstream = work.render_upstream_partial().text
        row["partial restore as upstream (1 Service)"] = timed(lambda: tool.restore(upstream))
        work.last = full
        difference = partial_restore(work.render_partial(), full.top).text
        row["partial restore (1 Service, difference)"] = timed(lambda: tool.restore(difference))
        work.last = work.render_full()
        apply_full(tool, work.last)

        def partial_sync() -> None:
            previous = work.last
            work.flip()
            tool.restore(partial_restore(work.render_partial(), previous.top).text)

        row["partial sync (render + restore)"] = timed(partial_sync)
    return row


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
    parser.add_argument(
        "--one-input-full",
        action="store_true",
        help="also time a full sync as one input above 1,000 Services (minutes with iptables-nft)",
    )
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
            backend = measure_backend(binary, work, args.one_input_full)
            columns.append((title, {**renders, **backend}))
    version = subprocess.run(["iptables", "-V"], capture_output=True, text=True).stdout.split()
    print(
        f"iptables mode, Services × {args.endpoints} endpoints, median of up to {RUNS} runs "
        f"(iptables {version[1] if len(version) > 1 else '?'}, {os.cpu_count()} CPUs)"
    )
    print(f"{'':38}" + "".join(f"{title:>13}" for title, _ in columns))
    for row in columns[0][1]:
        print(f"{row:38}" + "".join(cell(row, values[row]) for _, values in columns))
    print(
        "\nrender rows: pure Python, one text for both backends. 'skipped': one nft input above "
        "1,000 Services\nneeds --one-input-full (10k x 5 on iptables-nft took 300 s here). "
        "The proxier's rows: 'first full\nsync (kubesvc)', 'partial restore (1 Service, "
        f"difference)', 'partial sync'.\nwhole run {time.monotonic() - started:.0f} s\n"
    )
    print(REFERENCES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
