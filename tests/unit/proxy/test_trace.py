"""`kubesvc trace`: packets walked through a real cluster's rules, and the words explaining them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from trace_fixture import (
    HOST,
    HOSTNAMES,
    KUBE_DNS,
    MYAPP_NODE_PORT,
    NONE,
    STICKY,
    from_node,
    from_pod,
    network,
    pod,
)

from kubesvc.proxy.trace import report
from kubesvc.proxy.trace.explain import odds
from kubesvc.proxy.trace.path import Outcome, Trace, trace

GOLDEN = Path(__file__).parent / "golden"
NET = network()


def landing(result: Trace) -> dict[str, tuple[str, str, str]]:
    """pod name → (odds, verdict, source the pod sees)."""
    return {
        o.pod.name if o.pod else o.node: (odds(o.probability), o.verdict, o.packet.src)
        for o in result.outcomes
    }


def text_of(outcome: Outcome) -> str:
    return "\n".join(f"{s.where}: {s.text} {' '.join(s.rules)}" for s in outcome.steps)


def test_from_a_node_each_endpoint_has_one_third_and_the_source_is_masqueraded() -> None:
    result = trace(NET, from_node("node-1"), HOSTNAMES, 80)
    seen = landing(result)
    hostnames = {p.name for p in NET.pods.values() if p.name.startswith("hostnames")}
    assert set(seen) == hostnames
    local = pod(NET, "hostnames", "node-1").name
    for name, (chance, verdict, source) in seen.items():
        assert (chance, verdict) == ("1/3", "delivered")
        # masqueraded to the address of the interface the packet leaves by
        assert source == ("10.244.1.1" if name == local else "172.18.0.2")
    assert sum(o.probability for o in result.outcomes) == pytest.approx(1.0)
    words = text_of(result.outcomes[0])
    assert "hands every new connection to kube-proxy's KUBE-SERVICES" in words
    assert "cluster IP of Service default/hostnames (port default)" in words
    assert "outside the pod network 10.244.0.0/16" in words
    assert "-A KUBE-SVC-ODX2UBAZM7RQWOIU ! -s 10.244.0.0/16 -d 10.100.224.154/32" in words


def test_from_a_pod_the_source_is_kept_except_for_hairpin() -> None:
    client = pod(NET, "hostnames", "node-2")
    result = trace(NET, from_pod(client), HOSTNAMES, 80)
    seen = landing(result)
    assert seen[client.name] == ("1/3", "delivered", "10.244.2.1")  # hairpin: masqueraded
    others = [v for name, v in seen.items() if name != client.name]
    assert others == [("1/3", "delivered", client.ip)] * 2
    hairpin = next(o for o in result.outcomes if o.pod == client)
    assert "hairpin" in text_of(hairpin)
    assert "enters node-2 on the cni0 bridge" in hairpin.steps[0].text


def test_from_the_host_the_first_node_is_the_one_its_route_names() -> None:
    result = trace(NET, HOST, HOSTNAMES, 80)
    assert all(
        o.steps[0].text.startswith("The host (172.18.0.1) sends the packet to node-1")
        for o in result.outcomes
    )
    assert {v[2] for v in landing(result).values()} == {"10.244.1.1", "172.18.0.2"}


def test_node_port_from_the_host_and_on_the_node_itself() -> None:
    remote = trace(NET, HOST, "172.18.0.4", MYAPP_NODE_PORT)
    assert {o.pod.name for o in remote.outcomes if o.pod} == {
        p.name for p in NET.pods.values() if p.name.startswith("myapp")
    }
    words = text_of(remote.outcomes[0])
    assert "NodePort of Service default/myapp (port http)" in words
    assert (
        "marked for masquerading, because the endpoint chosen next may be on another node" in words
    )
    local = trace(NET, from_node("node-2"), "127.0.0.1", MYAPP_NODE_PORT)
    assert [o.verdict for o in local.outcomes] == ["delivered"] * 3
    assert "127.0.0.1 is an address of this node" in text_of(local.outcomes[0])


def test_a_service_without_endpoints_is_rejected_from_a_node_and_from_a_pod() -> None:
    for origin in (from_node("node-3"), from_pod(pod(NET, "myapp", "node-1"))):
        result = trace(NET, origin, NONE, 80)
        assert [o.verdict for o in result.outcomes] == ["rejected"]
        words = text_of(result.outcomes[0])
        assert "Service default/none (port 80-80) has no endpoints" in words
        assert "-j REJECT --reject-with icmp-port-unreachable" in words


def test_addresses_no_service_has_are_routed_normally() -> None:
    target = pod(NET, "myapp", "node-3")
    result = trace(NET, from_node("node-1"), target.ip, 80)
    (outcome,) = result.outcomes
    assert outcome.verdict == "delivered" and outcome.pod == target
    assert outcome.packet.src == "172.18.0.2"  # no masquerade: nothing marked it
    assert f"No Service has the address {target.ip}" in text_of(outcome)
    (lost,) = trace(NET, from_node("node-1"), "10.96.55.55", 80).outcomes
    assert lost.verdict == "lost" and "No Service has the address 10.96.55.55" in text_of(lost)
    (wrong_port,) = trace(NET, from_node("node-1"), HOSTNAMES, 8080).outcomes
    assert "belongs to a Service" in text_of(wrong_port) and wrong_port.verdict == "lost"


def test_udp_and_client_ip_affinity() -> None:
    dns = trace(NET, from_pod(pod(NET, "myapp", "node-3")), KUBE_DNS, 53, "udp")
    assert (
        sorted(landing(dns).values()) == [("1/2", "delivered", pod(NET, "myapp", "node-3").ip)] * 2
    )
    sticky = trace(NET, from_node("node-1"), STICKY, 81)
    assert len(sticky.outcomes) == 3
    words = text_of(sticky.outcomes[0])
    assert "ClientIP affinity" in words and "--rcheck --seconds 10800" in words
    assert "records the client in the affinity list KUBE-SEP-" in words


@pytest.mark.parametrize(
    ("name", "origin", "dest", "port"),
    [
        ("trace-host-hostnames", HOST, HOSTNAMES, 80),
        ("trace-node-none", from_node("node-2"), NONE, 80),
    ],
)
def test_report_golden(name: str, origin: object, dest: str, port: int) -> None:
    text = report.text(trace(NET, origin, dest, port))  # type: ignore[arg-type]
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_json_report() -> None:
    data = report.as_json(trace(NET, from_node("node-1"), HOSTNAMES, 80))
    assert data["destination"] == f"{HOSTNAMES}:80" and data["protocol"] == "tcp"
    assert sorted(o["odds"] for o in data["outcomes"]) == ["1/3"] * 3
    assert {o["pod"].split("/")[0] for o in data["outcomes"]} == {"default"}
    assert all(o["steps"][-1]["where"] == "result" for o in data["outcomes"])
