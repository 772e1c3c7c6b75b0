"""One Deployment sync, planned: upstream's syncDeployment as a pure function.

`plan(deployment, replica_sets, pods_by_rs, now)` walks the same steps as the upstream
controller (sync.go, rolling.go, recreate.go, progress.go) on copies of the objects and records,
instead of calling the API, the writes it would make, in order: create the new ReplicaSet
(`NAME-HASH`, template and selector labelled with the pod-template-hash), scale ReplicaSets
(Update, with the desired-replicas/max-replicas annotations), delete old ones beyond
revisionHistoryLimit, set the Deployment's revision annotation, write its status. The glue
applies them one by one and stops at the first failure; the next sync starts over from the
caches, so a partial plan is harmless (level-driven). `requeue_after` asks for a later check of
the progress deadline.

Steps: a paused Deployment or a scaling event (a ReplicaSet's desired-replicas annotation differs
from spec.replicas) only scales, proportionally across active ReplicaSets (`scaling`);
otherwise RollingUpdate scales the new ReplicaSet up within maxSurge and old ones down within
maxUnavailable (unhealthy replicas first), and Recreate scales every old ReplicaSet to zero,
waits until no old pod runs, then scales up the new one. The status and the Progressing
condition come from `progress.rollout_status`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubesvc.controllers.deployment import scaling
from kubesvc.controllers.deployment import util as du
from kubesvc.controllers.deployment.progress import rollout_status
from kubesvc.controllers.hashing import compute_hash
from kubesvc.controllers.owners import new_controller_ref
from kubesvc.controllers.pods import FAILED, SUCCEEDED, is_deleting, meta, phase, spec, status
from kubesvc.controllers.pods import uid_of as uid

Obj = dict[str, Any]
EventSpec = tuple[str, str, str]  # type, reason, message


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """verb: create | update | delete (ReplicaSets), annotate | status (the Deployment)."""

    verb: str
    obj: Obj
    event: EventSpec | None = None


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    requeue_after: float | None = None
    events: list[EventSpec] = field(default_factory=list)


def plan(d: Obj, rss: list[Obj], pods_by_rs: dict[str, list[Obj]], now: datetime) -> Plan:
    planner = _Planner(d, rss, pods_by_rs, now)
    planner.sync()
    return planner.finish()


class _Planner:
    def __init__(self, d: Obj, rss: list[Obj], pods_by_rs: dict[str, list[Obj]], now: datetime):
        self.original = d
        self.d = copy.deepcopy(d)
        self.d.setdefault("status", {})
        self.rss = rss
        self.pods_by_rs = pods_by_rs
        self.now = now
        self.out = Plan()
        self._new: tuple[bool, Obj | None] | None = None

    @property
    def st(self) -> Obj:
        result: Obj = self.d["status"]
        return result

    def finish(self) -> Plan:
        old_annotations = meta(self.original).get("annotations") or {}
        new_annotations = meta(self.d).get("annotations") or {}
        if new_annotations != old_annotations:
            self.out.actions.append(Action(verb="annotate", obj=self.d))
        if self.st != (self.original.get("status") or {}):
            self.out.actions.append(Action(verb="status", obj=self.d))
        return self.out

    # ------------------------------------------------------------------ entry

    def sync(self) -> None:
        if spec(self.d).get("selector") == {}:
            self.out.events.append(
                (
                    "Warning",
                    "SelectingAll",
                    "This deployment is selecting all pods. A non-empty selector is required.",
                )
            )
            generation = int(meta(self.d).get("generation") or 0)
            if int(self.st.get("observedGeneration") or 0) < generation:
                self.st["observedGeneration"] = generation
            return
        if is_deleting(self.d):
            new_rs, old_rss = self.all_replica_sets(create=False)
            self.sync_status([*old_rss, new_rs], new_rs)
            return
        self.check_paused()
        if spec(self.d).get("paused") or self.is_scaling_event():
            self.scale_only()
        elif du.is_rolling_update(self.d):
            self.rollout_rolling()
        else:
            self.rollout_recreate()

    def check_paused(self) -> None:
        if not du.has_progress_deadline(self.d):
            return
        cond = du.get_condition(self.st, "Progressing")
        if cond is not None and cond.get("reason") == du.TIMED_OUT:
            return
        paused_now = cond is not None and cond.get("reason") == du.PAUSED
        if spec(self.d).get("paused") and not paused_now:
            du.set_condition(
                self.st,
                du.new_condition(
                    "Progressing", "Unknown", du.PAUSED, "Deployment is paused", self.now
                ),
            )
        elif not spec(self.d).get("paused") and paused_now:
            du.set_condition(
                self.st,
                du.new_condition(
                    "Progressing", "Unknown", du.RESUMED, "Deployment is resumed", self.now
                ),
            )

    # ------------------------------------------------------------------ replica sets

    def all_replica_sets(self, create: bool) -> tuple[Obj | None, list[Obj]]:
        existing = du.find_new_rs(self.d, self.rss)
        old = [rs for rs in self.rss if existing is None or uid(rs) != uid(existing)]
        if self._new is None or (create and self._new[1] is None):
            self._new = (create, self.new_replica_set(old, create))
        return self._new[1], old

    def _revision_in_deployment(self, value: str) -> None:
        annotations = self.d.setdefault("metadata", {}).setdefault("annotations", {})
        annotations[du.REVISION] = value

    def new_replica_set(self, old_rss: list[Obj], create: bool) -> Obj | None:
        existing = du.find_new_rs(self.d, self.rss)
        new_revision = str(du.max_revision(old_rss) + 1)
        if existing is not None:
            rs = copy.deepcopy(existing)
            changed = du.set_new_rs_annotations(self.d, rs, new_revision, exists=True)
            min_ready = spec(self.d).get("minReadySeconds") or 0
            if changed or (spec(rs).get("minReadySeconds") or 0) != min_ready:
                _set_min_ready(rs, min_ready)
                self.out.actions.append(Action(verb="update", obj=rs))
                return rs
            self._revision_in_deployment((meta(rs).get("annotations") or {}).get(du.REVISION, ""))
            if du.has_progress_deadline(self.d) and not du.get_condition(self.st, "Progressing"):
                message = f'Found new replica set "{meta(rs).get("name")}"'
                du.set_condition(
                    self.st,
                    du.new_condition("Progressing", "True", du.FOUND_NEW_RS, message, self.now),
                )
            return rs
        if not create:
            return None
        rs = self._build_new(old_rss, new_revision)
        count = du.replicas(rs)
        event = None
        if count > 0:
            message = f"Scaled up replica set {meta(rs)['name']} to {count}"
            event = ("Normal", "ScalingReplicaSet", message)
        self.out.actions.append(Action(verb="create", obj=rs, event=event))
        self._revision_in_deployment(new_revision)
        if du.has_progress_deadline(self.d):
            message = f'Created new replica set "{meta(rs)["name"]}"'
            du.set_condition(
                self.st,
                du.new_condition("Progressing", "True", du.NEW_RS_CREATED, message, self.now),
            )
        return rs

    def _build_new(self, old_rss: list[Obj], new_revision: str) -> Obj:
        template = copy.deepcopy(spec(self.d).get("template") or {})
        pod_hash = compute_hash(template, self.st.get("collisionCount"))
        labels = {**((template.get("metadata") or {}).get("labels") or {}), du.HASH_LABEL: pod_hash}
        template.setdefault("metadata", {})["labels"] = labels
        selector = copy.deepcopy(spec(self.d).get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), du.HASH_LABEL: pod_hash}
        rs: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{meta(self.d)['name']}-{pod_hash}",
                "namespace": meta(self.d).get("namespace"),
                "labels": dict(labels),
                "ownerReferences": [new_controller_ref(self.d, "apps/v1", "Deployment")],
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
        }
        _set_min_ready(rs, spec(self.d).get("minReadySeconds") or 0)
        rs["spec"]["replicas"] = self.new_rs_replicas([*old_rss, rs], rs)
        du.set_new_rs_annotations(self.d, rs, new_revision, exists=False)
        return rs

    def new_rs_replicas(self, all_rss: list[Obj], new_rs: Obj) -> int:
        """NewRSNewReplicas."""
        want = du.replicas(self.d)
        if not du.is_rolling_update(self.d):
            return want
        surge = du.scaled_value(du.rolling_update(self.d).get("maxSurge", 0), want, True)
        current = du.sum_spec(list(all_rss))
        if current >= want + surge:
            return du.replicas(new_rs)
        return du.replicas(new_rs) + min(want + surge - current, want - du.replicas(new_rs))

    def scale(self, rs: Obj, count: int, *, record: bool = True) -> tuple[bool, Obj]:
        """scaleReplicaSetAndRecordEvent (record) or scaleReplicaSet: plan an Update."""
        if record and du.replicas(rs) == count:
            return False, rs
        want, surge = du.replicas(self.d), du.max_surge(self.d)
        resize = du.replicas(rs) != count
        if not resize and not du.replicas_annotations_need_update(rs, want, want + surge):
            return False, rs
        updated = copy.deepcopy(rs)
        updated["spec"]["replicas"] = count
        du.set_replicas_annotations(updated, want, want + surge)
        event = None
        if resize:
            direction = "up" if du.replicas(rs) < count else "down"
            message = (
                f"Scaled {direction} replica set {meta(rs)['name']} "
                f"from {du.replicas(rs)} to {count}"
            )
            event = ("Normal", "ScalingReplicaSet", message)
        self.out.actions.append(Action(verb="update", obj=updated, event=event))
        return resize, updated

    # ------------------------------------------------------------------ scaling events

    def is_scaling_event(self) -> bool:
        new_rs, old_rss = self.all_replica_sets(create=False)
        for rs in du.active([*old_rss, new_rs]):
            desired = (meta(rs).get("annotations") or {}).get(du.DESIRED_REPLICAS)
            if desired is not None and desired.isdigit() and int(desired) != du.replicas(self.d):
                return True
        return False

    def scale_only(self) -> None:
        new_rs, old_rss = self.all_replica_sets(create=False)
        self.scale_replica_sets(new_rs, old_rss)
        if spec(self.d).get("paused"):
            self.cleanup(old_rss)
        self.sync_status([*old_rss, new_rs], new_rs)

    def scale_replica_sets(self, new_rs: Obj | None, old_rss: list[Obj]) -> None:
        want = du.replicas(self.d)
        target = scaling.active_or_latest(new_rs, old_rss)
        if target is not None:
            if du.replicas(target) != want:
                self.scale(target, want)
            return
        if scaling.is_saturated(self.d, new_rs):
            for rs in du.active(list(old_rss)):
                self.scale(rs, 0)
            return
        if not du.is_rolling_update(self.d):
            return
        rss = du.active([*old_rss, new_rs])
        allowed = want + du.max_surge(self.d) if want > 0 else 0
        to_add = allowed - du.sum_spec(list(rss))
        if to_add > 0:
            rss.sort(key=du.by_creation, reverse=True)
            rss.sort(key=lambda rs: -du.replicas(rs))
        elif to_add < 0:
            rss.sort(key=du.by_creation)
            rss.sort(key=lambda rs: -du.replicas(rs))
        added, sizes = 0, {}
        for rs in rss:
            proportion = scaling.proportion(rs, self.d, to_add, added) if to_add else 0
            sizes[meta(rs)["name"]] = du.replicas(rs) + proportion
            added += proportion
        for i, rs in enumerate(rss):
            name = meta(rs)["name"]
            if i == 0 and to_add:
                sizes[name] = max(0, sizes[name] + to_add - added)
            self.scale(rs, sizes[name], record=False)

    # ------------------------------------------------------------------ strategies

    def rollout_rolling(self) -> None:
        new_rs, old_rss = self.all_replica_sets(create=True)
        assert new_rs is not None
        all_rss: list[Obj | None] = [*old_rss, new_rs]
        if self.reconcile_new(all_rss, new_rs) or self.reconcile_old(
            all_rss, du.active(list(old_rss)), new_rs
        ):
            self.sync_rollout_status(all_rss, new_rs)
            return
        if du.deployment_complete(self.d, self.st):
            self.cleanup(old_rss)
        self.sync_rollout_status(all_rss, new_rs)

    def reconcile_new(self, all_rss: list[Obj | None], new_rs: Obj) -> bool:
        want = du.replicas(self.d)
        if du.replicas(new_rs) == want:
            return False
        if du.replicas(new_rs) > want:
            return self.scale(new_rs, want)[0]
        count = self.new_rs_replicas([rs for rs in all_rss if rs is not None], new_rs)
        return self.scale(new_rs, count)[0]

    def reconcile_old(self, all_rss: list[Obj | None], old_rss: list[Obj], new_rs: Obj) -> bool:
        if du.sum_spec(list(old_rss)) == 0:
            return False
        min_available = du.replicas(self.d) - du.max_unavailable(self.d)
        new_unavailable = du.replicas(new_rs) - du.status_int(new_rs, "availableReplicas")
        max_scaled_down = du.sum_spec(all_rss) - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        old_rss, cleaned = self._cleanup_unhealthy(old_rss, max_scaled_down)
        scaled = self._scale_down_old([*old_rss, new_rs], old_rss)
        return cleaned + scaled > 0

    def _cleanup_unhealthy(self, old_rss: list[Obj], limit: int) -> tuple[list[Obj], int]:
        result = sorted(old_rss, key=du.by_creation)
        total = 0
        for i, rs in enumerate(result):
            if total >= limit:
                break
            available = du.status_int(rs, "availableReplicas")
            if du.replicas(rs) == 0 or du.replicas(rs) == available:
                continue
            count = min(limit - total, du.replicas(rs) - available)
            result[i] = self.scale(rs, du.replicas(rs) - count)[1]
            total += count
        return result, total

    def _scale_down_old(self, all_rss: list[Obj | None], old_rss: list[Obj]) -> int:
        min_available = du.replicas(self.d) - du.max_unavailable(self.d)
        available = du.sum_status(all_rss, "availableReplicas")
        if available <= min_available:
            return 0
        wanted, total = available - min_available, 0
        for rs in sorted(old_rss, key=du.by_creation):
            if total >= wanted:
                break
            if du.replicas(rs) == 0:
                continue
            count = min(du.replicas(rs), wanted - total)
            self.scale(rs, du.replicas(rs) - count)
            total += count
        return total

    def rollout_recreate(self) -> None:
        new_rs, old_rss = self.all_replica_sets(create=False)
        all_rss: list[Obj | None] = [*old_rss, new_rs]
        scaled_down = False
        for rs in du.active(list(old_rss)):
            scaled_down = self.scale(rs, 0)[0] or scaled_down
        if scaled_down or self._old_pods_running(new_rs, old_rss):
            self.sync_rollout_status(all_rss, new_rs)
            return
        if new_rs is None:
            new_rs, old_rss = self.all_replica_sets(create=True)
            assert new_rs is not None
            all_rss = [*old_rss, new_rs]
        self.scale(new_rs, du.replicas(self.d))
        if du.deployment_complete(self.d, self.st):
            self.cleanup(old_rss)
        self.sync_rollout_status(all_rss, new_rs)

    def _old_pods_running(self, new_rs: Obj | None, old_rss: list[Obj]) -> bool:
        if du.sum_status(list(old_rss), "replicas") > 0:
            return True
        for rs_uid, pods in self.pods_by_rs.items():
            if new_rs is not None and rs_uid == uid(new_rs):
                continue
            if any(phase(p) not in (FAILED, SUCCEEDED) for p in pods):
                return True
        return False

    def cleanup(self, old_rss: list[Obj]) -> None:
        limit = spec(self.d).get("revisionHistoryLimit")
        if limit is None:
            return
        alive = [rs for rs in old_rss if not is_deleting(rs)]
        surplus = len(alive) - int(limit)
        if surplus <= 0:
            return
        for rs in sorted(alive, key=du.by_revision)[:surplus]:
            observed = int(status(rs).get("observedGeneration") or 0)
            if (
                du.status_int(rs, "replicas") != 0
                or du.replicas(rs) != 0
                or int(meta(rs).get("generation") or 0) > observed
            ):
                continue
            self.out.actions.append(Action(verb="delete", obj=rs))

    # ------------------------------------------------------------------ status

    def sync_status(self, all_rss: list[Obj | None], new_rs: Obj | None) -> None:
        self.d["status"] = du.calculate_status(all_rss, new_rs, self.d, self.now)

    def sync_rollout_status(self, all_rss: list[Obj | None], new_rs: Obj | None) -> None:
        new, requeue = rollout_status(self.d, all_rss, new_rs, self.now)
        if new == self.st:
            self.out.requeue_after = requeue
        else:
            self.d["status"] = new


def _set_min_ready(rs: Obj, value: int) -> None:
    if value:
        rs["spec"]["minReadySeconds"] = value
    else:
        rs["spec"].pop("minReadySeconds", None)
