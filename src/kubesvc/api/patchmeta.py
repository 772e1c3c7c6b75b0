"""Strategic merge patch: the per-kind patch metadata and the merge that follows it.

Kubernetes reads the metadata from the Go struct tags `patchStrategy` and `patchMergeKey` of the
typed API (k8s.io/api core/v1 and apps/v1 `types.go`). We have no typed structs, so the same facts
live in `TABLE`, keyed by kind and by the dotted path of JSON field names from the object root;
list elements add no path segment, so `spec.containers.env` is the `env` list of any container.
Shared shapes are written once and mounted where they occur (ObjectMeta, PodSpec, Container).
A field missing from the table has no strategy: lists are replaced wholesale and maps merge,
which is what upstream does for atomic lists such as Ingress `rules`, Endpoints `subsets`,
EndpointSlice `endpoints` or a container's `envFrom`.

`strategic_merge` is apimachinery's `strategicpatch.mergeMap` with `MergeParallelList` and
`IgnoreUnmatchedNulls`: maps merge and `null` deletes; `$retainKeys` prunes a map;
`$patch: replace|delete` replaces or empties a map; lists with a merge key merge element by
element, honour `$patch: delete|replace` items and `$setElementOrder/<list>`, and are ordered as
upstream orders them (patch order first, then live order); primitive merge lists
(`metadata.finalizers`) are unions, `$deleteFromPrimitiveList/<list>` removes from them. Values
taken wholesale (new fields, new list elements, replaced lists) lose their nulls and directives,
as the typed round trip would. Errors keep upstream's codes and words: 400 for malformed
directives, 422 for lists of lists, 500 (reason "") for the rest, values rendered as Go's `%v`.
"""

from __future__ import annotations

import copy
import decimal
from dataclasses import dataclass
from typing import Any

from kubesvc.api.errors import StatusError, bad_request


@dataclass(frozen=True, slots=True, kw_only=True)
class PatchMeta:
    """One field's tags: `strategy` is "merge" (lists), "replace", or "" (none)."""

    strategy: str = ""
    merge_key: str = ""
    retain_keys: bool = False


NONE = PatchMeta()
_MAP_TYPE = "map[string]interface {}"
_PANIC = "This request caused apiserver to panic. Look in the logs for details."
_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder"
_DELETE_FROM = "$deleteFromPrimitiveList"
_MERGE_PRIMITIVE = PatchMeta(strategy="merge")


def _merge(key: str, *, retain_keys: bool = False) -> PatchMeta:
    return PatchMeta(strategy="merge", merge_key=key, retain_keys=retain_keys)


_KEEP_LISTED = PatchMeta(retain_keys=True)

# ObjectMeta (metav1): ownerReferences merge on uid, finalizers is a set of strings.
_OBJECT_META: dict[str, PatchMeta] = {
    "ownerReferences": _merge("uid"),
    "finalizers": _MERGE_PRIMITIVE,
}

# Container and EphemeralContainerCommon; envFrom, resizePolicy and the rest are atomic.
_CONTAINER: dict[str, PatchMeta] = {
    "ports": _merge("containerPort"),
    "env": _merge("name"),
    "volumeMounts": _merge("mountPath"),
    "volumeDevices": _merge("devicePath"),
}

_POD_SPEC: dict[str, PatchMeta] = {
    "volumes": _merge("name", retain_keys=True),
    "initContainers": _merge("name"),
    "containers": _merge("name"),
    "ephemeralContainers": _merge("name"),
    "imagePullSecrets": _merge("name"),
    "hostAliases": _merge("ip"),
    "topologySpreadConstraints": _merge("topologyKey"),
    "schedulingGates": _merge("name"),
    "resourceClaims": _merge("name", retain_keys=True),
}
for _list in ("initContainers", "containers", "ephemeralContainers"):
    for _field, _meta in _CONTAINER.items():
        _POD_SPEC[f"{_list}.{_field}"] = _meta

