"""The iptables renderer: seed 002's rules, golden dumps per scenario, and jump-target checks."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
from proxy_scenarios import SCENARIOS, build, endpoint_slice, scenario, service

from kubesvc.proxy.iptables import base_chains, base_rules, port_proto_hash, render
from kubesvc.proxy.model import EndpointInfo, ServicePortInfo

GOLDEN = Path(__file__).parent / "golden"
BUILTIN_TARGETS = {"ACCEPT", "DROP", "REJECT", "RETURN", "MARK", "MASQUERADE", "DNAT"}

# Seed 002 (iptables-save output from a 2019 cluster): Service default/hostnames, port
# `default` 80/TCP -> 9376, cluster IP 10.98.154.209, pods 10.168.0.10, 10.168.1.12, 10.168.2.21.
SEED_LINES = [
    "-A KUBE-SERVICES -d 10.98.154.209/32 -p tcp -m comment --comment "
    '"default/hostnames:default cluster IP" -m tcp --dport 80 -j KUBE-SVC-ODX2UBAZM7RQWOIU',
    "-A KUBE-SVC-ODX2UBAZM7RQWOIU -m statistic --mode random --probability 0.33332999982 "
    "-j KUBE-SEP-UBFECYXO7WGMGUOV",
    "-A KUBE-SVC-ODX2UBAZM7RQWOIU -m statistic --mode random --probability 0.50000000000 "
    "-j KUBE-SEP-SGM2NWFJJ2FS6TH7",
    "-A KUBE-SVC-ODX2UBAZM7RQWOIU -j KUBE-SEP-7QEF2MJOSPQ44GT7",
    "-A KUBE-SEP-UBFECYXO7WGMGUOV -p tcp -m tcp -j DNAT --to-destination 10.168.0.10:9376",
    "-A KUBE-SEP-SGM2NWFJJ2FS6TH7 -p tcp -m tcp -j DNAT --to-destination 10.168.1.12:9376",
    "-A KUBE-SEP-7QEF2MJOSPQ44GT7 -p tcp -m tcp -j DNAT --to-destination 10.168.2.21:9376",
]
SEED_PODS = [
    ("10.168.0.10", "rain-kubernetes-1"),
    ("10.168.1.12", "rain-kubernetes-2"),
    ("10.168.2.21", "rain-kubernetes-3"),
]


def seed_rules() -> str:
    ports = [{"name": "default", "protocol": "TCP", "port": 80, "targetPort": 9376}]
    slice_ports = [{"name": "default", "protocol": "TCP", "port": 9376}]
    return build(
        [service("hostnames", "10.98.154.209", ports)],
        [endpoint_slice("hostnames", slice_ports, SEED_PODS)],
        cluster_cidr="10.168.0.0/16",
    )


def meaning(line: str) -> tuple[str, frozenset[tuple[str, str]], float | None]:
    """A rule reduced to what it matches and does: (chain, options, probability).

    Module loads (`-m tcp`), comments and `/32` are dropped and the probability is compared
    numerically, because iptables-save prints kube-proxy's input in its own normal form.
    """
    words = shlex.split(line)
    chain, options, probability = "", set(), None
    i = 0
    while i < len(words):
        word = words[i]
        if word == "-A":
            chain, i = words[i + 1], i + 2
        elif word == "-m" or word == "--comment":
            i += 2
        elif word == "--probability":
            probability, i = float(words[i + 1]), i + 2
        elif word == "!":
            options.add(("!", words[i + 1] + " " + words[i + 2]))
            i += 3
        elif i + 1 < len(words) and not words[i + 1].startswith("-"):
            options.add((word, words[i + 1].removesuffix("/32")))
            i += 2
        else:
            options.add((word, ""))
            i += 1
    return chain, frozenset(options), probability


def same(a: str, b: str) -> bool:
    (ca, oa, pa), (cb, ob, pb) = meaning(a), meaning(b)
    probabilities = pa == pb or (pa is not None and pb is not None and abs(pa - pb) < 1e-4)
    return ca == cb and oa == ob and probabilities


def test_seed_002_chain_names_and_cluster_ip_rule_appear_verbatim() -> None:
    text = seed_rules()
    assert ":KUBE-SVC-ODX2UBAZM7RQWOIU - [0:0]" in text.splitlines()
    for sep in ("UBFECYXO7WGMGUOV", "SGM2NWFJJ2FS6TH7", "7QEF2MJOSPQ44GT7"):
        assert f":KUBE-SEP-{sep} - [0:0]" in text.splitlines()
    # kube-proxy's own text for the rules the seed printed through iptables-save:
    for line in [
        '-A KUBE-SERVICES -m comment --comment "default/hostnames:default cluster IP" '
        "-m tcp -p tcp -d 10.98.154.209 --dport 80 -j KUBE-SVC-ODX2UBAZM7RQWOIU",
        '-A KUBE-SVC-ODX2UBAZM7RQWOIU -m comment --comment "default/hostnames:default -> '
        '10.168.0.10:9376" -m statistic --mode random --probability 0.3333333333 '
        "-j KUBE-SEP-UBFECYXO7WGMGUOV",
        '-A KUBE-SVC-ODX2UBAZM7RQWOIU -m comment --comment "default/hostnames:default -> '
        '10.168.2.21:9376" -j KUBE-SEP-7QEF2MJOSPQ44GT7',
        "-A KUBE-SEP-UBFECYXO7WGMGUOV -m comment --comment default/hostnames:default "
        "-s 10.168.0.10 -j KUBE-MARK-MASQ",
        "-A KUBE-SEP-UBFECYXO7WGMGUOV -m comment --comment default/hostnames:default "
        "-m tcp -p tcp -j DNAT --to-destination 10.168.0.10:9376",
    ]:
        assert line in text.splitlines()


@pytest.mark.parametrize("seed_line", SEED_LINES)
def test_every_seed_002_rule_has_a_rendered_rule_with_the_same_meaning(seed_line: str) -> None:
    rendered = [ln for ln in seed_rules().splitlines() if ln.startswith("-A ")]
    assert [ln for ln in rendered if same(ln, seed_line)], seed_line


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden(name: str) -> None:
    text = scenario(name)
    path = GOLDEN / f"{name}.rules"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def tables(text: str) -> dict[str, tuple[set[str], list[list[str]]]]:
    """Per table: declared chains and the rules (as words)."""
    out: dict[str, tuple[set[str], list[list[str]]]] = {}
    table = ""
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:]
            out[table] = (set(), [])
        elif line.startswith(":"):
            out[table][0].add(line[1:].split()[0])
        elif line.startswith("-A "):
            out[table][1].append(shlex.split(line))
        else:
            assert line == "COMMIT", line
    return out


@pytest.mark.parametrize("name", [*sorted(SCENARIOS), "seed-002"])
def test_jump_targets_exist_and_service_chains_are_used(name: str) -> None:
    text = seed_rules() if name == "seed-002" else scenario(name)
    for table, (declared, rules) in tables(text).items():
        targets = {rule[rule.index("-j") + 1] for rule in rules if "-j" in rule}
        for rule in rules:
            assert rule[1] in declared, (table, rule)
        assert targets - declared <= BUILTIN_TARGETS, (table, targets - declared)
        service_chains = {c for c in declared if re.match(r"KUBE-(SVC|SVL|SEP|EXT|FW)-", c)}
        assert service_chains <= targets, (table, service_chains - targets)


def test_probabilities_are_one_over_the_rest_and_the_last_is_unconditional() -> None:
    sp = ServicePortInfo(
        namespace="ns", name="svc", port_name="", protocol="TCP", cluster_ip="10.96.0.1", port=80
    )
    eps = [EndpointInfo(ip=f"10.244.0.{i}", port=80) for i in range(1, 8)]
    text = render([sp], {sp.key: eps})
    lines = [ln for ln in text.splitlines() if ln.startswith("-A KUBE-SVC-")]
    probs = [re.search(r"--probability (\S+)", ln) for ln in lines]
    assert [m.group(1) if m else None for m in probs] == [
        "0.1428571429",
        "0.1666666667",
        "0.2000000000",
        "0.2500000000",
        "0.3333333333",
        "0.5000000000",
        None,
    ]
    assert '--comment "ns/svc -> 10.244.0.1:80"' in lines[0]


def test_large_clusters_drop_per_endpoint_comments() -> None:
    sp = ServicePortInfo(
        namespace="ns", name="big", port_name="p", protocol="TCP", cluster_ip="10.96.0.2", port=80
    )
    eps = [EndpointInfo(ip=f"10.244.{i // 250}.{i % 250 + 1}", port=80) for i in range(1001)]
    lines = render([sp], {sp.key: eps}).splitlines()
    sep_rules = [ln for ln in lines if ln.startswith("-A KUBE-SEP-")]
    svc_rules = [ln for ln in lines if ln.startswith("-A KUBE-SVC-")]
    assert len(sep_rules) == 2002 and not any("--comment" in ln for ln in sep_rules)
    assert len(svc_rules) == 1001 and not any("--comment" in ln for ln in svc_rules)
    entry = [ln for ln in lines if ln.startswith('-A KUBE-SERVICES -m comment --comment "ns/big')]
    assert entry == [
        '-A KUBE-SERVICES -m comment --comment "ns/big:p cluster IP" -m tcp -p tcp '
        "-d 10.96.0.2 --dport 80 -j KUBE-SVC-" + sp_hash(sp)
    ]


def sp_hash(sp: ServicePortInfo) -> str:
    return port_proto_hash(sp.key, sp.protocol)


def test_no_cluster_cidr_means_no_cluster_ip_masquerade_rule() -> None:
    text = build(
        [service("web", "10.96.0.10", [{"name": "", "protocol": "TCP", "port": 80}])],
        [endpoint_slice("web", [{"protocol": "TCP", "port": 80}], [("10.244.1.5", "n")])],
        cluster_cidr=None,
    )
    assert "KUBE-MARK-MASQ" not in "".join(
        ln for ln in text.splitlines() if ln.startswith("-A KUBE-SVC-")
    )
    assert '--comment "default/web cluster IP"' in text


def test_base_rules_are_kube_proxys_jump_rules() -> None:
    rules = base_rules()
    assert rules[0] == [
        "iptables", "-w", "-t", "filter", "-I", "INPUT", "-m", "conntrack", "--ctstate", "NEW",
        "-m", "comment", "--comment", "kubernetes externally-visible service portals",
        "-j", "KUBE-EXTERNAL-SERVICES",
    ]  # fmt: skip
    assert [
        "iptables", "-w", "-t", "nat", "-I", "PREROUTING",
        "-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES",
    ] in rules  # fmt: skip
    assert [
        "iptables", "-w", "-t", "nat", "-I", "POSTROUTING",
        "-m", "comment", "--comment", "kubernetes postrouting rules", "-j", "KUBE-POSTROUTING",
    ] in rules  # fmt: skip
    assert ["iptables", "-w", "-t", "filter", "-I", "OUTPUT", "-j", "KUBE-FIREWALL"] in rules
    assert len(rules) == 14
    assert ("nat", "KUBE-POSTROUTING") in base_chains() and len(base_chains()) == 8
