"""Shared pieces of the Table printers: column records, defensive field access, ages, selectors.

Printers read Kubernetes JSON (Python dicts) that may be incomplete or malformed, and must never
raise. Every read therefore goes through `field`, `text`, `integer`, `mapping` and `items`, which
walk a path and fall back to an empty value when a step is missing or has the wrong type, much as
Go's zero values behave after decoding into a typed struct.

Ages follow upstream's `translateTimestampSince`: `<unknown>` for a missing (zero) timestamp,
otherwise `HumanDuration(now - t)`. Selectors are rendered like apimachinery does:
`labels.FormatLabels` for plain maps (`k=v` sorted by key, `<none>` when empty), and
`LabelSelectorAsSelector(...).String()` for a `metav1.LabelSelector` (requirements sorted by key,
`in`/`notin` values sorted, a failure when a key, value or operator is invalid).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubesvc.lib.duration import human_duration

Cell = str | int
Obj = Mapping[str, Any]
CellsFunc = Callable[[Obj, datetime], list[Cell]]

NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name automatically. "
    "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
    "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
AGE_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. "
    "It is not guaranteed to be set in happens-before order across separate operations. Clients "
    "may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the "
    "system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
CONTAINERS_DESCRIPTION = "Names of each container in the template."
IMAGES_DESCRIPTION = "Images referenced by each container in the template."

_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """One `meta.k8s.io/v1` TableColumnDefinition."""

    name: str
    type: str = "string"
    format: str = ""
    description: str = ""
    priority: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


def name_column() -> Column:
    return Column(name="Name", format="name", description=NAME_DESCRIPTION)


def age_column() -> Column:
    return Column(name="Age", description=AGE_DESCRIPTION)


# --- defensive access -----------------------------------------------------------------------


def field(obj: object, *path: str | int) -> object:
    """The value at `path` (dict keys and list indexes), or None when any step is missing."""
    cur: object = obj
    for step in path:
        if isinstance(step, str) and isinstance(cur, Mapping):
            cur = cur.get(step)
        elif isinstance(step, int) and isinstance(cur, list) and -len(cur) <= step < len(cur):
            cur = cur[step]
        else:
            return None
    return cur


def text(obj: object, *path: str | int) -> str:
    value = field(obj, *path)
    return value if isinstance(value, str) else ""


def integer(obj: object, *path: str | int, default: int = 0) -> int:
    value = field(obj, *path)
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return value


def flag(obj: object, *path: str | int) -> bool:
    return field(obj, *path) is True


def mapping(obj: object, *path: str | int) -> Mapping[str, Any]:
    value = field(obj, *path)
    return value if isinstance(value, Mapping) else {}


def items(obj: object, *path: str | int) -> list[Any]:
    value = field(obj, *path)
    return value if isinstance(value, list) else []


def dicts(obj: object, *path: str | int) -> list[Mapping[str, Any]]:
    """The list at `path` keeping only its dict elements (Go would have rejected the others)."""
    return [v for v in items(obj, *path) if isinstance(v, Mapping)]


def strings(obj: object, *path: str | int) -> list[str]:
    return [v for v in items(obj, *path) if isinstance(v, str)]


def string_map(obj: object, *path: str | int) -> dict[str, str]:
    return {
        k: v for k, v in mapping(obj, *path).items() if isinstance(k, str) and isinstance(v, str)
    }


# --- time -----------------------------------------------------------------------------------


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp (metav1.Time or MicroTime); None when absent, zero or unparsable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    if parsed == _ZERO_TIME:
        return None
    return parsed


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def since(value: object, now: datetime) -> str:
    """Upstream's `translateTimestampSince`: the human age of a timestamp, `<unknown>` if unset."""
    return since_time(parse_time(value), now)


def since_time(when: datetime | None, now: datetime) -> str:
    """`since` for an already parsed timestamp (None is Go's zero time)."""
    if when is None:
        return "<unknown>"
    try:
        return human_duration((_aware(now) - when).total_seconds())
    except (OverflowError, ValueError):
        return "<invalid>"


def age(obj: Obj, now: datetime) -> str:
    return since(field(obj, "metadata", "creationTimestamp"), now)


