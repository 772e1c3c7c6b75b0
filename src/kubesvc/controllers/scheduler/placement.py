"""Where a pod goes: the scheduler's filters and our spreading score, as pure functions.

Filters run per node in kube-scheduler's order and stop at the first failure, whose reason is
counted: NodeUnschedulable ("node(s) were unschedulable"), TaintToleration (the first
untolerated NoSchedule/NoExecute taint: "node(s) had untolerated taint {KEY: VALUE}"),
NodeAffinity (nodeSelector and required node affinity: "node(s) didn't match Pod's node
affinity/selector"), NodePorts ("node(s) didn't have free ports for the requested pod ports").
A node whose Ready condition is not True carries the taint the node lifecycle controller gives it
(`node.kubernetes.io/not-ready` or `node.kubernetes.io/unreachable`, NoSchedule) even before
that controller has written it, so only Ready nodes take new pods.

Among the nodes that pass, the pod goes to the one with the fewest pods of the same owner (so
replicas spread), then the fewest pods, then the first name. When none passes, `FitError`'s text
is the PodScheduled condition message, as kube-scheduler words it: `0/3 nodes are available:
1 node(s) were unschedulable, 2 node(s) had untolerated taint {node.kubernetes.io/unreachable: }.
preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.`
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from kubesvc.controllers.owners import controller_uid
from kubesvc.controllers.pods import condition, meta, spec

Obj = dict[str, Any]

NO_NODES = "no nodes available to schedule pods"
UNSCHEDULABLE = "node(s) were unschedulable"
AFFINITY = "node(s) didn't match Pod's node affinity/selector"
PORTS = "node(s) didn't have free ports for the requested pod ports"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
_UNRESOLVABLE_HELP = "Preemption is not helpful for scheduling"
_NO_VICTIMS = "No preemption victims found for incoming pod"


@dataclass(frozen=True, slots=True)
class Placement:
    node: str | None
    message: str = ""


def condition_taints(node: Obj) -> list[Obj]:
    """The NoSchedule taint TaintNodesByCondition derives from the Ready condition."""
    ready = condition(node, "Ready")
    if ready is not None and ready.get("status") == "True":
        return []
    key = UNREACHABLE_TAINT if ready is not None and ready.get("status") == "Unknown" else None
    return [{"key": key or NOT_READY_TAINT, "effect": "NoSchedule"}]


def effective_taints(node: Obj) -> list[Obj]:
    taints = [t for t in spec(node).get("taints") or [] if isinstance(t, dict)]
    have = {(t.get("key"), t.get("effect")) for t in taints}
    taints += [t for t in condition_taints(node) if (t["key"], t["effect"]) not in have]
    return taints


def tolerates(toleration: Obj, taint: Obj) -> bool:
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    if toleration.get("key") and toleration.get("key") != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def _tolerated(pod: Obj, taint: Obj) -> bool:
    return any(tolerates(t, taint) for t in spec(pod).get("tolerations") or [])


def _requirement_matches(req: Obj, values: dict[str, str]) -> bool:
    key, operator = str(req.get("key") or ""), req.get("operator")
    wanted = [str(v) for v in req.get("values") or []]
    present = key in values
    if operator == "In":
        return present and values[key] in wanted
    if operator == "NotIn":
        return not present or values[key] not in wanted
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and len(wanted) == 1:
        try:
            have, limit = int(values[key]), int(wanted[0])
        except ValueError:
            return False
        return have > limit if operator == "Gt" else have < limit
    return False


def _term_matches(term: Obj, node: Obj) -> bool:
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False
    labels = {str(k): str(v) for k, v in (meta(node).get("labels") or {}).items()}
    names = {"metadata.name": str(meta(node).get("name") or "")}
    return all(_requirement_matches(r, labels) for r in expressions) and all(
        _requirement_matches(r, names) for r in fields
    )


def matches_affinity(pod: Obj, node: Obj) -> bool:
    labels = meta(node).get("labels") or {}
    for key, value in (spec(pod).get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    affinity = ((spec(pod).get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if not affinity:
        return True
    return any(_term_matches(term, node) for term in affinity.get("nodeSelectorTerms") or [])


def host_ports(pod: Obj) -> list[tuple[str, str, int]]:
    ports = []
    for container in [
        *(spec(pod).get("containers") or []),
        *(spec(pod).get("initContainers") or []),
    ]:
        for port in container.get("ports") or []:
            if int(port.get("hostPort") or 0) > 0:
                ip = str(port.get("hostIP") or "0.0.0.0")
                ports.append((ip, str(port.get("protocol") or "TCP"), int(port["hostPort"])))
    return ports


def _ports_conflict(wanted: list[tuple[str, str, int]], used: list[tuple[str, str, int]]) -> bool:
    for ip, protocol, port in wanted:
        for other_ip, other_protocol, other_port in used:
            if (protocol, port) != (other_protocol, other_port):
                continue
            if "0.0.0.0" in (ip, other_ip) or ip == other_ip:
                return True
    return False


def filter_node(pod: Obj, node: Obj, pods_on_node: list[Obj]) -> tuple[str, bool] | None:
    """Why `pod` cannot go to `node` (reason, resolvable by preemption), or None if it can."""
    if spec(node).get("unschedulable") and not _tolerated(
        pod, {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}
    ):
        return UNSCHEDULABLE, False
    for taint in effective_taints(node):
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerated(pod, taint):
            return (
                f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value') or ''}}}",
                False,
            )
    if not matches_affinity(pod, node):
        return AFFINITY, False
    wanted = host_ports(pod)
    if wanted and _ports_conflict(wanted, [p for other in pods_on_node for p in host_ports(other)]):
        return PORTS, True
    return None


def fit_error(total: int, reasons: Counter[str], resolvable: int) -> str:
    parts = sorted(f"{count} {reason}" for reason, count in reasons.items())
    message = f"0/{total} nodes are available: {', '.join(parts)}."
    preemption = []
    if total - resolvable:
        preemption.append(f"{total - resolvable} {_UNRESOLVABLE_HELP}")
    if resolvable:
        preemption.append(f"{resolvable} {_NO_VICTIMS}")
    preemption.sort()
    return f"{message} preemption: 0/{total} nodes are available: {', '.join(preemption)}."


def place(pod: Obj, nodes: list[Obj], pods_by_node: dict[str, list[Obj]]) -> Placement:
    if not nodes:
        return Placement(None, NO_NODES)
    reasons: Counter[str] = Counter()
    resolvable = 0
    owner = controller_uid(pod)
    best: tuple[int, int, str] | None = None
    for node in nodes:
        name = str(meta(node).get("name") or "")
        on_node = pods_by_node.get(name, [])
        failure = filter_node(pod, node, on_node)
        if failure is not None:
            reasons[failure[0]] += 1
            resolvable += failure[1]
            continue
        # spreading ignores pods being deleted, as the scheduler's spreading plugins do
        live = [p for p in on_node if not meta(p).get("deletionTimestamp")]
        siblings = sum(1 for p in live if owner and controller_uid(p) == owner)
        score = (siblings, len(live), name)
        if best is None or score < best:
            best = score
    if best is None:
        return Placement(None, fit_error(len(nodes), reasons, resolvable))
    return Placement(best[2])
