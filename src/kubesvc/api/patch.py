"""PATCH bodies applied as kube-apiserver applies them: JSON patch, merge patch, strategic merge.

`apply_patch` parses the body as the apiserver does under `fieldValidation=Strict` (kubectl's
default): a syntax check worded like Go's encoding/json errors, then the shape check of the decode
target (`[]jsonPatchOp` or `map[string]interface{}`), then the patch itself on a copy, so the
caller's object is never touched.

* `application/json-patch+json`: RFC 6902 as evanphx/json-patch v4 runs it (a `replace` of a
  missing map key adds it, negative array indexes count from the end). A failed operation gets
  upstream's answer: 422 Invalid, "the server rejected our request due to an error in our request".
* `application/merge-patch+json`: RFC 7386 (nulls delete; a `null` body is "Invalid JSON Patch").
* `application/strategic-merge-patch+json`: `patchmeta.strategic_merge`, with the kind's metadata.
Other media types get 415, as server-side apply (`application/apply-patch+yaml`) does here.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from kubesvc.api.errors import StatusError, bad_request
from kubesvc.api.patchmeta import invalid_error, strategic_merge

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
SUPPORTED = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)
MAX_JSON_PATCH_OPERATIONS = 10000

_MAP_TYPE = "map[string]interface {}"


def apply_patch(
    content_type: str, original: dict[str, Any], patch_body: bytes, kind: str
) -> dict[str, Any]:
    """Return `original` with the patch applied; raise StatusError as kube-apiserver answers."""
    media = content_type.split(";", 1)[0].strip()
    if media not in SUPPORTED:
        raise StatusError(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: "
            + ", ".join(SUPPORTED),
        )
    text = patch_body.decode("utf-8", errors="replace")
    if media == JSON_PATCH:
        ops = _decode(text, "[]handlers.jsonPatchOp", "error decoding patch: ")
        return _json_patch(copy.deepcopy(original), ops or [])
    patch = _decode(text, _MAP_TYPE, "error decoding patch: " if media == MERGE_PATCH else "")
    if media == STRATEGIC_MERGE_PATCH:
        return strategic_merge(original, patch or {}, kind)
    if patch is None:
        raise bad_request("Invalid JSON Patch")
    doc = copy.deepcopy(original)
    _merge_patch(doc, patch)
    return doc


# --------------------------------------------------------------------------- decoding


def _decode(text: str, target: str, prefix: str) -> Any:
    """Go's `json.Unmarshal` into `target`: syntax first, then the shape of the target type."""
    try:
        _check_syntax(text)
    except ValueError as err:
        raise bad_request(prefix + str(err)) from None
    value = json.loads(text)
    problem = _shape_problem(value, target)
    if problem:
        raise bad_request(prefix + problem)
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    return "bool" if isinstance(value, bool) else "number"


def _shape_problem(value: Any, target: str) -> str:
    def mismatch(found: Any, into: str) -> str:
        return f"json: cannot unmarshal {_json_kind(found)} into {into}"

    if value is None:
        return ""
    if target == _MAP_TYPE:
        return "" if isinstance(value, dict) else mismatch(value, f"Go value of type {target}")
    if not isinstance(value, list):
        return mismatch(value, f"Go value of type {target}")
    for op in value:
        if op is None:
            continue
        if not isinstance(op, dict):
            return mismatch(op, "Go value of type handlers.jsonPatchOp")
        for name, field in op.items():
            if name in _OP_FIELDS and field is not None and not isinstance(field, str):
                return mismatch(field, f"Go struct field jsonPatchOp.{name} of type string")
    return ""


_OP_FIELDS = ("op", "path", "from")
_WS = " \t\r\n"
_MAX_DEPTH = 100
_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPES |= {"\v": "\\v", "\\": "\\\\"}


def _quote_char(c: str) -> str:
    """Go's `quoteChar`: the offending byte as a Go rune literal."""
    if ord(c) > 0x7F:
        c = chr(c.encode("utf-8")[0])
    if c == "'":
        return "'\\''"
    if c == '"':
        return "'\"'"
    if c in _ESCAPES:
        return f"'{_ESCAPES[c]}'"
    if c.isprintable():
        return f"'{c}'"
    return f"'\\x{ord(c):02x}'" if ord(c) < 0x80 else f"'\\u{ord(c):04x}'"