def created_at(obj: Obj) -> str:
    """The default table convertor's `Created At` cell: RFC 3339 in UTC, Go's zero time if unset."""
    w = parse_time(field(obj, "metadata", "creationTimestamp")) or _ZERO_TIME
    return f"{w.year:04d}-{w.month:02d}-{w.day:02d}T{w.hour:02d}:{w.minute:02d}:{w.second:02d}Z"


def name(obj: Obj) -> str:
    return text(obj, "metadata", "name")


# --- containers and labels ------------------------------------------------------------------


def container_cells(template_spec: object) -> tuple[str, str]:
    """Upstream's `layoutContainerCells`: container names and images, comma-joined."""
    containers = dicts(template_spec, "containers")
    return (
        ",".join(text(c, "name") for c in containers),
        ",".join(text(c, "image") for c in containers),
    )


def format_labels(labels: Mapping[str, str]) -> str:
    """apimachinery's `labels.FormatLabels`: `k=v` sorted by key, `<none>` when empty."""
    rendered = ",".join(f"{k}={labels[k]}" for k in sorted(labels))
    return rendered or "<none>"


_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _valid_key(key: str) -> bool:
    """validation.IsQualifiedName: `[prefix/]name`, prefix a DNS subdomain."""
    parts = key.split("/")
    if len(parts) == 2:
        prefix, local = parts
        if not prefix or len(prefix) > 253 or not _SUBDOMAIN_RE.match(prefix):
            return False
    elif len(parts) == 1:
        local = parts[0]
    else:
        return False
    return 0 < len(local) <= 63 and _NAME_RE.match(local) is not None


def _valid_value(value: str) -> bool:
    return len(value) <= 63 and _VALUE_RE.match(value) is not None


_OPERATORS = {"In": " in ", "NotIn": " notin ", "Exists": "", "DoesNotExist": ""}


def _requirement(key: str, op: str, values: list[str]) -> str | None:
    """One rendered requirement, or None when labels.NewRequirement would reject it."""
    if not _valid_key(key) or not all(_valid_value(v) for v in values):
        return None
    if op == "=":
        return f"{key}={values[0]}" if len(values) == 1 else None
    if op in ("In", "NotIn"):
        if not values:
            return None
        return f"{key}{_OPERATORS[op]}({','.join(sorted(values))})"
    if op in ("Exists", "DoesNotExist"):
        if values:
            return None
        return key if op == "Exists" else f"!{key}"
    return None


def label_selector(selector: object) -> str | None:
    """`LabelSelectorAsSelector(selector).String()`; None when conversion fails.

    A missing selector is `labels.Nothing()` and an empty one `labels.Everything()`; both print
    as the empty string.
    """
    if selector is None:
        return ""
    if not isinstance(selector, Mapping):
        return None
    match_labels = field(selector, "matchLabels")
    exprs = field(selector, "matchExpressions")
    if match_labels is not None and not isinstance(match_labels, Mapping):
        return None
    if exprs is not None and not isinstance(exprs, list):
        return None
    reqs: list[tuple[str, str | None]] = []
    for k, v in (match_labels or {}).items():
        if not isinstance(k, str) or not isinstance(v, str):
            return None
        reqs.append((k, _requirement(k, "=", [v])))
    for expr in exprs or []:
        key, op, values = field(expr, "key"), field(expr, "operator"), field(expr, "values")
        values = [] if values is None else values
        if not isinstance(key, str) or not isinstance(op, str) or not isinstance(values, list):
            return None
        if not all(isinstance(v, str) for v in values):
            return None
        if op not in _OPERATORS:
            return None
        reqs.append((key, _requirement(key, op, values)))
    if any(r is None for _, r in reqs):
        return None
    reqs.sort(key=lambda r: r[0])
    return ",".join(r for _, r in reqs if r is not None)


def format_label_selector(selector: object) -> str:
    """metav1.FormatLabelSelector: `<error>` on failure, `<none>` when it renders empty."""
    rendered = label_selector(selector)
    if rendered is None:
        return "<error>"
    return rendered or "<none>"


def list_with_more(values: list[str], total: int, limit: int = 3, empty: str = "<unset>") -> str:
    """Upstream's `listWithMoreString`: the first `limit` values, then ` + N more...`."""
    shown = ",".join(values[:limit])
    if total > limit:
        return f"{shown} + {total - limit} more..."
    return shown or empty
