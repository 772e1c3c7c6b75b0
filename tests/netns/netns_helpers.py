"""Root tier helpers: the skip condition, test-unique cluster ids, traces of a cluster, ICMP probes.

Probes only go to addresses inside namespaces the test built; ping is a raw ICMP socket in
Python (iputils-ping is not among the packages scripts/setup installs).
"""

from __future__ import annotations

import secrets
import subprocess
import sys

import pytest

from kubesvc.net import ip


def _netns_unavailable() -> str | None:
    reason = ip.support()
    if reason is not None:
        return reason
    try:
        result = subprocess.run(["ip", "netns", "list"], capture_output=True, timeout=10)
    except OSError as err:
        return f"`ip netns` cannot run: {err}"
    return None if result.returncode == 0 else "`ip netns list` fails here"


UNAVAILABLE = _netns_unavailable()
requires_netns = pytest.mark.skipif(UNAVAILABLE is not None, reason=f"netns tier: {UNAVAILABLE}")

_PING = r"""
import os, socket, struct, sys, time
dst, timeout = sys.argv[1], float(sys.argv[2])
def checksum(data):
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
ident = os.getpid() & 0xFFFF
body = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"kubesvc-probe..."
packet = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
try:
    sock.sendto(packet, (dst, 0))
except OSError as err:
    sys.exit(f"send: {err}")
deadline = time.monotonic() + timeout
while (left := deadline - time.monotonic()) > 0:
    sock.settimeout(left)
    try:
        data, addr = sock.recvfrom(2048)
    except (socket.timeout, OSError):
        break
    start = (data[0] & 0x0F) * 4
    kind, _, _, rid, _ = struct.unpack("!BBHHH", data[start : start + 8])
    if kind == 0 and rid == ident and addr[0] == dst:
        sys.exit(0)
sys.exit("no echo reply")
"""


def ping(dst: str, netns: str | None = None, timeout: float = 1.0) -> bool:
    """One ICMP echo to `dst` from the host or from inside `netns`; True when it was answered."""
    argv = [sys.executable, "-c", _PING, dst, str(timeout)]
    if netns is not None:
        argv = ["ip", "netns", "exec", netns, *argv]
    return subprocess.run(argv, capture_output=True, timeout=timeout + 10).returncode == 0


def traces(cluster: str) -> list[str]:
    """Lines of `ip netns list`, `ip link` and `ip route` (host) that carry the cluster id."""
    out = []
    for argv in (["ip", "netns", "list"], ["ip", "-o", "link"], ["ip", "route"]):
        text = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
        out += [
            line
            for line in text.splitlines()
            if f"ks-{cluster}-" in line or f"ks{cluster}h" in line
        ]
    return out


# CIDRs of the test clusters: apart from the defaults, so that a `kubesvc up` running on this
# machine at the same time (an e2e test, a developer's cluster) does not clash with them.
CIDRS_A = ("172.29.0.0/16", "10.229.0.0/16", "10.176.0.0/12")
CIDRS_B = ("172.28.0.0/16", "10.228.0.0/16", "10.192.0.0/12")


def unique_id() -> str:
    return "t" + secrets.token_hex(2)
