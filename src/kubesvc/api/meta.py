"""Small helpers on object metadata shared by every component.

Timestamps are RFC 3339 in UTC with second precision, as Kubernetes writes them; generated name
suffixes use the same alphabet as apimachinery (no vowels, no look-alike digits).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now_rfc3339(now: datetime | None = None) -> str:
    moment = now or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def new_uid() -> str:
    return str(uuid.uuid4())


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(length))


def metadata(obj: dict[str, Any]) -> dict[str, Any]:
    """The object's metadata dict, created if missing or not a dict."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
        obj["metadata"] = meta
    return meta


def name_of(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("name"), str):
        return str(meta["name"])
    return ""


def namespace_of(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("namespace"), str):
        return str(meta["namespace"])
    return ""


def labels_of(obj: dict[str, Any]) -> dict[str, str]:
    meta = obj.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("labels"), dict):
        return {str(k): str(v) for k, v in meta["labels"].items()}
    return {}
