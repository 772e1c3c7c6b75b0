"""Root tier: the rendered rules load into a real kernel, in a throwaway network namespace."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from proxy_scenarios import SCENARIOS, scenario
from test_iptables_render import SEED_LINES, seed_rules

from kubesvc.proxy.iptables import base_chains, base_rules

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
