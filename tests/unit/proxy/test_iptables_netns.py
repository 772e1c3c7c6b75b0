"""Root tier: the rendered rules load into a real kernel, in a throwaway network namespace."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from proxy_churn import churn
from proxy_scenarios import (
    CLUSTER_CIDR,
    HTTP,
    HTTP_EP,
    NODE,
    NODE_IP,
    SCENARIOS,
    THREE,
    build,
    endpoint_slice,
    scenario,
    service,
)
from test_iptables_render import SEED_LINES, seed_rules

from kubesvc.lib.runner import FakeClock
from kubesvc.proxy.conntrack import ConntrackTool
from kubesvc.proxy.healthz import ProxierHealth
from kubesvc.proxy.iptables import base_chains, base_rules, names
from kubesvc.proxy.iptables.apply import IptablesTool
from kubesvc.proxy.iptables.proxier import IptablesSyncer
from kubesvc.proxy.iptables.render import render_sync
from kubesvc.proxy.iptables.restores import ORDER_FREE, full_restores
from kubesvc.proxy.metrics import ProxyMetrics
from kubesvc.proxy.model import endpoints_from, service_ports_from

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(
        os.geteuid() != 0
        or not all(
            shutil.which(t) for t in ("ip", "iptables-restore", "iptables-legacy", "conntrack")
        ),
        reason="needs root, ip, iptables (nft and legacy) and conntrack",
    ),
]


def _run(*argv: str, stdin: str | None = None) -> str:
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{argv}: {result.stderr}"
    return result.stdout


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"ks-t{secrets.token_hex(4)}"
    _run("ip", "netns", "add", name)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=60)


@pytest.mark.parametrize("name", [*sorted(SCENARIOS), "seed-002"])
def test_iptables_restore_accepts_the_rendered_rules(netns: str, name: str) -> None:
    text = seed_rules() if name == "seed-002" else scenario(name)
    _run("ip", "netns", "exec", netns, "iptables-restore", "--test", stdin=text)


def test_seed_002_loads_and_saves_back_as_the_seed_prints_it(netns: str) -> None:
    exec_ = ("ip", "netns", "exec", netns)
    for table, chain in base_chains():
        _run(*exec_, "iptables", "-w", "-t", table, "-N", chain)
    for argv in base_rules():
        _run(*exec_, *argv)
    _run(*exec_, "iptables-restore", "--noflush", stdin=seed_rules())
    saved = _run(*exec_, "iptables-save", "-t", "nat").splitlines()
    assert SEED_LINES[0] in saved
    assert (
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES' in saved
    )
    assert "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN" in saved


def _syncer(netns: str, binary: str) -> tuple[IptablesSyncer, IptablesTool, ConntrackTool]:
    tool, conntrack = IptablesTool(binary, netns), ConntrackTool(netns=netns)
    clock = FakeClock()
    syncer = IptablesSyncer(
        node=NODE,
        node_ip=NODE_IP,
        cluster_cidr=CLUSTER_CIDR,
        iptables=tool,
        conntrack=conntrack,
        clock=clock,
        metrics=ProxyMetrics(),
        health=ProxierHealth(clock, 60.0),
    )
    return syncer, tool, conntrack


def _nat(netns: str, binary: str) -> str:
    return _run("ip", "netns", "exec", netns, f"{binary}-save", "-t", "nat")


@pytest.mark.parametrize("binary", ["iptables", "iptables-legacy"])
async def test_partial_syncs_and_stale_chain_deletion_on_a_real_kernel(
    netns: str, binary: str
) -> None:
    """kube-proxy's partial restores jump to chains they do not declare; both backends take it."""
    syncer, _, _ = _syncer(netns, binary)
    web = service("web", "10.96.0.10", HTTP)
    api = service("api", "10.96.0.11", HTTP)
    web_eps = endpoint_slice("web", HTTP_EP, THREE)
    syncer.on_service(None, web)
    syncer.on_service(None, api)
    syncer.on_slice(None, web_eps)
    syncer.on_slice(None, endpoint_slice("api", HTTP_EP, THREE[:1]))
    await syncer.sync()
    saved = _nat(netns, binary)
    assert (
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES' in saved
    )
    sep = names.endpoint_chain("default/web:http", "tcp", "10.244.3.5:8080")
    assert f":{sep} - " in saved
    syncer.on_slice(web_eps, endpoint_slice("web", HTTP_EP, THREE[:2]))
    await syncer.sync()  # partial: only web's chains, and 10.244.3.5's chain goes
    assert syncer.full_syncs == 1 and syncer.last is not None
    assert ":KUBE-SVC-" + names.port_proto_hash("default/api:http", "tcp") not in syncer.last.text
    saved = _nat(netns, binary)
    assert f":{sep} - " not in saved and "10.244.3.5" not in saved
    assert "default/api:http -> 10.244.1.5:8080" in saved  # untouched, still there
    syncer.on_service(api, None)
    await syncer.sync()
    assert "default/api" not in _nat(netns, binary)


async def test_a_flush_is_noticed_by_the_canary_and_repaired(netns: str) -> None:
    syncer, tool, _ = _syncer(netns, "iptables")
    syncer.on_service(None, service("web", "10.96.0.10", HTTP))
    syncer.on_slice(None, endpoint_slice("web", HTTP_EP, THREE))
    assert await syncer.check_canaries() is False
    await syncer.sync()
    for table in ("nat", "filter", "mangle"):
        _run("ip", "netns", "exec", netns, "iptables", "-t", table, "-F")
        _run("ip", "netns", "exec", netns, "iptables", "-t", table, "-X")
    assert "KUBE-" not in _nat(netns, "iptables")
    assert await syncer.check_canaries() is True
    await syncer.sync()
    saved = _nat(netns, "iptables")
    assert "-j KUBE-SERVICES" in saved and "default/web:http -> 10.244.3.5:8080" in saved
    assert tool.chain_exists("mangle", "KUBE-PROXY-CANARY")