_POD_STATUS: dict[str, PatchMeta] = {
    "conditions": _merge("type"),
    "podIPs": _merge("ip"),
    "hostIPs": _merge("ip"),
    "resourceClaimStatuses": _merge("name", retain_keys=True),
}

_CONDITIONS = {"conditions": _merge("type")}


def _mount(prefix: str, table: dict[str, PatchMeta]) -> dict[str, PatchMeta]:
    return {f"{prefix}.{path}": meta for path, meta in table.items()}


def _kind(*parts: dict[str, PatchMeta]) -> dict[str, PatchMeta]:
    table = _mount("metadata", _OBJECT_META)
    for part in parts:
        table.update(part)
    return table


def _workload(*parts: dict[str, PatchMeta]) -> dict[str, PatchMeta]:
    return _kind(
        _mount("spec.template.metadata", _OBJECT_META),
        _mount("spec.template.spec", _POD_SPEC),
        _mount("status", _CONDITIONS),
        *parts,
    )


TABLE: dict[str, dict[str, PatchMeta]] = {
    "Pod": _kind(_mount("spec", _POD_SPEC), _mount("status", _POD_STATUS)),
    "PodTemplate": _kind(
        _mount("template.metadata", _OBJECT_META), _mount("template.spec", _POD_SPEC)
    ),
    "ReplicationController": _workload(),
    "Deployment": _workload({"spec.strategy": _KEEP_LISTED}),
    "ReplicaSet": _workload(),
    "StatefulSet": _workload(),
    "Service": _kind({"spec.ports": _merge("port")}, _mount("status", _CONDITIONS)),
    "Node": _kind(
        {"spec.podCIDRs": _MERGE_PRIMITIVE},
        _mount("status", _CONDITIONS),
        {"status.addresses": _merge("type")},
    ),
    "Namespace": _kind(_mount("status", _CONDITIONS)),
}

_DEFAULT = _kind()


def lookup(kind: str, path: str) -> PatchMeta:
    """The patch metadata of the field at dotted `path` in an object of `kind`."""
    return TABLE.get(kind, _DEFAULT).get(path, NONE)


# --------------------------------------------------------------------------- Go rendering


def _go_float(f: float) -> str:
    """fmt's %v of a float64: shortest digits, %e when the exponent is < -4 or >= 6."""
    if f != f or f in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(f)]
    if f == 0:
        return "-0" if str(f).startswith("-") else "0"
    sign, digit_tuple, exp = decimal.Decimal(repr(f)).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    point = len(digits) + int(exp)
    lead = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{lead}{mantissa}e{point - 1:+03d}"
    if point <= 0:
        return f"{lead}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return lead + digits + "0" * (point - len(digits))
    return f"{lead}{digits[:point]}.{digits[point:]}"


def go_v(value: Any) -> str:
    """Go's `%v` of a decoded JSON value (maps print sorted, as fmt does)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_v(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_v(v) for v in value) + "]"
    return str(value)


def _go_type(value: Any) -> str:
    if value is None:
        return "%!s(<nil>)"
    names = {dict: _MAP_TYPE, list: "[]interface {}", str: "string", bool: "bool", int: "int64"}
    return names.get(type(value), "float64")


def _go_s(value: Any) -> str:
    if isinstance(value, str | dict | list):
        return go_v(value)
    if value is None:
        return "%!s(<nil>)"
    return f"%!s({_go_type(value)}={go_v(value)})"


def _same(a: Any, b: Any) -> bool:
    """Go's `==` on two interface{} values holding JSON scalars."""
    return type(a) is type(b) and a == b


def _hashable(value: Any) -> tuple[type, Any] | None:
    return None if isinstance(value, dict | list) else (type(value), value)


# --------------------------------------------------------------------------- errors


def _server_error(message: str) -> StatusError:
    """A plain Go error reaching the handler: 500 with reason StatusReasonUnknown ("")."""
    return StatusError(500, "", message)


