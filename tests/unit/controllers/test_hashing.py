"""pod-template-hash: FNV-1a, SafeEncodeString, collision count."""

from __future__ import annotations

import re

import pytest

from kubesvc.controllers.hashing import compute_hash, fnv32a, safe_encode_string
from tests.unit.controllers.helpers import TEMPLATE


@pytest.mark.parametrize(
    ("data", "value"),
    [(b"", 0x811C9DC5), (b"a", 0xE40C292C), (b"foobar", 0xBF9CF968)],
)
def test_fnv32a_reference_vectors(data: bytes, value: int) -> None:
    assert fnv32a(data) == value


def test_safe_encode_maps_digits_like_upstream() -> None:
    # '0'..'9' are bytes 48..57; 48 % 27 = 21 -> '4' ... 54 % 27 = 0 -> 'b'
    assert safe_encode_string("0123456789") == "456789bcdf"
    assert safe_encode_string("3297856434") == "76fcd9b878"
    assert safe_encode_string("1") == "5"


def test_hash_is_stable_and_depends_on_template_and_collisions() -> None:
    first = compute_hash(TEMPLATE)
    assert first == compute_hash({"spec": TEMPLATE["spec"], "metadata": TEMPLATE["metadata"]})
    assert re.fullmatch(r"[456789bcdf]{1,10}", first)
    other = {**TEMPLATE, "metadata": {"labels": {"app": "other"}}}
    assert compute_hash(other) != first
    assert compute_hash(TEMPLATE, 0) != first
    assert compute_hash(TEMPLATE, 1) not in (first, compute_hash(TEMPLATE, 0))


def test_hash_of_decimal_value() -> None:
    value = fnv32a(b'{"a":1}')
    assert compute_hash({"a": 1}) == safe_encode_string(str(value))
