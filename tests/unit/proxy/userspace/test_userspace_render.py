"""The userspace mode's portal rules: golden dumps per scenario, their meaning, and reading the
proxy ports back from `iptables-save`."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

import pytest

from kubesvc.proxy.model import service_ports_from
from kubesvc.proxy.userspace.render import (
    Portal,
    base_chains,
    base_rules,
    proxy_ports_from_saved,
    render,
)

GOLDEN = Path(__file__).parent / "golden"
NODE_IP = "172.18.0.2"


def service(name: str, cluster_ip: str, ports: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": spec.pop("namespace", "default")},
        "spec": {"clusterIP": cluster_ip, "clusterIPs": [cluster_ip], "ports": ports, **spec},
        "status": spec.pop("status", {}),
    }


HTTP = [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}]
DNS = [
    {"name": "dns", "protocol": "UDP", "port": 53, "targetPort": 53},
    {"name": "dns-tcp", "protocol": "TCP", "port": 53, "targetPort": 53},
]


def _lb() -> dict[str, Any]:
    svc = service(
        "lb",
        "10.96.0.30",
        [{**HTTP[0], "nodePort": 30443}],
        type="LoadBalancer",
    )
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.50"}]}}
    return svc


# name → (Services, options for render); proxy ports are 36000, 36001, … in Service-port order
SCENARIOS: dict[str, tuple[list[dict[str, Any]], dict[str, str]]] = {
    "clusterip": ([service("myapp", "10.96.0.10", HTTP)], {}),
    "unnamed-port": ([service("hostnames", "10.96.0.11", [{"port": 80, "targetPort": 9376}])], {}),
    "udp-and-tcp": ([service("kube-dns", "10.96.0.10", DNS, namespace="kube-system")], {}),
    "nodeport": (
        [service("myapp", "10.96.0.20", [{**HTTP[0], "nodePort": 30707}], type="NodePort")],
        {},
    ),
    "external-ips": ([service("web", "10.96.0.21", HTTP, externalIPs=["192.0.2.10"])], {}),
    "loadbalancer": ([_lb()], {}),
    "several": (
        [
            service("zeta", "10.96.0.40", HTTP),
            service("alpha", "10.96.0.41", [{**HTTP[0], "nodePort": 30001}], type="NodePort"),
            service("mid", "10.96.0.42", HTTP, namespace="apps"),
        ],
        {},
    ),
    "listen-ip": (
        [service("myapp", "10.96.0.20", [{**HTTP[0], "nodePort": 30707}], type="NodePort")],
        {"listen_ip": "172.18.0.2"},
    ),
    "sctp-skipped": (
        [service("s", "10.96.0.50", [{"name": "x", "protocol": "SCTP", "port": 9}])],
        {},
    ),
}


def portals(services: list[dict[str, Any]]) -> list[Portal]:
    infos = [info for svc in services for info in service_ports_from(svc)]
    return [Portal(service=info, proxy_port=36000 + i) for i, info in enumerate(infos)]


def scenario(name: str) -> str:
    services, options = SCENARIOS[name]
    return render(portals(services), host_ip=NODE_IP, **options)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden(name: str) -> None:
    text = scenario(name)
    path = GOLDEN / f"{name}.rules"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def rules_by_chain(text: str) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for line in text.splitlines():
        if line.startswith("-A "):
            words = shlex.split(line)
            out.setdefault(words[1], []).append(words[2:])
    return out


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_rule_is_in_a_declared_chain_of_its_table(name: str) -> None:
    table, declared = "", set()
    for line in scenario(name).splitlines():
        if line.startswith("*"):
            table, declared = line[1:], set()
        elif line.startswith(":"):
            declared.add(line[1:].split()[0])
        elif line.startswith("-A "):
            assert line.split()[1] in declared, (table, line)
    assert {chain for _, chain in base_chains()} == {
        "KUBE-PORTALS-CONTAINER",
        "KUBE-PORTALS-HOST",
        "KUBE-NODEPORT-CONTAINER",
        "KUBE-NODEPORT-HOST",
        "KUBE-NODEPORT-NON-LOCAL",
    }


def test_cluster_ip_from_pods_is_redirected_and_from_the_node_dnatted_to_the_proxy() -> None:
    rules = rules_by_chain(scenario("clusterip"))
    container = rules["KUBE-PORTALS-CONTAINER"]
    host = rules["KUBE-PORTALS-HOST"]
    assert container == [
        [
            "-d",
            "10.96.0.10/32",
            "-p",
            "tcp",
            "-m",
            "comment",
            "--comment",
            "default/myapp:http",
            "-m",
            "tcp",
            "--dport",
            "80",
            "-j",
            "REDIRECT",
            "--to-ports",
            "36000",
        ]
    ]
    assert host[0][-4:] == ["-j", "DNAT", "--to-destination", f"{NODE_IP}:36000"]
    assert "KUBE-NODEPORT-CONTAINER" not in rules


def test_node_port_goes_to_the_same_proxy_port_and_is_let_in() -> None:
    rules = rules_by_chain(scenario("nodeport"))
    assert rules["KUBE-NODEPORT-CONTAINER"][0][-5:] == [
        "30707",
        "-j",
        "REDIRECT",
        "--to-ports",
        "36000",
    ]
    assert rules["KUBE-NODEPORT-HOST"][0][-4:] == [
        "-j",
        "DNAT",
        "--to-destination",
        "172.18.0.2:36000",
    ]
    accept = rules["KUBE-NODEPORT-NON-LOCAL"][0]
    assert accept[accept.index("--dport") + 1] == "36000" and accept[-2:] == ["-j", "ACCEPT"]


def test_external_ip_from_the_node_only_when_it_is_local() -> None:
    rules = rules_by_chain(scenario("external-ips"))
    external = [r for r in rules["KUBE-PORTALS-HOST"] if "192.0.2.10/32" in r]
    assert len(external) == 1 and "--dst-type" in external[0]
    from_pods = [r for r in rules["KUBE-PORTALS-CONTAINER"] if "192.0.2.10/32" in r]
    assert [("physdev" in r, "addrtype" in r) for r in from_pods] == [(True, False), (False, True)]


def test_bound_to_one_address_every_portal_is_a_dnat_to_it() -> None:
    rules = rules_by_chain(scenario("listen-ip"))
    for chain in ("KUBE-PORTALS-CONTAINER", "KUBE-PORTALS-HOST", "KUBE-NODEPORT-CONTAINER"):
        assert rules[chain][0][-2:] == ["--to-destination", "172.18.0.2:36000"]


def test_no_portals_still_declares_the_chains_so_a_sync_empties_them() -> None:
    text = render([], host_ip=NODE_IP)
    assert text.splitlines() == [
        "*filter",
        ":KUBE-NODEPORT-NON-LOCAL - [0:0]",
        "COMMIT",
        "*nat",
        ":KUBE-NODEPORT-CONTAINER - [0:0]",
        ":KUBE-NODEPORT-HOST - [0:0]",
        ":KUBE-PORTALS-CONTAINER - [0:0]",
        ":KUBE-PORTALS-HOST - [0:0]",
        "COMMIT",
    ]


def test_jump_rules_portals_first_node_ports_last() -> None:
    shown = [" ".join(argv[3:]) for argv in base_rules()]
    assert shown == [
        "nat -I PREROUTING -m comment --comment handle ClusterIPs; NOTE: this must be before the "
        "NodePort rules -j KUBE-PORTALS-CONTAINER",
        "nat -I OUTPUT -m comment --comment handle ClusterIPs; NOTE: this must be before the "
        "NodePort rules -j KUBE-PORTALS-HOST",
        "nat -A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment handle service "
        "NodePorts; NOTE: this must be the last rule in the chain -j KUBE-NODEPORT-CONTAINER",
        "nat -A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment handle service "
        "NodePorts; NOTE: this must be the last rule in the chain -j KUBE-NODEPORT-HOST",
        "filter -I INPUT -m comment --comment Ensure that non-local NodePort traffic can flow "
        "-j KUBE-NODEPORT-NON-LOCAL",
    ]


@pytest.mark.parametrize("name", ["udp-and-tcp", "several", "loadbalancer", "unnamed-port"])
def test_proxy_ports_read_back_from_the_rules(name: str) -> None:
    services, _ = SCENARIOS[name]
    made = portals(services)
    expected = {(p.service.key, p.service.protocol): p.proxy_port for p in made}
    assert proxy_ports_from_saved(scenario(name)) == expected


def test_proxy_ports_ignore_other_chains_and_comments() -> None:
    saved = "\n".join(
        [
            "# Generated by iptables-save",
            '-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "a/b:c cluster IP" '
            "-m tcp --dport 80 -j KUBE-SVC-X",
            "-A KUBE-PORTALS-HOST -d 10.96.0.10/32 -p udp -m comment --comment "
            '"kube-system/dns:dns" -m udp --dport 53 -j DNAT --to-destination 172.18.0.2:41000',
        ]
    )
    assert proxy_ports_from_saved(saved) == {("kube-system/dns:dns", "UDP"): 41000}