def invalid_error() -> StatusError:
    """NewGenericServerResponse(422, ...): the detail is dropped, the details object is empty."""
    return StatusError(
        422, "Invalid", "the server rejected our request due to an error in our request", {}
    )


def _no_merge_key(item: dict[str, Any], key: str) -> StatusError:
    return _server_error(f"map: {go_v(item)} does not contain declared merge key: {key}")


def _bad_arg_type(expected: str, actual: Any) -> StatusError:
    return _server_error(f"expected a {expected}, but received a {_go_type(actual)}")


# --------------------------------------------------------------------------- strategic merge


@dataclass(frozen=True, slots=True)
class _Schema:
    """Where we are in the object: the kind and the dotted path of field names."""

    kind: str
    path: str = ""

    def child(self, name: str) -> _Schema:
        return _Schema(self.kind, f"{self.path}.{name}" if self.path else name)

    def meta(self, name: str) -> PatchMeta:
        return lookup(self.kind, self.child(name).path)


def _is_directive_key(key: str) -> bool:
    return key == _RETAIN_KEYS or key.startswith((f"{_SET_ORDER}/", f"{_DELETE_FROM}/"))


def _clean(value: Any) -> tuple[Any, bool]:
    """discardNullValuesFromPatch + removeDirectives: (value to store, whether to keep it)."""
    if isinstance(value, dict):
        if _DIRECTIVE in value:
            return None, False
        out: dict[str, Any] = {}
        for key, item in value.items():
            if item is None or _is_directive_key(key):
                continue
            item, keep = _clean(item)
            if keep:
                out[key] = item
        return out, True
    if isinstance(value, list):
        return [v for v, keep in map(_clean, value) if keep], True
    return value, True


def _take(target: dict[str, Any], key: str, value: Any) -> None:
    value, keep = _clean(value)
    if keep:
        target[key] = value
    else:
        target.pop(key, None)


def _extract_key(key: str, prefix: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        which = "primitive list" if prefix == _DELETE_FROM else "setElementOrder list"
        raise bad_request(f"invalid patch format of {which}")
    return rest


def _merge_map(original: dict[str, Any], patch: dict[str, Any], schema: _Schema) -> dict[str, Any]:
    if _DIRECTIVE in patch:
        directive = patch[_DIRECTIVE]
        if directive == "replace":
            return dict(_clean({k: v for k, v in patch.items() if k != _DIRECTIVE})[0])
        if directive == "delete":
            return {}
        raise _server_error(f"unknown patch type: {_go_s(directive)} in map: {go_v(patch)}")
    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, schema)
    for key, value in patch.items():
        delete_list = key.startswith(_DELETE_FROM)
        if delete_list:
            key = _extract_key(key, _DELETE_FROM)
        if value is None:
            original.pop(key, None)
            continue
        current = original.get(key)
        if key not in original or type(current) is not type(value):
            if not delete_list:
                _take(original, key, value)
            continue
        meta = schema.meta(key)
        if isinstance(current, dict) and isinstance(value, dict):
            if meta.strategy == "replace":
                _take(original, key, value)
            else:
                original[key] = _merge_map(current, value, schema.child(key))
        elif isinstance(current, list) and isinstance(value, list):
            original[key] = _merge_list(current, value, schema.child(key), meta, delete_list)
        else:
            original[key] = value
    return original


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if _RETAIN_KEYS not in patch:
        return
    retain = patch.pop(_RETAIN_KEYS)
    if not isinstance(retain, list):
        raise bad_request("invalid patch format of retainKeys")
    keep = {v for v in retain if isinstance(v, str)}
    for key, value in patch.items():
        if value is None or key.startswith((_DELETE_FROM, _SET_ORDER)):
            continue
        if key not in keep:
            raise bad_request("invalid patch format of retainKeys")
    for key in [k for k in original if k not in keep]:
        del original[key]