async def test_stale_udp_flows_are_deleted_with_the_conntrack_tool(netns: str) -> None:
    """A client keeps sending to a UDP Service; its endpoint goes; the flow must be forgotten."""
    exec_ = ("ip", "netns", "exec", netns)
    _run(*exec_, "ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1")
    _run(*exec_, "ip", "addr", "add", "10.244.1.1/24", "dev", "v0")
    _run(*exec_, "ip", "link", "set", "v0", "up")
    _run(*exec_, "ip", "link", "set", "v1", "up")
    _run(*exec_, "ip", "route", "add", "10.96.0.0/12", "dev", "v0")
    syncer, _, conntrack = _syncer(netns, "iptables")
    dns_port = [{"name": "dns", "protocol": "UDP", "port": 53}]
    both = endpoint_slice("dns", dns_port, [("10.244.1.5", "node-1"), ("10.244.1.6", "node-1")])
    syncer.on_service(None, service("dns", "10.96.0.53", dns_port))
    syncer.on_slice(None, both)
    await syncer.sync()
    send = "import socket\nfor p in range(5000, 5012):\n" \
        "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('', p))\n" \
        "    s.sendto(b'x', ('10.96.0.53', 53))\n"  # fmt: skip
    _run(*exec_, sys.executable, "-c", send)
    replies = {f.reply_src for f in conntrack.list_udp() if f.orig_dst == "10.96.0.53"}
    assert replies == {"10.244.1.5", "10.244.1.6"}  # 12 flows spread over both endpoints
    syncer.on_slice(both, endpoint_slice("dns", dns_port, [("10.244.1.5", "node-1")]))
    await syncer.sync()
    replies = {f.reply_src for f in conntrack.list_udp() if f.orig_dst == "10.96.0.53"}
    assert replies == {"10.244.1.5"}


def _chains(netns: str, binary: str) -> dict[tuple[str, str], list[str]]:
    """kube-proxy's chains as `iptables-save` prints them, sorted where order means nothing."""
    found: dict[tuple[str, str], list[str]] = {}
    for table in ("filter", "nat"):
        for line in _run("ip", "netns", "exec", netns, f"{binary}-save", "-t", table).splitlines():
            if line.startswith(":"):
                found[(table, line[1:].split()[0])] = []
            elif line.startswith("-A "):
                found[(table, line.split()[1])].append(line)
    return {
        key: sorted(rules) if key in ORDER_FREE else rules
        for key, rules in found.items()
        if key[1].startswith("KUBE-") and key[1] != "KUBE-PROXY-CANARY"
    }


@pytest.mark.parametrize("binary", ["iptables", "iptables-legacy"])
async def test_partial_restores_leave_the_kernel_as_one_full_restore_would(
    netns: str, binary: str
) -> None:
    """Forty random changes through the syncer (partial restores with -D/-I edits) and, at
    checkpoints, the same objects restored in one full sync into a second namespace: both
    kernels print the same rules."""
    syncer, tool, _ = _syncer(netns, binary)
    restores: list[str] = []
    restore = tool.restore
    tool.restore = lambda text: (restores.append(text), restore(text))[1]  # type: ignore[method-assign]
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    for step, (kind, name, obj) in enumerate(churn(7, 40), 1):
        on = syncer.on_service if kind == "Service" else syncer.on_slice
        old = objects.pop((kind, name), None)
        if obj is not None:
            objects[(kind, name)] = obj
        on(old, obj)
        await syncer.sync()
        if step % 10:
            continue
        fresh = f"ks-t{secrets.token_hex(4)}"
        _run("ip", "netns", "add", fresh)
        try:
            tool = IptablesTool(binary, fresh)
            tool.ensure_base()
            services = [o for (k, _), o in objects.items() if k == "Service"]
            tool.restore(build(services, [o for (k, _), o in objects.items() if k != "Service"]))
            assert _chains(netns, binary) == _chains(fresh, binary), f"step {step}"
        finally:
            subprocess.run(["ip", "netns", "delete", fresh], capture_output=True, timeout=60)
    assert syncer.full_syncs == 1 and syncer.syncs == 40
    assert any("\n-D KUBE-SERVICES " in text for text in restores)
    assert any("\n-I KUBE-SERVICES 1 " in text for text in restores)


@pytest.mark.parametrize("binary", ["iptables", "iptables-legacy"])
def test_a_full_sync_in_chunks_loads_as_one_input_does(netns: str, binary: str) -> None:
    services = [service(f"s{i}", f"10.96.2.{i}", HTTP) for i in range(30)]
    slices = [endpoint_slice(f"s{i}", HTTP_EP, THREE[: i % 4]) for i in range(30)]
    ports = [p for s in services for p in service_ports_from(s)]
    rendered = render_sync(
        ports,
        {p.key: endpoints_from(slices, p, NODE) for p in ports},
        node_ip=NODE_IP,
        cluster_cidr=CLUSTER_CIDR,
    )
    chunks = IptablesTool(binary, netns)
    chunks.ensure_base()
    for text in full_restores(rendered, chunk=8):
        chunks.restore(text)
    whole = f"ks-t{secrets.token_hex(4)}"
    _run("ip", "netns", "add", whole)
    try:
        one = IptablesTool(binary, whole)
        one.ensure_base()
        one.restore(rendered.text)
        assert _chains(netns, binary) == _chains(whole, binary)
    finally:
        subprocess.run(["ip", "netns", "delete", whole], capture_output=True, timeout=60)
