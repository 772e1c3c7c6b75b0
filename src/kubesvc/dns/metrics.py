"""Prometheus metrics under CoreDNS's names, rendered in the text exposition format.

Pure. The server calls `request(...)` once per answered query and `forward(...)` per upstream
exchange; `render()` gives the `/metrics` page:

- `coredns_dns_requests_total{server,zone,proto,family,type}`
- `coredns_dns_responses_total{server,zone,rcode,plugin}`
- `coredns_dns_request_duration_seconds{server,zone,type}` (histogram, CoreDNS's buckets:
  0.25 ms doubling 16 times)
- `coredns_cache_hits_total{server,type}` (type success or denial), `coredns_cache_misses_total`
  (answers the cache did not have: from the cluster view or forwarded)
- `coredns_forward_requests_total{to}`, `coredns_forward_responses_total{to,rcode}`

`request` sits on the hot path, so it only bumps one slot (count and duration sum) keyed by
everything the families above need; `render` adds the slots up. Query types outside the common
set are counted as `other`, as CoreDNS does, so random types cannot grow the key set unbounded.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from typing import TypeVar

K = TypeVar("K")

BUCKETS = tuple(0.00025 * 2**i for i in range(16))
TYPES = frozenset(
    [
        "A",
        "AAAA",
        "NS",
        "PTR",
        "SOA",
        "CNAME",
        "MX",
        "TXT",
        "SRV",
        "NAPTR",
        "DS",
        "DNSKEY",
        "RRSIG",
        "NSEC",
        "NSEC3",
        "HTTPS",
        "SVCB",
        "CAA",
        "ANY",
        "AXFR",
        "IXFR",
        "OPT",
    ]
)
RCODE_NAMES = {
    0: "NOERROR",
    1: "FORMERR",
    2: "SERVFAIL",
    3: "NXDOMAIN",
    4: "NOTIMP",
    5: "REFUSED",
    16: "BADVERS",
}
ZONE = "."
# (proto, family, type, rcode, plugin, bucket index, denial) → [count, seconds]
Slot = tuple[str, str, str, int, str, int, bool]


def _labels(**values: str) -> str:
    escaped = (
        (k, v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))
        for k, v in values.items()
    )
    return "{" + ",".join(f'{k}="{v}"' for k, v in escaped) + "}"


def _family(name: str, kind: str, help_text: str) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


def _sum_by(pairs: Iterable[tuple[K, int]]) -> dict[K, int]:
    totals: dict[K, int] = defaultdict(int)
    for key, count in pairs:
        totals[key] += count
    return totals


class Metrics:
    def __init__(self, server: str) -> None:
        self.server = server
        self._slots: dict[Slot, list[float]] = {}
        self._forwards: dict[str, int] = defaultdict(int)
        self._forward_responses: dict[tuple[str, str], int] = defaultdict(int)

    def request(
        self,
        proto: str,
        family: str,
        qtype: str,
        rcode: int,
        plugin: str,
        seconds: float,
        reply: bytes,
    ) -> None:
        """One answered query; `plugin` "cache" is a cache hit, kubernetes/forward a miss."""
        denial = plugin == "cache" and (rcode == 3 or reply[6:8] == b"\0\0")
        key = (
            proto,
            family,
            qtype if qtype in TYPES else "other",
            rcode,
            plugin,
            bisect.bisect_left(BUCKETS, seconds),
            denial,
        )
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = [0, 0.0]
        slot[0] += 1
        slot[1] += seconds

    def forward(self, to: str, rcode: int | None) -> None:
        self._forwards[to] += 1
        if rcode is not None:
            self._forward_responses[(to, RCODE_NAMES.get(rcode, str(rcode)))] += 1

    def render(self) -> str:
        server, slots = self.server, list(self._slots.items())
        lines = _family(
            "coredns_dns_requests_total",
            "counter",
            "Counter of DNS requests made per zone, protocol and family.",
        )
        requests = _sum_by(((k[0], k[1], k[2]), int(v[0])) for k, v in slots)
        for (proto, fam, kind), count in sorted(requests.items()):
            labels = _labels(server=server, zone=ZONE, proto=proto, family=fam, type=kind)
            lines.append(f"coredns_dns_requests_total{labels} {count}")
        lines += _family(
            "coredns_dns_responses_total", "counter", "Counter of response status codes."
        )
        responses = _sum_by(((RCODE_NAMES.get(k[3], str(k[3])), k[4]), int(v[0])) for k, v in slots)
        for (rcode, plugin), count in sorted(responses.items()):
            labels = _labels(server=server, zone=ZONE, rcode=rcode, plugin=plugin)
            lines.append(f"coredns_dns_responses_total{labels} {count}")
        lines += self._durations(slots)
        lines += _family("coredns_cache_hits_total", "counter", "The count of cache hits.")
        hits = _sum_by(
            ("denial" if k[6] else "success", int(v[0])) for k, v in slots if k[4] == "cache"
        )
        for kind, count in sorted(hits.items()):
            lines.append(
                f"coredns_cache_hits_total{_labels(server=server, type=str(kind))} {count}"
            )
        lines += _family("coredns_cache_misses_total", "counter", "The count of cache misses.")
        misses = sum(int(v[0]) for k, v in slots if k[4] in ("kubernetes", "forward"))
        lines.append(f"coredns_cache_misses_total{_labels(server=server)} {misses}")
        lines += _family(
            "coredns_forward_requests_total", "counter", "Counter of requests made per upstream."
        )
        for to, count in sorted(self._forwards.items()):
            lines.append(f"coredns_forward_requests_total{_labels(to=to)} {count}")
        lines += _family(
            "coredns_forward_responses_total",
            "counter",
            "Counter of responses received per upstream.",
        )
        for (to, rcode), count in sorted(self._forward_responses.items()):
            lines.append(f"coredns_forward_responses_total{_labels(to=to, rcode=rcode)} {count}")
        return "\n".join(lines) + "\n"

    def _durations(self, slots: list[tuple[Slot, list[float]]]) -> list[str]:
        name = "coredns_dns_request_duration_seconds"
        lines = _family(name, "histogram", "Histogram of the time (in seconds) each request took.")
        counts: dict[str, list[int]] = {}
        sums: dict[str, float] = defaultdict(float)
        for key, (count, seconds) in slots:
            counts.setdefault(key[2], [0] * (len(BUCKETS) + 1))[key[5]] += int(count)
            sums[key[2]] += seconds
        for kind, per_bucket in sorted(counts.items()):
            running = 0
            for bound, count in zip((*BUCKETS, float("inf")), per_bucket, strict=True):
                running += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                labels = _labels(server=self.server, zone=ZONE, type=kind, le=le)
                lines.append(f"{name}_bucket{labels} {running}")
            labels = _labels(server=self.server, zone=ZONE, type=kind)
            lines.append(f"{name}_sum{labels} {sums[kind]!r}")
            lines.append(f"{name}_count{labels} {running}")
        return lines