def _merge_ordered_lists(original: dict[str, Any], patch: dict[str, Any], schema: _Schema) -> None:
    """mergePatchIntoOriginal: merge each list that has a `$setElementOrder/` and order it."""
    for directive in [k for k in patch if k.startswith(_SET_ORDER)]:
        order = patch.pop(directive)
        if not isinstance(order, list):
            raise _bad_arg_type("[]interface {}", order)
        key = _extract_key(directive, _SET_ORDER)
        in_original, in_patch = key in original, key in patch
        current, value = original.get(key), patch.get(key)
        if in_original and not isinstance(current, list):
            raise _bad_arg_type("[]interface {}", current)
        if in_patch and not isinstance(value, list):
            raise _bad_arg_type("[]interface {}", value)
        current, value = current or [], value or []
        meta = schema.meta(key)
        _check_order(value, order, meta.merge_key)
        if in_original and in_patch:
            merged = _merge_list(current, value, schema.child(key), meta, False)
        elif in_original or in_patch:
            merged = current if in_original else _clean(value)[0]
        else:
            continue
        is_map = _element_type(current, value) is dict
        if is_map and not meta.merge_key:
            original[key] = merged
        else:
            first, rest = _partition(merged, order, meta.merge_key)
            original[key] = _normalize(first, rest, order, current, meta.merge_key)
        patch.pop(key, None)


def _check_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """validatePatchWithSetOrderList: patch items must appear in the order list, in order."""
    if not order or not patch_list:
        return
    items = _split_deletes(patch_list)[0] if merge_key else patch_list
    pi = oi = 0
    while pi < len(items) and oi < len(order):
        if isinstance(items[pi], dict) and _DIRECTIVE in items[pi]:
            pi += 1
            continue
        if _merge_key_equal(items[pi], order[oi], merge_key):
            pi += 1
        oi += 1
    if pi < len(items) and oi >= len(order):
        raise _server_error(
            f"the order in patch list:\n{go_v(patch_list)}\n doesn't match "
            f"{_SET_ORDER} list:\n{go_v(order)}"
        )


def _merge_key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return _same(left, right)
    for item in (left, right):
        if not isinstance(item, dict):
            raise _bad_arg_type(_MAP_TYPE, item)
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
    return _same(left[merge_key], right[merge_key])


def _element_type(*lists: list[Any]) -> type:
    """sliceElementType: the one type of every element, lists of lists refused."""
    found: type | None = None
    for item in (item for items in lists for item in items):
        if item is None:  # Go dereferences a nil reflect.Type here; the apiserver recovers
            raise StatusError(500, "InternalError", _PANIC)
        if found is None:
            found = type(item)
            if found is list:
                raise invalid_error()
        elif type(item) is not found:
            raise _server_error(f"list element types are not identical: {go_v(list(lists))}")
    if found is None:
        raise _server_error("no elements in any of the given slices")
    return found


def _merge_list(
    current: list[Any], value: list[Any], schema: _Schema, meta: PatchMeta, delete_list: bool
) -> list[Any]:
    if meta.strategy != "merge":
        return list(_clean(value)[0])
    if not current and not value:
        return current
    key = meta.merge_key
    if _element_type(current, value) is not dict:
        if delete_list:
            drop = {_hashable(v) for v in value}
            return [v for v in current if _hashable(v) not in drop]
        merged = _dedupe(current + value)
    else:
        if not key:
            raise _server_error("cannot merge lists without merge key for type map")
        current, value = _special_elements(current, value, key)
        merged = list(current)
        for item in value:
            if key not in item:
                raise _no_merge_key(item, key)
            found = _find(merged, key, item[key])
            if found is None:
                merged.append(_clean(item)[0])
            else:
                merged[found] = _merge_map(merged[found], item, schema)
    first, rest = _partition(merged, value, key)
    return _normalize(first, rest, value, current, key)


def _dedupe(items: list[Any]) -> list[Any]:
    """deduplicateScalars, including its habit of moving the last item into a duplicate's place."""
    items = list(items)
    last, i = len(items) - 1, 0
    while i < last:
        j = i + 1
        while j <= last:
            if _same(items[i], items[j]):
                items[j] = items[last]
                items = items[:last]
                last -= 1
                j -= 1
            j += 1
        i += 1
    return items


