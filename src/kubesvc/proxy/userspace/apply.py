"""Apply the userspace mode's rules to the kernel of the network namespace this process runs in.

I/O. `ensure_base()` creates the five chains (`iptables -N`; one that exists is fine) and the jump
rules into PREROUTING, OUTPUT and INPUT, each checked with `-C` first so nothing is added twice.
`restore(text)` feeds a rendered rule set to `iptables-restore --noflush`: the chain lines in it
flush and rewrite those five chains in one call and leave everything else in the tables alone.
`saved_nat(netns)` reads a namespace's nat table back (for `kubesvc rules --mode userspace`).
"""

from __future__ import annotations

import subprocess

from kubesvc.proxy.userspace.render import base_chains, base_rules


class ApplyError(RuntimeError):
    pass


def _run(argv: list[str], data: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=data, capture_output=True, text=True, check=False)


def ensure_base() -> None:
    for table, chain in base_chains():
        _run(["iptables", "-w", "-t", table, "-N", chain])
    for rule in base_rules():
        check = [*rule[:4], "-C", *rule[5:]]
        if _run(check).returncode != 0:
            result = _run(rule)
            if result.returncode != 0:
                raise ApplyError(f"{' '.join(rule)}: {result.stderr.strip()}")


def restore(text: str) -> None:
    result = _run(["iptables-restore", "-w", "--noflush"], text)
    if result.returncode != 0:
        raise ApplyError(f"iptables-restore failed: {result.stderr.strip()}")


def saved_nat(netns: str | None = None) -> str:
    """`iptables-save -t nat` of a named network namespace (or of this one)."""
    argv = ["iptables-save", "-t", "nat"]
    if netns is not None:
        argv = ["ip", "netns", "exec", netns, *argv]
    result = _run(argv)
    if result.returncode != 0:
        raise ApplyError(f"{' '.join(argv)}: {result.stderr.strip()}")
    return result.stdout
