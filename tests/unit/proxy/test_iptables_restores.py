"""The partial sync's restore input: only the rules that differ from the previous sync."""

from __future__ import annotations

import copy

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
from kubesvc.proxy.iptables.apply import FakeIptables
from kubesvc.proxy.iptables.render import Rendered, render_sync
from kubesvc.proxy.iptables.restores import full_restores, partial_restore
from kubesvc.proxy.model import EndpointInfo, ServicePortInfo, endpoints_from, service_ports_from

Obj = dict


def state(
    services: list[Obj], slices: list[Obj]
) -> tuple[list[ServicePortInfo], dict[str, list[EndpointInfo]]]:
    ports = [p for s in services for p in service_ports_from(s)]
    return ports, {p.key: endpoints_from(slices, p, NODE) for p in ports}


def sync(
    services: list[Obj], slices: list[Obj], changed: set[str] | None, previous: Rendered | None
) -> Rendered:
    return render_sync(
        *state(services, slices),
        changed=changed,
        existing_nat_chains=previous.active_nat_chains if previous else (),
        previous=previous,
        node_ip=NODE_IP,
        cluster_cidr=CLUSTER_CIDR,
    )


def many(n: int) -> list[Obj]:
    return [service(f"s{i}", f"10.96.2.{i}", HTTP) for i in range(n)]


def test_nothing_changed_writes_nothing() -> None:
    full = sync(many(3), [endpoint_slice("s0", HTTP_EP, THREE)], None, None)
    again = sync(many(3), [endpoint_slice("s0", HTTP_EP, THREE)], set(), full)
    assert partial_restore(again, full.top).text == ""
    assert again.pieces["default/s1:http"] is full.pieces["default/s1:http"]


def test_a_first_endpoint_edits_kube_services_nat_first() -> None:
    full = sync(many(40), [], None, None)
    slices = [endpoint_slice("s7", HTTP_EP, THREE[:1])]
    restore = partial_restore(sync(many(40), slices, {"default/s7"}, full), full.top)
    svc = names.service_chain("default/s7:http", "tcp")
    assert restore.text.index("*nat") < restore.text.index("*filter")
    lines = restore.text.splitlines()
    assert [ln.split(" -j ")[-1] for ln in lines if "KUBE-SERVICES" in ln] == [
        svc,
        "REJECT",
    ]
    assert lines[lines.index("*nat") + 1 :][:1] == [f":{svc} - [0:0]"]
    assert any(ln.startswith("-I KUBE-SERVICES 1 -m comment") for ln in lines)
    assert any(ln.startswith("-D KUBE-SERVICES -m comment") and "REJECT" in ln for ln in lines)
    assert (restore.nat_rules, restore.filter_rules) == (5, 0)  # SVC x2, SEP x2, the -I


def test_many_changes_or_the_nodeport_jump_rewrite_the_chain() -> None:
    full = sync(many(40), [], None, None)
    slices = [endpoint_slice(f"s{i}", HTTP_EP, THREE[:1]) for i in range(20)]
    changed = {f"default/s{i}" for i in range(20)}
    text = partial_restore(sync(many(40), slices, changed, full), full.top).text
    assert ":KUBE-SERVICES - [0:0]" in text and "-D KUBE-SERVICES" not in text
    nat, filter_ = text.split("*filter")
    assert nat.count("\n-A KUBE-SERVICES ") == 21  # 20 Services and the KUBE-NODEPORTS jump
    assert ":KUBE-SERVICES - [0:0]" in filter_ and filter_.count("\n-A KUBE-SERVICES ") == 20


def test_a_deleted_service_is_unhooked_before_its_chains_go() -> None:
    slices = [endpoint_slice("s1", HTTP_EP, THREE)]
    full = sync(many(3), slices, None, None)
    partial = sync(many(3)[:1] + many(3)[2:], slices, {"default/s1"}, full)
    lines = partial_restore(partial, full.top).text.splitlines()
    svc = names.service_chain("default/s1:http", "tcp")
    unhook = next(i for i, ln in enumerate(lines) if ln.startswith("-D KUBE-SERVICES"))
    assert lines[unhook].endswith(f"-j {svc}") and unhook < lines.index(f"-X {svc}")
    assert len(partial.deleted_chains) == 4  # the KUBE-SVC and three KUBE-SEP


def test_a_big_full_sync_comes_in_chunks_each_leaving_a_consistent_kernel() -> None:
    """Service chains first (each input flushes and refills whole chains), the top-level chains
    last; every input loads on top of the previous ones, and the end is the one-input result."""
    slices = [endpoint_slice(f"s{i}", HTTP_EP, THREE[: i % 4]) for i in range(25)]
    old = FakeIptables()
    old.ensure_base()
    old.restore(sync(many(30), slices[5:], None, None).text)  # what an earlier run left
    kernel, one = copy.deepcopy(old), copy.deepcopy(old)
    rendered = render_sync(
        *state(many(25), slices),
        existing_nat_chains=set(old.tables["nat"]),
        node_ip=NODE_IP,
        cluster_cidr=CLUSTER_CIDR,
    )
    inputs = full_restores(rendered, chunk=10)
    assert len(inputs) == 4 and full_restores(rendered) == [rendered.text]
    assert all("KUBE-SERVICES" not in text for text in inputs[:3])
    for text in inputs:
        kernel.restore(text)  # the fake refuses jumps to missing chains and -X of used ones
    one.restore(rendered.text)
    assert kernel.tables == one.tables
