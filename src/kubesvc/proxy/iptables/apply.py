"""The kernel side of the iptables mode: one small protocol, the real tool and an in-memory fake.

`Iptables` is all the proxy asks of the kernel: ensure the base chains and jumps (`jumps.py`),
feed a sync to `iptables-restore --noflush` (the restore is atomic per table: it applies all or
nothing), list a table's chains (`iptables-save -t TABLE`, for deleting stale ones), and create,
check and delete a chain (the canaries). `IptablesTool` runs the binaries of one backend
(`iptables` or `iptables-legacy`, in this process's network namespace or, for benches and tests,
in a named one); `FakeIptables` keeps tables in memory with iptables-restore's rules (a chain line
creates or flushes, `-A` and `-I CHAIN N` need the chain and a known target, `-D` needs the rule,
`-X` needs an unreferenced chain, a failing restore changes nothing), records every restore, and
can be made to fail or be flushed like `iptables -F -X`, so the proxier is tested without root.
"""

from __future__ import annotations

import shlex
import subprocess
from typing import Protocol

from kubesvc.proxy.iptables.jumps import base_chains, base_rules

BUILTIN = {
    "raw": ("PREROUTING", "OUTPUT"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
}
TARGETS = {"ACCEPT", "DROP", "REJECT", "RETURN", "MARK", "MASQUERADE", "DNAT", "SNAT", "LOG"}


class ApplyError(RuntimeError):
    pass


class Iptables(Protocol):
    def nf_tables(self) -> bool: ...  # the nft backend (big full syncs go in chunks)

    def ensure_base(self) -> None: ...

    def restore(self, text: str) -> None: ...

    def chains(self, table: str) -> set[str]: ...

    def chain_exists(self, table: str, chain: str) -> bool: ...

    def ensure_chain(self, table: str, chain: str) -> None: ...

    def delete_chain(self, table: str, chain: str) -> None: ...


def chains_of(saved: str) -> set[str]:
    """The chain names declared in `iptables-save` output."""
    return {line[1:].split()[0] for line in saved.splitlines() if line.startswith(":")}


class IptablesTool:
    """The real binaries: `iptables`/`iptables-restore`/`iptables-save` or their `-legacy` forms."""

    def __init__(self, binary: str = "iptables", netns: str | None = None) -> None:
        self.binary = binary
        self.prefix = ["ip", "netns", "exec", netns] if netns else []
        self._nf_tables: bool | None = None

    def nf_tables(self) -> bool:
        """Whether `iptables` is iptables-nft (`iptables -V` ends in "(nf_tables)"), asked once."""
        if self._nf_tables is None:
            self._nf_tables = "nf_tables" in self._run([self._tool(""), "-V"]).stdout
        return self._nf_tables

    def _tool(self, suffix: str) -> str:
        return f"{self.binary}{suffix}"  # iptables-legacy → iptables-legacy-restore

    def _run(self, argv: list[str], data: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.prefix, *argv], input=data, capture_output=True, text=True, check=False
        )

    def ensure_base(self) -> None:
        for table, chain in base_chains():
            self.ensure_chain(table, chain)
        for rule in base_rules():
            rule = [self._tool(""), *rule[1:]]
            check = [*rule[:4], "-C", *rule[5:]]
            if self._run(check).returncode != 0:
                result = self._run(rule)
                if result.returncode != 0:
                    raise ApplyError(f"{shlex.join(rule)}: {result.stderr.strip()}")

    def restore(self, text: str) -> None:
        result = self._run([self._tool("-restore"), "-w", "--noflush"], text)
        if result.returncode != 0:
            raise ApplyError(f"iptables-restore failed: {result.stderr.strip()}")

    def chains(self, table: str) -> set[str]:
        result = self._run([self._tool("-save"), "-t", table])
        if result.returncode != 0:
            raise ApplyError(f"iptables-save -t {table} failed: {result.stderr.strip()}")
        return chains_of(result.stdout)

    def chain_exists(self, table: str, chain: str) -> bool:
        return self._run([self._tool(""), "-w", "-t", table, "-S", chain]).returncode == 0

    def ensure_chain(self, table: str, chain: str) -> None:
        if not self.chain_exists(table, chain):
            result = self._run([self._tool(""), "-w", "-t", table, "-N", chain])
            if result.returncode != 0 and not self.chain_exists(table, chain):
                raise ApplyError(f"iptables -t {table} -N {chain}: {result.stderr.strip()}")

    def delete_chain(self, table: str, chain: str) -> None:
        self._run([self._tool(""), "-w", "-t", table, "-F", chain])
        self._run([self._tool(""), "-w", "-t", table, "-X", chain])


