"""iptables rules parsed back into data: tables, chains, policies and rules with their matches.

Pure. `parse(text)` reads `iptables-save` output, or the `iptables-restore` input the renderer
writes (the same grammar: `*table`, `:CHAIN POLICY [counters]`, `-A CHAIN ...`, `COMMIT`; other
lines such as `-X` and comments are ignored). Each rule keeps its text, for quoting, and its
matches in order: an option (`-s`, `--dport`, `--ctstate`, `--probability`, ...), its value, the
module it belongs to (`-m statistic`), and whether a `!` negates it; then the target (`-j`, or
`-g` for a goto) and the target's options (`--to-destination`, `--or-mark`, `--set-xmark`, ...).
iptables-save's normal form (`-d 10.96.0.10/32 -p tcp -m comment ... -m tcp --dport 80`) and the
renderer's order (`-m tcp -p tcp -d 10.96.0.10 --dport 80`) give the same matches.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

# Options that take no value.
FLAGS = frozenset(
    {
        "--rcheck",
        "--set",
        "--update",
        "--remove",
        "--reap",
        "--rsource",
        "--rdest",
        "--random",
        "--random-fully",
        "--persistent",
        "--syn",
        "--log-uid",
    }
)
_SHORT = {
    "--source": "-s",
    "--src": "-s",
    "--destination": "-d",
    "--dst": "-d",
    "--protocol": "-p",
    "--in-interface": "-i",
    "--out-interface": "-o",
    "--jump": "-j",
    "--goto": "-g",
    "--match": "-m",
    "--destination-port": "--dport",
    "--source-port": "--sport",
}


class RuleSyntaxError(ValueError):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    option: str
    value: str = ""
    module: str = ""
    negated: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    table: str
    chain: str
    text: str
    matches: tuple[Match, ...] = ()
    target: str = ""
    target_options: tuple[tuple[str, str], ...] = ()
    goto: bool = False

    def match(self, option: str) -> Match | None:
        return next((m for m in self.matches if m.option == option), None)

    def target_option(self, option: str) -> str | None:
        return next((v for o, v in self.target_options if o == option), None)

    @property
    def comment(self) -> str:
        found = self.match("--comment")
        return found.value if found is not None else ""


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Chains per table, in order, and the built-in chains' policies."""

    chains: dict[str, dict[str, tuple[Rule, ...]]] = field(default_factory=dict)
    policies: dict[tuple[str, str], str] = field(default_factory=dict)

    def rules(self, table: str, chain: str) -> tuple[Rule, ...]:
        return self.chains.get(table, {}).get(chain, ())

    def has_chain(self, table: str, chain: str) -> bool:
        return chain in self.chains.get(table, {})

    def policy(self, table: str, chain: str) -> str:
        return self.policies.get((table, chain), "ACCEPT")

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(self.chains)


def parse_rule(table: str, line: str) -> Rule:
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise RuleSyntaxError(f"{line!r}: {exc}") from None
    if len(words) < 2 or words[0] != "-A":
        raise RuleSyntaxError(f"not a rule: {line!r}")
    chain, matches, target, options, goto = words[1], [], "", [], False
    module, negate, i = "", False, 2
    while i < len(words):
        word = _SHORT.get(words[i], words[i])
        if word == "!":
            negate, i = True, i + 1
            continue
        if word in ("-j", "-g"):
            if i + 1 >= len(words):
                raise RuleSyntaxError(f"{line!r}: {word} needs a target")
            target, goto, i = words[i + 1], word == "-g", i + 2
            while i < len(words):
                opt = words[i]
                has_value = i + 1 < len(words) and not words[i + 1].startswith("--")
                value = words[i + 1] if has_value and opt not in FLAGS else ""
                options.append((opt, value))
                i += 2 if value else 1
            break
        if word == "-m":
            module, i = words[i + 1] if i + 1 < len(words) else "", i + 2
            continue
        if word in FLAGS:
            value, i = "", i + 1
        elif i + 1 < len(words):
            value, i = words[i + 1], i + 2
        else:
            raise RuleSyntaxError(f"{line!r}: {word} needs a value")
        base = word in ("-s", "-d", "-p", "-i", "-o")
        matches.append(
            Match(option=word, value=value, module="" if base else module, negated=negate)
        )
        negate = False
    return Rule(
        table=table,
        chain=chain,
        text=line,
        matches=tuple(matches),
        target=target,
        target_options=tuple(options),
        goto=goto,
    )


def parse(text: str) -> RuleSet:
    chains: dict[str, dict[str, list[Rule]]] = {}
    policies: dict[tuple[str, str], str] = {}
    table = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            table = line[1:]
            chains.setdefault(table, {})
        elif line.startswith(":"):
            name, _, rest = line[1:].partition(" ")
            chains.setdefault(table, {}).setdefault(name, [])
            policy = rest.split()[0] if rest.split() else "-"
            if policy != "-":
                policies[(table, name)] = policy
        elif line.startswith("-A "):
            rule = parse_rule(table, line)
            chains.setdefault(table, {}).setdefault(rule.chain, []).append(rule)
    return RuleSet(
        chains={t: {c: tuple(r) for c, r in cs.items()} for t, cs in chains.items()},
        policies=policies,
    )