class _Scanner:
    """A JSON validator whose first error reads like Go's encoding/json scanner's."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.depth = 0

    def fail(self, context: str) -> ValueError:
        if self.i >= len(self.s):
            return ValueError("unexpected end of JSON input")
        return ValueError(f"invalid character {_quote_char(self.s[self.i])} {context}")

    def peek(self) -> str:
        while self.i < len(self.s) and self.s[self.i] in _WS:
            self.i += 1
        return self.s[self.i] if self.i < len(self.s) else ""

    def expect(self, chars: str, context: str) -> str:
        c = self.peek()
        if not c or c not in chars:
            raise self.fail(context)
        self.i += 1
        return c

    def value(self) -> None:
        c = self.peek()
        if c in ("{", "["):
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise self.fail("exceeded max depth")
            self.container(c)
            self.depth -= 1
        elif c == '"':
            self.i += 1
            self.string()
        elif c and c in "-0123456789":
            self.number()
        elif c and c in "tfn":
            word = {"t": "true", "f": "false", "n": "null"}[c]
            self.i += 1
            for want in word[1:]:
                if self.s[self.i : self.i + 1] != want:
                    raise self.fail(f"in literal {word} (expecting '{want}')")
                self.i += 1
        else:
            raise self.fail("looking for beginning of value")

    def container(self, c: str) -> None:
        if c == "{":
            self.i += 1
            if self.peek() == "}":
                self.i += 1
                return
            while True:
                self.expect('"', "looking for beginning of object key string")
                self.string()
                self.expect(":", "after object key")
                self.value()
                if self.expect(",}", "after object key:value pair") == "}":
                    return
        else:
            self.i += 1
            if self.peek() == "]":
                self.i += 1
                return
            while True:
                self.value()
                if self.expect(",]", "after array element") == "]":
                    return

    def string(self) -> None:
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == '"':
                self.i += 1
                return
            if c < " ":
                raise self.fail("in string literal")
            self.i += 1
            if c == "\\":
                if self.i >= len(self.s) or self.s[self.i] not in '"\\/bfnrtu':
                    raise self.fail("in string escape code")
                if self.s[self.i] == "u":
                    for _ in range(4):
                        self.i += 1
                        if self.i >= len(self.s) or self.s[self.i] not in "0123456789abcdefABCDEF":
                            raise self.fail("in \\u hexadecimal character escape")
                self.i += 1
        raise self.fail("")

    def digits(self, context: str) -> None:
        if self.i >= len(self.s) or not self.s[self.i].isascii() or not self.s[self.i].isdigit():
            raise self.fail(context)
        while self.i < len(self.s) and self.s[self.i] in "0123456789":
            self.i += 1

    def number(self) -> None:
        if self.s[self.i] == "-":
            self.i += 1
        if self.s[self.i : self.i + 1] == "0":
            self.i += 1
        else:
            self.digits("in numeric literal")
        if self.s[self.i : self.i + 1] == ".":
            self.i += 1
            self.digits("after decimal point in numeric literal")
        if self.s[self.i : self.i + 1] in ("e", "E"):
            self.i += 1
            if self.s[self.i : self.i + 1] in ("+", "-"):
                self.i += 1
            self.digits("in exponent of numeric literal")


def _check_syntax(text: str) -> None:
    scanner = _Scanner(text)
    scanner.value()
    if scanner.peek():
        raise scanner.fail("after top-level value")


# --------------------------------------------------------------------------- JSON patch


_INDEX = re.compile(r"[+-]?[0-9]+")


def _index(key: str, size: int, *, extra: int = 0) -> int:
    if not _INDEX.fullmatch(key):
        raise invalid_error()
    idx = int(key)
    if idx < 0:
        idx += size + extra
    if not 0 <= idx < size + extra:
        raise invalid_error()
    return idx


def _container(doc: dict[str, Any], path: Any) -> tuple[Any, str]:
    """evanphx's findObject: the parent of `path` and the decoded last token."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise invalid_error()
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in path.split("/")[1:]]
    node: Any = doc
    for token in tokens[:-1]:
        node = node.get(token) if isinstance(node, dict) else node[_index(token, len(node))]
        if not isinstance(node, dict | list):
            raise invalid_error()
    return node, tokens[-1]


def _get(parent: Any, key: str) -> Any:
    if isinstance(parent, dict):
        return parent.get(key)
    return parent[_index(key, len(parent))]


def _add(parent: Any, key: str, value: Any) -> None:
    if isinstance(parent, dict):
        parent[key] = value
    elif key == "-":
        parent.append(value)
    else:
        parent.insert(_index(key, len(parent), extra=1), value)


def _remove(parent: Any, key: str) -> Any:
    if isinstance(parent, dict):
        if key not in parent:
            raise invalid_error()
        return parent.pop(key)
    return parent.pop(_index(key, len(parent)))


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    numbers = (int, float)
    if type(a) in numbers and type(b) in numbers:
        return bool(a == b)
    return type(a) is type(b) and a == b


def _json_patch(doc: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise StatusError(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: The allowed maximum operations in a JSON patch is "
            f"{MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}",
        )
    for op in ops:
        op = op or {}
        kind, value = op.get("op"), op.get("value")
        if kind in ("move", "copy"):
            parent, key = _container(doc, op.get("from"))
            moved = _remove(parent, key) if kind == "move" else copy.deepcopy(_get(parent, key))
            parent, key = _container(doc, op.get("path"))
            _add(parent, key, moved)
            continue
        parent, key = _container(doc, op.get("path"))
        if kind == "add":
            _add(parent, key, copy.deepcopy(value))
        elif kind == "remove":
            _remove(parent, key)
        elif kind == "replace":
            _get(parent, key)
            if isinstance(parent, dict):
                parent[key] = copy.deepcopy(value)
            else:
                parent[_index(key, len(parent))] = copy.deepcopy(value)
        elif kind == "test":
            if not _equal(_get(parent, key), value):
                raise invalid_error()
        else:
            raise invalid_error()
    return doc


# --------------------------------------------------------------------------- merge patch


def _prune_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune_nulls(v) for v in value]
    return value


def _merge_patch(doc: dict[str, Any], patch: dict[str, Any]) -> None:
    """evanphx's mergeDocs: RFC 7386, pruning nulls out of values that are added."""
    for key, value in patch.items():
        current = doc.get(key)
        if value is None:
            doc.pop(key, None)
        elif not isinstance(current, dict):
            doc[key] = _prune_nulls(value)
        elif isinstance(value, dict):
            _merge_patch(current, value)
        else:
            doc[key] = value