Tables = dict[str, dict[str, list[str]]]


def _empty() -> Tables:
    return {table: {chain: [] for chain in chains} for table, chains in BUILTIN.items()}


class FakeIptables:
    """Tables in memory, with iptables-restore's semantics for what the proxy writes."""

    def __init__(self) -> None:
        self.tables: Tables = _empty()
        self.restores: list[str] = []
        self.fail_next = 0  # restores still to fail, to test the retry path
        self.base_ensured = 0
        self.saves = 0

    def nf_tables(self) -> bool:
        return True

    def ensure_base(self) -> None:
        self.base_ensured += 1
        for table, chain in base_chains():
            self.ensure_chain(table, chain)
        for rule in base_rules():
            table, builtin = rule[3], rule[5]
            line = " ".join(f'"{w}"' if " " in w else w for w in ["-A", builtin, *rule[6:]])
            if line not in self.tables[table][builtin]:
                self.tables[table][builtin].insert(0, line)

    def restore(self, text: str) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ApplyError("iptables-restore failed: (fake) line 1 failed")
        staged = {
            table: {c: list(r) for c, r in chains.items()} for table, chains in self.tables.items()
        }
        table = ""
        for number, line in enumerate(text.splitlines(), 1):
            try:
                table = _restore_line(staged, table, line)
            except ApplyError as exc:
                raise ApplyError(f"iptables-restore: line {number} failed: {exc}") from None
        self.tables = staged
        self.restores.append(text)

    def chains(self, table: str) -> set[str]:
        self.saves += 1
        return set(self.tables.get(table, {}))

    def chain_exists(self, table: str, chain: str) -> bool:
        return chain in self.tables.get(table, {})

    def ensure_chain(self, table: str, chain: str) -> None:
        self.tables.setdefault(table, {}).setdefault(chain, [])

    def delete_chain(self, table: str, chain: str) -> None:
        self.tables.get(table, {}).pop(chain, None)

    def flush_all(self) -> None:
        """What `iptables -F; iptables -X` in every table leaves: empty built-in chains."""
        self.tables = _empty()

    def rules(self, table: str, chain: str) -> list[str]:
        return list(self.tables[table][chain])

    def save(self) -> str:
        """The tables as `iptables-save` would print them (our rule text, not its normal form)."""
        out: list[str] = []
        for table, chains in self.tables.items():
            out.append(f"*{table}")
            for chain in chains:
                policy = "ACCEPT" if chain in BUILTIN.get(table, ()) else "-"
                out.append(f":{chain} {policy} [0:0]")
            out += [rule for rules in chains.values() for rule in rules]
            out.append("COMMIT")
        return "\n".join(out) + "\n"


def _restore_line(tables: Tables, table: str, line: str) -> str:
    if not line or line.startswith("#"):
        return table
    if line.startswith("*"):
        tables.setdefault(line[1:], {})
        return line[1:]
    if line == "COMMIT":
        return ""
    chains = tables[table]
    if line.startswith(":"):
        chains[line[1:].split()[0]] = []
        return table
    words = shlex.split(line)
    if words[0] == "-X":
        name = words[1]
        if name not in chains:
            raise ApplyError(f"no chain {name}")
        if any(_target(shlex.split(rule)) == name for rules in chains.values() for rule in rules):
            raise ApplyError(f"chain {name} is still referenced")
        del chains[name]
        return table
    if words[0] not in ("-A", "-I", "-D"):
        raise ApplyError(f"bad line {line!r}")
    if words[1] not in chains:
        raise ApplyError(f"no chain {words[1]}")
    spec = line.split(" ", 3 if words[0] == "-I" else 2)[-1]
    rule = f"-A {words[1]} {spec}"  # kept as the -A line that would have made it
    if words[0] == "-D":
        if rule not in chains[words[1]]:
            raise ApplyError("Bad rule (does a matching rule exist in that chain?)")
        chains[words[1]].remove(rule)
        return table
    target = _target(words)
    if target is not None and target not in TARGETS and target not in chains:
        raise ApplyError(f"no target {target}")
    if words[0] == "-I":
        chains[words[1]].insert(int(words[2]) - 1, rule)
    else:
        chains[words[1]].append(line)
    return table


def _target(words: list[str]) -> str | None:
    return words[words.index("-j") + 1] if "-j" in words else None