def _special_elements(
    current: list[Any], value: list[Any], key: str
) -> tuple[list[Any], list[Any]]:
    """mergeSliceWithSpecialElements: apply `$patch: delete` items, detect `$patch: replace`."""
    plain: list[Any] = []
    replace = False
    for item in value:
        if _DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[_DIRECTIVE]
        if directive == "delete":
            if key not in item:
                raise _no_merge_key(item, key)
            current = [c for c in current if not (key in c and _same(c[key], item[key]))]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise _server_error("merging lists cannot yet be specified in the patch")
        else:
            raise _server_error(f"unknown patch type: {_go_s(directive)} in map: {go_v(item)}")
    if replace:
        return [_clean(item)[0] for item in plain], []
    return current, plain


def _find(items: list[Any], key: str, wanted: Any) -> int | None:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _server_error(f"value for key {i} is not a map.")
        if key in item and _same(item[key], wanted):
            return i
    return None


def _partition(merged: list[Any], by: list[Any], key: str) -> tuple[list[Any], list[Any]]:
    """Split into items named in `by` and server-only items, keeping their order."""
    first: list[Any] = []
    rest: list[Any] = []
    named = {_hashable(v) for v in by}
    for item in merged:
        if not key:
            (first if _hashable(item) in named else rest).append(item)
            continue
        if not isinstance(item, dict):
            raise _bad_arg_type(_MAP_TYPE, item)
        if key not in item:
            raise _no_merge_key(item, key)
        (first if _find(by, key, item[key]) is not None else rest).append(item)
    return first, rest


def _position(order: list[Any], item: Any, key: str) -> int:
    wanted = item.get(key) if key and isinstance(item, dict) else (None if key else item)
    for i, other in enumerate(order):
        value = (other.get(key) if isinstance(other, dict) else None) if key else other
        if _same(value, wanted):
            return i
    return -1


def _split_deletes(items: list[Any]) -> tuple[list[Any], list[Any]]:
    keep: list[Any] = []
    deletes: list[Any] = []
    for item in items:
        if not isinstance(item, dict):
            raise _bad_arg_type(_MAP_TYPE, item)
        (deletes if item.get(_DIRECTIVE) == "delete" else keep).append(item)
    return keep, deletes


def _sort_by(items: list[Any], order: list[Any], key: str) -> list[Any]:
    """normalizeSliceOrder: Go's stable insertion sort with upstream's `less`."""
    deletes: list[Any] = []
    if key:
        for item in items + order:
            if not isinstance(item, dict):
                raise _bad_arg_type(_MAP_TYPE, item)
            if key not in item:
                raise _no_merge_key(item, key)
        items, deletes = _split_deletes(items)
    items = list(items)

    def less(a: Any, b: Any) -> bool:
        ia = _position(order, a, key)
        ib = _position(order, b, key) if ia >= 0 else -1
        return ia < ib if ia >= 0 and ib >= 0 else True

    for i in range(1, len(items)):
        j = i
        while j > 0 and less(items[j], items[j - 1]):
            items[j], items[j - 1] = items[j - 1], items[j]
            j -= 1
    return items + deletes


def _normalize(
    patch_items: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    key: str,
) -> list[Any]:
    """normalizeElementOrder + mergeSortedSlice: patch order first, live order for the rest."""
    right = _sort_by(patch_items, patch_order, key)
    left = _sort_by(server_only, server_order, key)
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = _position(server_order, left[i], key)
            ri = _position(server_order, right[j], key)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def strategic_merge(original: dict[str, Any], patch: dict[str, Any], kind: str) -> dict[str, Any]:
    """Apply a strategic merge patch to a copy of `original` (neither argument is changed)."""
    return _merge_map(copy.deepcopy(original), copy.deepcopy(patch), _Schema(kind, ""))
