"""Root tier: the userspace portal rules load into a real kernel (a throwaway network namespace)
and `iptables-save` prints them back exactly as rendered."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from test_userspace_render import NODE_IP, SCENARIOS, scenario

from kubesvc.proxy.userspace.render import base_chains, base_rules, render

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("iptables-restore") is None or shutil.which("ip") is None,
        reason="needs root, ip and iptables-restore",
    ),
]


def _run(*argv: str, stdin: str | None = None) -> str:
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{argv}: {result.stderr}"
    return result.stdout


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"ks-us{secrets.token_hex(4)}"
    _run("ip", "netns", "add", name)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=60)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_iptables_restore_accepts_the_rendered_rules(netns: str, name: str) -> None:
    _run(
        "ip",
        "netns",
        "exec",
        netns,
        "iptables-restore",
        "--test",
        "--noflush",
        stdin=scenario(name),
    )


def _ours(saved: str) -> list[str]:
    chains = {chain for _, chain in base_chains()}
    return [
        line for line in saved.splitlines() if line.startswith("-A ") and line.split()[1] in chains
    ]


def test_loaded_rules_save_back_as_rendered_and_a_later_sync_replaces_them(netns: str) -> None:
    exec_ = ("ip", "netns", "exec", netns)
    # a rule someone else owns, there before the proxy starts
    other = ("-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "9", "-j", "ACCEPT")
    _run(*exec_, "iptables", *other)
    for table, chain in base_chains():
        _run(*exec_, "iptables", "-w", "-t", table, "-N", chain)
    for argv in base_rules():
        _run(*exec_, *argv)
    for name in ("several", "external-ips", "udp-and-tcp"):
        text = scenario(name)
        _run(*exec_, "iptables-restore", "--noflush", stdin=text)
        saved = _run(*exec_, "iptables-save")
        assert _ours(saved) == _ours(text), name
    nat = _run(*exec_, "iptables-save", "-t", "nat").splitlines()
    prerouting = [line for line in nat if line.startswith("-A PREROUTING ")]
    assert prerouting[0].endswith("-j KUBE-PORTALS-CONTAINER")  # portals before anything else
    assert prerouting[-1].endswith("-j KUBE-NODEPORT-CONTAINER")  # node ports after everything
    output = [line for line in nat if line.startswith("-A OUTPUT ")]
    assert [line.split()[-1] for line in output] == ["KUBE-PORTALS-HOST", "KUBE-NODEPORT-HOST"]
    # a sync with no Service ports empties the chains and keeps the jumps
    _run(*exec_, "iptables-restore", "--noflush", stdin=render([], host_ip=NODE_IP))
    saved = _run(*exec_, "iptables-save")
    assert _ours(saved) == []
    assert (
        "-j KUBE-PORTALS-HOST" in saved
        and "-A PREROUTING -p tcp -m tcp --dport 9 -j ACCEPT" in saved
    )
