"""A trace as text for a learner, or as JSON for scripts and tests.

Pure. `text(trace)` numbers the steps all paths share, then, where the paths part (the random pick
of an endpoint), lists the alternatives with their odds and the steps of each path, and ends with
a result table (probability, verdict, where the packet lands, the source the receiver sees) and
what happens to the replies. `as_json(trace)` holds the same facts as data.
"""

from __future__ import annotations

from typing import Any

from kubesvc.proxy.trace.explain import Step, odds
from kubesvc.proxy.trace.path import Outcome, Trace

VERDICTS = {
    "delivered": "reaches",
    "rejected": "is rejected",
    "dropped": "is dropped",
    "lost": "is lost",
    "unreachable": "has no route",
    "left": "leaves the cluster",
}


def _origin(trace: Trace) -> str:
    o = trace.origin
    if o.kind == "pod":
        return f"pod {o.name} ({o.ip} on {o.node})"
    if o.kind == "host":
        return f"the host ({o.ip})"
    return f"a process on {o.name}"


def _step(label: str, step: Step) -> list[str]:
    lines = [f"{label:>4} {step.node} · {step.where}: {step.text}"]
    lines += [f"         {rule}" for rule in step.rules]
    return lines


def _common(outcomes: tuple[Outcome, ...]) -> int:
    shortest = min(len(o.steps) for o in outcomes)
    for i in range(shortest):
        if len({o.steps[i] for o in outcomes}) > 1:
            return i
    return shortest


def _where(outcome: Outcome) -> str:
    if outcome.pod is not None:
        return f"pod {outcome.pod} on {outcome.pod.node}"
    return "the host" if outcome.node == "host" else outcome.node


def text(trace: Trace) -> str:
    outcomes = tuple(sorted(trace.outcomes, key=lambda o: (o.packet.dst, o.packet.dport)))
    lines = [
        f"A new {trace.proto.upper()} connection from {_origin(trace)} to {trace.destination}",
        "",
    ]
    if not outcomes:
        return "\n".join([*lines, "Nothing to trace."]) + "\n"
    shared = _common(outcomes) if len(outcomes) > 1 else len(outcomes[0].steps)
    for n, step in enumerate(outcomes[0].steps[:shared], 1):
        lines += _step(f"{n}.", step)
    if len(outcomes) > 1:
        firsts = [o.steps[shared] for o in outcomes if len(o.steps) > shared]
        if firsts and all(s.kind == "choice" for s in firsts):
            lines += ["", f"  Then one of {len(outcomes)} endpoints is picked at random:"]
        else:
            lines += ["", f"  From here the connection can take {len(outcomes)} paths:"]
        for letter, outcome in zip("abcdefghijklmnopqrstuvwxyz", outcomes, strict=False):
            chance = odds(outcome.probability)
            where = f"{outcome.packet.destination}, {_where(outcome)}"
            lines.append(f"    {letter}) probability {chance}: {where}")
        for letter, outcome in zip("abcdefghijklmnopqrstuvwxyz", outcomes, strict=False):
            lines += ["", f"  Path {letter}) (probability {odds(outcome.probability)}):"]
            for n, step in enumerate(outcome.steps[shared:], shared + 1):
                lines += _step(f"{n}{letter}.", step)
    lines += ["", "Result:"]
    for outcome in outcomes:
        verdict = VERDICTS.get(outcome.verdict, outcome.verdict)
        line = f"  {odds(outcome.probability):>6}  the connection {verdict}"
        if outcome.verdict == "delivered":
            line += f" {outcome.packet.destination} ({_where(outcome)}; it sees the source "
            line += f"{outcome.packet.src})"
        lines.append(line)
    if any(
        o.verdict == "delivered" and o.packet.destination != trace.destination for o in outcomes
    ):
        lines += [
            "",
            "Replies travel back the same way: conntrack undoes the translations, so the client "
            f"sees them come from {trace.destination}.",
        ]
    if trace.unmodeled:
        lines += ["", "Rules the tracer cannot evaluate (taken as not matching):"]
        lines += [f"  {rule}" for rule in trace.unmodeled]
    return "\n".join(lines) + "\n"


def as_json(trace: Trace) -> dict[str, Any]:
    o = trace.origin
    return {
        "from": {"kind": o.kind, "name": o.name, "node": o.node, "ip": o.ip},
        "destination": trace.destination,
        "protocol": trace.proto,
        "outcomes": [
            {
                "probability": round(out.probability, 6),
                "odds": odds(out.probability),
                "verdict": out.verdict,
                "destination": out.packet.destination,
                "source": out.packet.src,
                "node": out.node,
                "pod": str(out.pod) if out.pod is not None else None,
                "steps": [
                    {"node": s.node, "where": s.where, "text": s.text, "rules": list(s.rules)}
                    for s in out.steps
                ],
            }
            for out in trace.outcomes
        ],
        "unmodeled": list(trace.unmodeled),
    }
