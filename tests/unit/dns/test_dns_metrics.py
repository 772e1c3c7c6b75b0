"""The /metrics page: CoreDNS's metric names and labels in the Prometheus text format."""

from __future__ import annotations

from kubesvc.dns.metrics import BUCKETS, Metrics

ANSWER = bytes.fromhex("1234 8580 0001 0001 0000 0000".replace(" ", ""))  # a header, one answer
EMPTY = bytes.fromhex("1234 8580 0001 0000 0000 0000".replace(" ", ""))


def samples(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_requests_responses_and_durations() -> None:
    metrics = Metrics("dns://:53")
    metrics.request("udp", "1", "A", 0, "kubernetes", 0.0003, ANSWER)
    metrics.request("udp", "1", "A", 3, "cache", 0.00001, EMPTY)
    metrics.request("tcp", "2", "TYPE65280", 0, "forward", 9, ANSWER)
    text = metrics.render()
    got = samples(text)
    server = 'server="dns://:53",zone="."'
    assert got[f'coredns_dns_requests_total{{{server},proto="udp",family="1",type="A"}}'] == 2
    assert got[f'coredns_dns_requests_total{{{server},proto="tcp",family="2",type="other"}}'] == 1
    assert got[f'coredns_dns_responses_total{{{server},rcode="NXDOMAIN",plugin="cache"}}'] == 1
    bucket = "coredns_dns_request_duration_seconds_bucket"
    assert got[f'{bucket}{{{server},type="A",le="0.00025"}}'] == 1
    assert got[f'{bucket}{{{server},type="A",le="0.0005"}}'] == 2
    assert got[f'{bucket}{{{server},type="A",le="+Inf"}}'] == 2
    assert got[f'{bucket}{{{server},type="other",le="{BUCKETS[-1]!r}"}}'] == 0
    assert got[f'{bucket}{{{server},type="other",le="+Inf"}}'] == 1
    assert got[f'coredns_dns_request_duration_seconds_count{{{server},type="A"}}'] == 2
    assert "# TYPE coredns_dns_request_duration_seconds histogram" in text
    assert "# TYPE coredns_dns_requests_total counter" in text


def test_cache_and_forward_counters() -> None:
    metrics = Metrics("dns://127.0.0.1:53")
    metrics.request("udp", "1", "A", 0, "cache", 0.0001, ANSWER)
    metrics.request("udp", "1", "A", 0, "cache", 0.0001, EMPTY)  # NODATA: a denial
    metrics.request("udp", "1", "A", 0, "kubernetes", 0.0001, ANSWER)
    metrics.request("udp", "1", "A", 1, "", 0.0001, EMPTY)  # FORMERR: no cache involved
    metrics.forward("10.0.0.2:53", 0)
    metrics.forward("10.0.0.2:53", None)
    got = samples(metrics.render())
    assert got['coredns_cache_hits_total{server="dns://127.0.0.1:53",type="success"}'] == 1
    assert got['coredns_cache_hits_total{server="dns://127.0.0.1:53",type="denial"}'] == 1
    assert got['coredns_cache_misses_total{server="dns://127.0.0.1:53"}'] == 1
    assert got['coredns_forward_requests_total{to="10.0.0.2:53"}'] == 2
    assert got['coredns_forward_responses_total{to="10.0.0.2:53",rcode="NOERROR"}'] == 1
