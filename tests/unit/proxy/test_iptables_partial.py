"""Partial syncs (KEP-3453): only changed Services' chains, stale chains deleted, counts kept."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from proxy_scenarios import (
    CLUSTER_CIDR,
    HTTP,
    HTTP_EP,
    NODE,
    NODE_IP,
    THREE,
    endpoint_slice,
    service,
)

from kubesvc.proxy.iptables import names
from kubesvc.proxy.iptables.render import Rendered, render, render_sync
from kubesvc.proxy.model import EndpointInfo, ServicePortInfo, endpoints_from, service_ports_from

GOLDEN = Path(__file__).parent / "golden"
DNS = [{"name": "dns", "protocol": "UDP", "port": 53}]
SERVICES = [
    service("web", "10.96.0.10", HTTP),
    service("api", "10.96.0.11", [{**HTTP[0], "nodePort": 30080}], type="NodePort"),
    service("dns", "10.96.0.53", DNS),
]
SLICES = [
    endpoint_slice("web", HTTP_EP, THREE),
    endpoint_slice("api", HTTP_EP, THREE[:2]),
    endpoint_slice("dns", DNS, THREE[:1]),
]
GONE = names.service_chain("default/old:http", "tcp")
GONE_SEP = names.endpoint_chain("default/old:http", "tcp", "10.244.9.9:80")


def state() -> tuple[list[ServicePortInfo], dict[str, list[EndpointInfo]]]:
    ports = [p for s in SERVICES for p in service_ports_from(s)]
    return ports, {p.key: endpoints_from(SLICES, p, NODE) for p in ports}


def sync(**options: Any) -> Rendered:
    ports, eps = state()
    return render_sync(ports, eps, node_ip=NODE_IP, cluster_cidr=CLUSTER_CIDR, **options)


CASES: dict[str, dict[str, Any]] = {
    "partial-one-changed": {
        "changed": {"default/web"},
        "existing_nat_chains": {"KUBE-SERVICES", "KUBE-MARK-DROP", GONE, GONE_SEP},
    },
    "partial-nothing-changed": {"changed": set()},
    "full-with-stale": {"existing_nat_chains": {GONE, GONE_SEP, "DOCKER"}},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str) -> None:
    text = sync(**CASES[name]).text
    path = GOLDEN / f"{name}.rules"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def chains_written(text: str) -> set[str]:
    return {ln[1:].split()[0] for ln in text.splitlines() if ln.startswith(":")}


def test_a_partial_sync_writes_the_changed_services_chains_and_every_top_level_rule() -> None:
    full, partial = sync(), sync(changed={"default/web"})
    api = names.service_chain("default/api:http", "tcp")
    assert names.service_chain("default/web:http", "tcp") in chains_written(partial.text)
    assert api not in chains_written(partial.text) and f"-A {api} " not in partial.text
    # the unchanged Services are still reachable: their entry rules are rewritten
    assert (
        f'"default/api:http cluster IP" -m tcp -p tcp -d 10.96.0.11 --dport 80 -j {api}'
        in partial.text
    )
    assert "--dport 30080 -j KUBE-EXT-" in partial.text
    web = [names.service_chain("default/web:http", "tcp")] + [
        names.endpoint_chain("default/web:http", "tcp", f"{ip}:8080") for ip, _ in THREE
    ]
    top = {"KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"}
    assert chains_written(partial.text.split("*nat")[1]) == top | set(web)
    # the counts are those of the full rule set, and the same chains are kept
    assert (partial.nat_rules, partial.filter_rules) == (full.nat_rules, full.filter_rules)
    assert partial.nat_rules_written < full.nat_rules_written
    assert partial.active_nat_chains == full.active_nat_chains
    assert full.nat_rules == sum(
        ln.startswith("-A ") for ln in full.text.split("*nat")[1].splitlines()
    )


def test_chains_no_service_uses_are_flushed_then_deleted_and_foreign_chains_are_left() -> None:
    out = sync(changed=set(), existing_nat_chains={GONE, GONE_SEP, "DOCKER", "KUBE-MARK-DROP"})
    lines = out.text.splitlines()
    assert out.deleted_chains == tuple(sorted((GONE, GONE_SEP)))
    for chain in (GONE, GONE_SEP):
        assert lines.index(f":{chain} - [0:0]") < lines.index(f"-X {chain}")
    assert "DOCKER" not in out.text and "KUBE-MARK-DROP" not in out.text
    # the -X lines come before the final KUBE-SERVICES rule, as upstream writes them
    last = max(i for i, ln in enumerate(lines) if ln.startswith("-A KUBE-SERVICES"))
    assert all(lines.index(f"-X {c}") < last for c in (GONE, GONE_SEP))


def test_a_chain_still_in_use_is_never_deleted_even_if_its_service_did_not_change() -> None:
    existing = {c for c in sync().active_nat_chains if names.is_service_chain(c)}
    assert sync(changed=set(), existing_nat_chains=existing).deleted_chains == ()


def test_no_local_endpoint_counts() -> None:
    ports = service_ports_from(
        service("itp", "10.96.0.12", HTTP, internalTrafficPolicy="Local")
    ) + service_ports_from(
        service(
            "etp",
            "10.96.0.13",
            [{**HTTP[0], "nodePort": 30081}],
            type="NodePort",
            externalTrafficPolicy="Local",
        )
    )
    remote = [EndpointInfo(ip="10.244.2.5", port=8080, node_name="node-2")]
    out = render_sync(ports, {p.key: remote for p in ports}, cluster_cidr=CLUSTER_CIDR)
    assert (out.no_local_internal, out.no_local_external) == (1, 1)


def test_render_is_the_full_sync_text() -> None:
    ports, eps = state()
    assert render(ports, eps, node_ip=NODE_IP, cluster_cidr=CLUSTER_CIDR) == sync().text
    assert re.search(r"--or-mark 0x004000$", render(ports, eps), re.M)
