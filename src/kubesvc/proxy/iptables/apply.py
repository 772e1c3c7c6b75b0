"""Apply rendered rules to the kernel of the network namespace this process runs in.

`ensure_base` creates kube-proxy's top-level chains and jump rules once (`-N`, then `-C` before
`-I` so nothing is inserted twice). `restore` feeds a full sync to `iptables-restore --noflush`,
after adding the removal of stale per-Service chains (`:CHAIN` + `-X CHAIN`, as kube-proxy's full
sync does), found in `iptables-save -t nat` and `-t filter`.
"""

from __future__ import annotations

import subprocess

from kubesvc.proxy.iptables.names import is_service_chain
from kubesvc.proxy.iptables.render import base_chains, base_rules


class ApplyError(RuntimeError):
    pass


def _run(argv: list[str], data: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=data, capture_output=True, text=True, check=False)


def ensure_base() -> None:
    for table, chain in base_chains():
        _run(["iptables", "-w", "-t", table, "-N", chain])  # exists already: fine
    for rule in base_rules():
        check = [*rule[:4], "-C", *rule[5:]]
        if _run(check).returncode != 0:
            result = _run(rule)
            if result.returncode != 0:
                raise ApplyError(f"{' '.join(rule)}: {result.stderr.strip()}")


def existing_chains(table: str) -> set[str]:
    saved = _run(["iptables-save", "-t", table]).stdout
    return {line[1:].split()[0] for line in saved.splitlines() if line.startswith(":KUBE-")}


def with_stale_removed(text: str) -> str:
    """Add `:CHAIN` and `-X CHAIN` lines for per-Service chains the sync no longer writes."""
    out: list[str] = []
    table = ""
    declared: set[str] = set()
    for line in text.splitlines():
        if line.startswith("*"):
            table, declared = line[1:], set()
        elif line.startswith(":"):
            declared.add(line[1:].split()[0])
        elif line == "COMMIT" and table in ("nat", "filter"):
            stale = sorted(c for c in existing_chains(table) - declared if is_service_chain(c))
            out += [f":{c} - [0:0]" for c in stale]
            out += [f"-X {c}" for c in stale]
        out.append(line)
    return "\n".join(out) + "\n"


def restore(text: str) -> None:
    result = _run(["iptables-restore", "-w", "--noflush"], with_stale_removed(text))
    if result.returncode != 0:
        raise ApplyError(f"iptables-restore failed: {result.stderr.strip()}")
