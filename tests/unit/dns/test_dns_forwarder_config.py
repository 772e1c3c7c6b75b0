"""Upstream addresses from flags and from resolv.conf, without this server (no sockets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubesvc.dns.forwarder import format_address, parse_address, parse_resolv_conf
from kubesvc.dns.run import DnsOptions, upstreams_of


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("10.0.0.2", ("10.0.0.2", 53)),
        ("10.0.0.2:5353", ("10.0.0.2", 5353)),
        ("fd00::2", ("fd00::2", 53)),
        ("[fd00::2]:5353", ("fd00::2", 5353)),
        ("[fd00::2]", ("fd00::2", 53)),
    ],
)
def test_parse_address(text: str, address: tuple[str, int]) -> None:
    assert parse_address(text) == address
    assert parse_address(format_address(address)) == address


@pytest.mark.parametrize("text", ["", "example.com", "10.0.0.2:0", "10.0.0.2:x", "[fd00::2]x"])
def test_bad_addresses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_address(text)


def test_resolv_conf() -> None:
    text = """
# generated
search default.svc.cluster.local svc.cluster.local
nameserver 10.96.0.10
nameserver fe80::1%eth0
nameserver not-an-address
options ndots:5
nameserver
"""
    assert parse_resolv_conf(text) == [("10.96.0.10", 53), ("fe80::1", 53)]


@pytest.mark.parametrize(
    ("host", "resolv", "upstreams"),
    [
        # listening on every address: loopback resolvers on our port are ourselves
        ("0.0.0.0", "nameserver 127.0.0.1\nnameserver 10.0.0.2\n", [("10.0.0.2", 53)]),
        ("0.0.0.0", "nameserver 127.0.0.53\nnameserver ::1\n", []),
        ("0.0.0.0", "nameserver 10.244.1.2\n", []),  # our own pod IP
        ("127.0.0.1", "nameserver 127.0.0.53\n", [("127.0.0.53", 53)]),
        ("127.0.0.1", "nameserver 127.0.0.1\n", []),
    ],
)
def test_upstreams_leave_this_server_out(
    host: str, resolv: str, upstreams: list[tuple[str, int]], tmp_path: Path
) -> None:
    (tmp_path / "resolv.conf").write_text(resolv)
    options = DnsOptions(host=host, port=53, resolv_conf=tmp_path / "resolv.conf")
    assert upstreams_of(options, ("10.244.1.2",)) == upstreams


def test_flags_win_over_resolv_conf(tmp_path: Path) -> None:
    options = DnsOptions(upstreams=(("10.0.0.9", 5353),), resolv_conf=tmp_path / "missing")
    assert upstreams_of(options) == [("10.0.0.9", 5353)]
    assert upstreams_of(DnsOptions(resolv_conf=tmp_path / "missing")) == []
