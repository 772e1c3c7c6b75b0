"""The registry: every resource's get, list, create, update, patch, delete and watch.

One generic implementation over the store, with the per-kind differences in `strategy` (what
the server sets), `kubesvc.api.defaults`/`validation` (what a client may send) and
`allocation` (what a Service takes from the ClusterIP and NodePort tables, written in the same
store transaction as the Service). Objects are Kubernetes JSON; the store keeps them without
`metadata.resourceVersion`, which is the key's mod revision and is added back on every read.

Updates are optimistic: a client that sends a resourceVersion gets 409 Conflict when it is
stale; unconditional updates and patches are retried against the latest version, as
kube-apiserver's GuaranteedUpdate does.
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import ipaddress
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kubesvc.api import defaults, validation
from kubesvc.api.errors import (
    StatusError,
    already_exists_error,
    bad_request,
    conflict_error,
    expired_error,
    forbidden_error,
    invalid,
    invalid_error,
    not_found_error,
    required,
)
from kubesvc.api.meta import metadata, now_rfc3339, random_suffix
from kubesvc.api.patch import apply_patch
from kubesvc.api.resources import Resource, lookup
from kubesvc.api.selectors import FieldSelector, LabelSelector, field_set
from kubesvc.apiserver import allocation, strategy
from kubesvc.apiserver.allocation import Allocator, Plan
from kubesvc.store import (
    Create,
    Delete,
    Event,
    KeyExists,
    KeyNotFound,
    KeyValue,
    Op,
    RevisionMismatch,
    Store,
    TooOldError,
    Update,
)

NAMESPACES = lookup("", "namespaces")
_RETRIES = 16


@dataclass(frozen=True, slots=True)
class Selectors:
    labels: LabelSelector | None = None
    fields: FieldSelector | None = None

    def matches(self, kind: str, obj: dict[str, Any]) -> bool:
        if self.labels is not None:
            labels = (obj.get("metadata") or {}).get("labels") or {}
            if not self.labels.matches({str(k): str(v) for k, v in labels.items()}):
                return False
        return self.fields is None or self.fields.matches(field_set(kind, obj))


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: dict[str, Any]
    revision: int


def encode(obj: dict[str, Any]) -> bytes:
    meta = obj.get("metadata") or {}
    rv = meta.pop("resourceVersion", None)
    try:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    finally:
        if rv is not None:
            meta["resourceVersion"] = rv


def decode(res: Resource, value: bytes, revision: int) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(value)
    obj["apiVersion"] = res.api_version
    obj["kind"] = res.kind
    metadata(obj)["resourceVersion"] = str(revision)
    return obj


class Registry:
    def __init__(
        self,
        store: Store,
        allocator: Allocator,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.allocator = allocator
        self.clock = clock
        self.deletions = asyncio.Event()  # set whenever something is deleted (for the GC)

    # ------------------------------------------------------------------ reads

    async def get(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any]:
        kv = await self.store.get(res.key(namespace, name))
        if kv is None:
            raise not_found_error(res.plural, res.group, name)
        return decode(res, kv.value, kv.mod_revision)

    async def list(
        self,
        res: Resource,
        namespace: str | None,
        selectors: Selectors = Selectors(),
        *,
        limit: int | None = None,
        start_after: str | None = None,
    ) -> tuple[builtins.list[dict[str, Any]], int, str | None]:
        """Matching objects, the list's revision and the key to continue after (if cut)."""
        prefix = res.prefix(namespace)
        items: builtins.list[dict[str, Any]] = []
        cursor = start_after
        revision = 0
        while True:
            page_size = None if limit is None else max(limit - len(items), 1) * 2
            result = await self.store.list(prefix, start_after=cursor, limit=page_size)
            revision = revision or result.revision
            for kv in result.items:
                obj = decode(res, kv.value, kv.mod_revision)
                if selectors.matches(res.kind, obj):
                    items.append(obj)
                    if limit is not None and len(items) >= limit:
                        more = kv is not result.items[-1] or result.more
                        return items, revision, kv.key if more else None
            if not result.more or not result.items:
                return items, revision, None
            cursor = result.items[-1].key

    # ------------------------------------------------------------------ create

    def normalize(self, res: Resource, namespace: str | None, obj: dict[str, Any]) -> None:
        """Kind, apiVersion and namespace checks common to create and update."""
        api_version = obj.get("apiVersion")
        if api_version not in (None, "", res.api_version):
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({res.api_version})"
            )
        kind = obj.get("kind")
        if kind not in (None, "", res.kind):
            raise bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({res.kind})"
            )
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        meta = metadata(obj)
        body_ns = meta.get("namespace")
        if res.namespaced:
            if body_ns not in (None, "", namespace):
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request"
                )
            meta["namespace"] = namespace
        elif body_ns:
            meta.pop("namespace")

    async def _check_namespace(self, res: Resource, namespace: str | None) -> None:
        if not res.namespaced or NAMESPACES is None:
            return
        kv = await self.store.get(NAMESPACES.key(None, namespace or ""))
        if kv is None:
            raise not_found_error("namespaces", "", namespace or "")
        ns = json.loads(kv.value)
        if (ns.get("metadata") or {}).get("deletionTimestamp"):
            raise forbidden_error(
                res.plural,
                res.group,
                "",
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
            )

    async def create(
        self,
        res: Resource,
        namespace: str | None,
        obj: dict[str, Any],
        *,
        dry_run: bool = False,
        internal: bool = False,
    ) -> dict[str, Any]:
        """Create. `internal` writes of the server itself (the `kubernetes` Endpoints on a
        loopback address) skip the validation meant for clients."""
        self.normalize(res, namespace, obj)
        meta = metadata(obj)
        if meta.get("resourceVersion"):
            raise bad_request("resourceVersion should not be set on objects to be created")
        generate = not meta.get("name") and isinstance(meta.get("generateName"), str)
        if generate:
            meta["name"] = f"{meta['generateName']}{random_suffix()}"
        name = str(meta.get("name") or "")
        if not name:
            raise invalid_error(
                res.kind,
                res.group,
                "",
                [required("metadata.name", "name or generateName is required")],
            )
        await self._check_namespace(res, namespace)
        strategy.prepare_create(res, obj, self.clock())
        defaults.apply_defaults(res.kind, obj)
        for _ in range(_RETRIES):
            work = copy.deepcopy(obj)
            plan = self._admit(res, work, None, name) if not internal else Plan()
            if dry_run:
                return work
            ops: builtins.list[Op] = [Create(res.key(namespace, name), encode(work))]
            try:
                kvs = await self._commit(ops, plan)
            except KeyExists as exc:
                if exc.key == res.key(namespace, name):
                    raise already_exists_error(res.plural, res.group, name) from None
                self._taken(exc.key, plan, name)
                continue
            return decode(res, kvs[0].value, kvs[0].mod_revision)
        raise conflict_error(res.plural, res.group, name, "could not allocate, please retry")

    def _admit(
        self, res: Resource, obj: dict[str, Any], old: dict[str, Any] | None, name: str
    ) -> Plan:
        """Allocate (Services), then validate, in kube-apiserver's order; 422 on errors.

        Allocation only plans: nothing is written until the caller commits the plan together
        with the object, so a refused object leaves the table untouched."""
        plan = Plan()
        if res.kind == "Service":
            errors = validation.validate_cluster_families(obj)
            if errors:
                raise invalid_error(res.kind, res.group, name, errors)
            if _allocatable(obj):
                plan = self.allocator.plan(obj, old)
            defaults.service_ip_families(obj, old)
        errors = validation.validate(res.kind, obj, old)
        if errors:
            raise invalid_error(res.kind, res.group, name, errors)
        return plan

    def _taken(self, key: str, plan: Plan, name: str) -> None:
        """A table key was taken: refuse a requested value, else retry with a fresh pick."""
        if key in plan.requested:
            raise allocation.taken_error(name, plan.requested[key])
        self.allocator.committed(Plan(create={key: b""}))

    async def _commit(self, ops: builtins.list[Op], plan: Plan) -> builtins.list[KeyValue]:
        ops = ops + [Create(k, v) for k, v in plan.create.items()]
        releases: builtins.list[Op] = []
        for key in plan.release:
            if await self.store.get(key) is not None:
                releases.append(Delete(key))
        kvs = await self.store.txn(ops + releases)
        self.allocator.committed(plan)
        return kvs

    # ------------------------------------------------------------------ update and patch

    async def update(
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        obj: dict[str, Any] | None = None,
        *,
        patch: tuple[str, bytes] | None = None,
        subresource: str | None = None,
        dry_run: bool = False,
        inspect: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """PUT (`obj`) or PATCH (`patch` = content type and body) of an object or its status.

        `inspect` sees the patched object before anything else (strict field checks)."""
        for _ in range(_RETRIES):
            kv = await self.store.get(res.key(namespace, name))
            if kv is None:
                raise not_found_error(res.plural, res.group, name)
            old = decode(res, kv.value, kv.mod_revision)
            if patch is not None:
                new = apply_patch(patch[0], old, patch[1], res.kind)
                if inspect is not None:
                    inspect(new)
                pinned = (new.get("metadata") or {}).get("resourceVersion") != old["metadata"][
                    "resourceVersion"
                ]
            else:
                assert obj is not None
                new = copy.deepcopy(obj)
                pinned = bool((new.get("metadata") or {}).get("resourceVersion"))
            try:
                return await self._update_once(
                    res, namespace, name, new, old, kv, subresource, dry_run
                )
            except RevisionMismatch:
                if pinned:
                    raise conflict_error(res.plural, res.group, name) from None
        raise conflict_error(res.plural, res.group, name)

    async def _update_once(
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        new: dict[str, Any],
        old: dict[str, Any],
        kv: KeyValue,
        subresource: str | None,
        dry_run: bool,
    ) -> dict[str, Any]:
        if not isinstance(new, dict):
            raise bad_request("the body of the request must be an object")
        self.normalize(res, namespace, new)
        meta = metadata(new)
        if meta.get("name") not in (None, "", name):
            raise bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on "
                f"the URL ({name})"
            )
        meta["name"] = name
        sent_rv = meta.get("resourceVersion")
        if sent_rv and str(sent_rv) != str(kv.mod_revision):
            raise RevisionMismatch(
                kv.key, int(str(sent_rv)) if str(sent_rv).isdigit() else -1, kv.mod_revision
            )
        result = strategy.prepare_update(res, new, old, subresource)
        if subresource == "status":
            defaults.apply_defaults(res.kind, result)  # the decoder defaults every body
            errors = validation.validate_status_update(res.kind, result, old)
            if errors:
                raise invalid_error(res.kind, res.group, name, errors)
            plan = Plan()
        else:
            defaults.apply_defaults(res.kind, result)
            if res.kind == "Service":
                defaults.prepare_service_update(result, old)
            plan = self._admit(res, result, old, name)
        if dry_run:
            return result
        result_meta = metadata(result)
        # the last finalizer gone from an object being deleted (not one in its grace period)
        if (
            result_meta.get("deletionTimestamp")
            and not result_meta.get("deletionGracePeriodSeconds")
            and not _finalizers(result)
        ):
            return await self._remove(res, namespace, name, old, kv.mod_revision)
        data = encode(result)
        if data == encode(old) and not plan.create and not plan.release:
            return old
        try:
            kvs = await self._commit([Update(kv.key, data, kv.mod_revision)], plan)
        except KeyExists as exc:
            self._taken(exc.key, plan, name)
            raise RevisionMismatch(kv.key, kv.mod_revision, kv.mod_revision) from None
        return decode(res, kvs[0].value, kvs[0].mod_revision)

    # ------------------------------------------------------------------ delete

    async def delete(
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        dry_run: bool = False,
    ) -> tuple[dict[str, Any], bool]:
        """Delete; returns the object and whether it is gone (False: finalizers pending)."""
        options = options or {}
        for _ in range(_RETRIES):
            kv = await self.store.get(res.key(namespace, name))
            if kv is None:
                raise not_found_error(res.plural, res.group, name)
            old = decode(res, kv.value, kv.mod_revision)
            self._check_preconditions(res, name, old, options.get("preconditions"))
            finalizers = list(old["metadata"].get("finalizers") or [])
            policy = options.get("propagationPolicy")
            if options.get("orphanDependents") is True:
                policy = "Orphan"
            extra = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}.get(str(policy))
            if res.kind == "Namespace":
                finalizers += list((old.get("spec") or {}).get("finalizers") or [])
            if extra and extra not in finalizers and not old["metadata"].get("deletionTimestamp"):
                finalizers.append(extra)
            grace = pod_grace_period(res, old, options)
            if dry_run:
                return old, not finalizers and not grace
            try:
                if grace:
                    marked = await self._mark_deleting(res, old, kv, extra, grace)
                    return marked, False
                if not finalizers:
                    return await self._remove(res, namespace, name, old, kv.mod_revision), True
                marked = await self._mark_deleting(res, old, kv, extra)
                return marked, False
            except RevisionMismatch:
                continue
        raise conflict_error(res.plural, res.group, name)

    def _check_preconditions(self, res: Resource, name: str, obj: dict[str, Any], pre: Any) -> None:
        if not isinstance(pre, dict):
            return
        meta = obj["metadata"]
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            raise conflict_error(
                res.plural,
                res.group,
                name,
                f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: "
                f"{meta.get('uid')}",
            )
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
            raise conflict_error(
                res.plural,
                res.group,
                name,
                "Precondition failed: ResourceVersion in precondition: "
                f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                f"{meta.get('resourceVersion')}",
            )

    async def _mark_deleting(
        self,
        res: Resource,
        old: dict[str, Any],
        kv: KeyValue,
        extra: str | None,
        grace: int = 0,
    ) -> dict[str, Any]:
        """Set deletionTimestamp (now + the grace period), or shorten a longer one."""
        new = copy.deepcopy(old)
        meta = new["metadata"]
        if extra and extra not in (meta.get("finalizers") or []):
            meta["finalizers"] = [*(meta.get("finalizers") or []), extra]
        current = meta.get("deletionGracePeriodSeconds")
        if not meta.get("deletionTimestamp") or (isinstance(current, int) and grace < current):
            deadline = self.clock() + timedelta(seconds=grace)
            meta["deletionTimestamp"] = now_rfc3339(deadline)
            meta["deletionGracePeriodSeconds"] = grace
            if res.kind == "Namespace":
                new.setdefault("status", {})["phase"] = "Terminating"
        if encode(new) == encode(old):
            return old
        kvs = await self.store.txn([Update(kv.key, encode(new), kv.mod_revision)])
        self.deletions.set()
        return decode(res, kvs[0].value, kvs[0].mod_revision)

    async def _remove(
        self, res: Resource, namespace: str | None, name: str, old: dict[str, Any], revision: int
    ) -> dict[str, Any]:
        plan = self.allocator.release_all(old) if res.kind == "Service" else Plan()
        try:
            kvs = await self._commit([Delete(res.key(namespace, name), revision)], plan)
        except KeyNotFound:
            raise not_found_error(res.plural, res.group, name) from None
        self.deletions.set()
        return decode(res, kvs[0].value, kvs[0].mod_revision)

    # ------------------------------------------------------------------ binding

    async def bind(
        self, res: Resource, namespace: str | None, name: str, binding: dict[str, Any]
    ) -> None:
        """pods/binding: assign a pending pod to a node, as the scheduler does."""
        target = binding.get("target") if isinstance(binding.get("target"), dict) else {}
        node = (target or {}).get("name")
        if not isinstance(node, str) or not node:
            raise invalid_error("Binding", "", name, [required("target.name")])
        for _ in range(_RETRIES):
            kv = await self.store.get(res.key(namespace, name))
            if kv is None:
                raise not_found_error(res.plural, res.group, name)
            pod = decode(res, kv.value, kv.mod_revision)
            meta, spec = pod["metadata"], pod.setdefault("spec", {})
            if meta.get("deletionTimestamp"):
                raise conflict_error(
                    "pods/binding",
                    "",
                    name,
                    f"pod {name} is being deleted, cannot be assigned to a host",
                )
            if spec.get("nodeName"):
                raise conflict_error(
                    "pods/binding",
                    "",
                    name,
                    f'pod {name} is already assigned to node "{spec["nodeName"]}"',
                )
            spec["nodeName"] = node
            status = pod.setdefault("status", {})
            conditions = [
                c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"
            ]
            conditions.append(
                {
                    "type": "PodScheduled",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": now_rfc3339(self.clock()),
                }
            )
            status["conditions"] = conditions
            try:
                await self.store.txn([Update(kv.key, encode(pod), kv.mod_revision)])
            except RevisionMismatch:
                continue
            return
        raise conflict_error(res.plural, res.group, name)

    # ------------------------------------------------------------------ scale

    async def get_scale(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any]:
        return strategy.scale_of(res, await self.get(res, namespace, name))

    async def update_scale(
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        scale: dict[str, Any] | None = None,
        *,
        patch: tuple[str, bytes] | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        for _ in range(_RETRIES):
            owner = await self.get(res, namespace, name)
            current = strategy.scale_of(res, owner)
            if patch is not None:
                wanted = apply_patch(patch[0], current, patch[1], "Scale")
            else:
                wanted = scale or {}
            sent_rv = (wanted.get("metadata") or {}).get("resourceVersion")
            if sent_rv and sent_rv != owner["metadata"]["resourceVersion"]:
                if patch is None:
                    raise conflict_error(res.plural, res.group, name)
                continue
            replicas = (wanted.get("spec") or {}).get("replicas", 0)
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                detail = "must be greater than or equal to 0"
                raise invalid_error(
                    "Scale", "autoscaling", name, [invalid("spec.replicas", replicas, detail)]
                )
            owner.setdefault("spec", {})["replicas"] = replicas
            try:
                updated = await self.update(res, namespace, name, owner, dry_run=dry_run)
            except StatusError as exc:
                if exc.reason == "Conflict" and patch is not None:
                    continue
                raise
            return strategy.scale_of(res, updated)
        raise conflict_error(res.plural, res.group, name)

    # ------------------------------------------------------------------ watch

    async def watch(
        self,
        res: Resource,
        namespace: str | None,
        after: int,
        selectors: Selectors = Selectors(),
    ) -> AsyncIterator[WatchEvent]:
        """Events after revision `after`, translated as kube-apiserver does for selectors:
        an object that stops matching is DELETED for this watcher, one that starts is ADDED."""
        stream = self.store.watch(res.prefix(namespace), after)
        try:
            async for event in stream:
                translated = self._translate(res, event, selectors)
                if translated is not None:
                    yield translated
        except TooOldError as exc:
            raise expired_error(str(exc)) from None
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    def _translate(self, res: Resource, event: Event, selectors: Selectors) -> WatchEvent | None:
        revision = event.kv.mod_revision
        new = decode(res, event.kv.value, revision)
        old = decode(res, event.prev.value, event.prev.mod_revision) if event.prev else None
        new_match = selectors.matches(res.kind, new)
        old_match = old is not None and selectors.matches(res.kind, old)
        if event.type == "DELETE":
            return WatchEvent("DELETED", new, revision) if new_match or old_match else None
        if old is None:
            return WatchEvent("ADDED", new, revision) if new_match else None
        if new_match and old_match:
            return WatchEvent("MODIFIED", new, revision)
        if new_match:
            return WatchEvent("ADDED", new, revision)
        if old_match:
            return WatchEvent("DELETED", new, revision)
        return None


def _finalizers(obj: dict[str, Any]) -> builtins.list[str]:
    found = list((obj.get("metadata") or {}).get("finalizers") or [])
    if obj.get("kind") == "Namespace":
        found += list((obj.get("spec") or {}).get("finalizers") or [])
    return found


def _allocatable(svc: dict[str, Any]) -> bool:
    """Whether the allocator can read this Service; if not, validation reports why."""
    spec = svc.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("ports", []), list):
        return False
    ip = spec.get("clusterIP")
    if ip not in (None, "", "None"):
        try:
            ipaddress.IPv4Address(str(ip))
        except ValueError:
            return False
    for port in spec.get("ports") or []:
        if not isinstance(port, dict):
            return False
        if not isinstance(port.get("nodePort", 0), int) or not isinstance(port.get("port", 0), int):
            return False
    return isinstance(spec.get("healthCheckNodePort", 0), int)


def pod_grace_period(res: Resource, pod: dict[str, Any], options: dict[str, Any]) -> int:
    """The pod strategy's graceful deletion: seconds the kubelet gets to stop a running pod.

    0 (delete at once) for other kinds, pods not bound to a node, finished pods and an explicit
    gracePeriodSeconds of 0; otherwise the request's value or the pod's
    terminationGracePeriodSeconds (30 by default)."""
    if res.kind != "Pod":
        return 0
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        return 0
    requested = options.get("gracePeriodSeconds")
    if requested is not None:
        try:
            return max(0, int(requested))
        except (TypeError, ValueError):
            raise bad_request(f"invalid gracePeriodSeconds: {requested!r}") from None
    value = spec.get("terminationGracePeriodSeconds", 30)
    return int(value) if isinstance(value, int) and value > 0 else 0
