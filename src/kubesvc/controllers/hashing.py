"""The pod-template-hash: upstream's `controller.ComputeHash`, over the template's JSON.

Upstream feeds a spew dump of the Go `PodTemplateSpec` struct to a 32-bit FNV-1a hash, then,
when the Deployment has a `status.collisionCount`, eight more bytes (the count as a little-endian
uint32 followed by four zero bytes), and renders the decimal value of the sum through
`rand.SafeEncodeString` (each byte mapped into the alphabet `bcdfghjklmnpqrstvwxz2456789`, so
the decimal digits become `4 5 6 7 8 9 b c d f`). We cannot dump Go structs, so the input here
is the template's canonical JSON (sorted keys, no spaces): names have the same shape as a real
cluster's (`myapp-deploy-c7b5fb585`), the value differs from what Go would compute. Equal
templates always hash equal, and the controller finds its ReplicaSet by comparing templates,
never by the hash, as upstream does.
"""

from __future__ import annotations

import json
import struct
from typing import Any

ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv32a(data: bytes, value: int = _FNV_OFFSET) -> int:
    for byte in data:
        value ^= byte
        value = (value * _FNV_PRIME) & 0xFFFFFFFF
    return value


def safe_encode_string(text: str) -> str:
    """rand.SafeEncodeString: each byte of `text` mapped into a vowel-free alphabet."""
    return "".join(ALPHANUMS[b % len(ALPHANUMS)] for b in text.encode())


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(template: dict[str, Any], collision_count: int | None = None) -> str:
    value = fnv32a(canonical_json(template))
    if collision_count is not None:
        value = fnv32a(struct.pack("<I", collision_count & 0xFFFFFFFF) + b"\0" * 4, value)
    return safe_encode_string(str(value))
