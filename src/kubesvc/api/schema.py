"""Strict decoding of request bodies, as kube-apiserver does it before validation.

kube-apiserver decodes a JSON body into the kind's Go struct with sigs.k8s.io/json. Three
kinds of trouble come out of that, and this module reproduces each with upstream's words:

* syntax, or a body without a usable apiVersion/kind: always 400, `the object provided is
  unrecognized (must be of type Service): couldn't get version/kind; json parse error: ...`;
* a value of the wrong JSON type: always 400 (whatever fieldValidation says), reporting only
  the first error: `Service in version "v1" cannot be handled as a Service: json: cannot
  unmarshal string into Go struct field ServicePort.spec.ports.port of type int32`;
* unknown and duplicate fields ("strict" errors), in document order, deduplicated, at most 100:
  400 `... strict decoding error: unknown field "spec.portz", duplicate field "spec.paused"`
  for fieldValidation=Strict, one `Warning` each for Warn (the default), nothing for Ignore.

The body is parsed twice: once into plain Python values (what the server stores) and once into
a tree keeping every key occurrence and every number's literal text, which the checker walks
against the Go types of `schema_kinds`. Type errors name the Go struct holding the field and the
dotted struct-field path (`ServicePort.spec.ports.port`), strict errors the JSON path with list
indexes (`spec.ports[0].nmae`). YAML bodies follow `schema_yaml`: goyaml's duplicate-key error
first, then unknown fields in sorted key order (the YAML is re-encoded as JSON by Go).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubesvc.api.gofmt import go_quote
from kubesvc.api.schema_go import (
    RFC3339,
    RFC3339_MICRO,
    base64_error,
    go_float,
    json_syntax_error,
    quantity_error,
    time_error,
)
from kubesvc.api.schema_kinds import schema_for
from kubesvc.api.schema_types import INT32, UINT8, ListOf, MapOf, Scalar, Special, Struct, Type
from kubesvc.api.schema_yaml import load_yaml

MAX_STRICT_ERRORS = 100
_FIND_KIND = (
    'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
    'Kind string "json:\\"kind,omitempty\\"" }'
)
_PARSE_ERROR = "couldn't get version/kind; json parse error"
_YAML_PREFIX = "yaml: unmarshal errors:\n"
_INT_TEXT = re.compile(r"-?[0-9]+")


@dataclass(frozen=True, slots=True)
class DecodeResult:
    """What decoding a body found; empty lists mean a clean body.

    `type_errors` holds Go decode errors, the one the server reports first. `strict_errors`
    holds the upstream texts of unknown/duplicate fields in report order. `unrecognized` is set
    when the body is not JSON (or YAML) or has no usable apiVersion/kind.
    """

    unknown: list[str] = field(default_factory=list)
    duplicate: list[str] = field(default_factory=list)
    type_errors: list[str] = field(default_factory=list)
    strict_errors: list[str] = field(default_factory=list)
    unrecognized: str | None = None

    @property
    def clean(self) -> bool:
        return not (self.type_errors or self.strict_errors or self.unrecognized)


# ---- parsing ---------------------------------------------------------------------------------


class _Obj:
    """A JSON object with every key occurrence, in document order."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self.pairs = pairs


class _Num:
    """A JSON number with its literal text (Go reports `number 1.5`, not `number 1.50`)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _load(body: bytes) -> tuple[Any, Any]:
    """Plain value and literal-keeping tree, or ValueError with Go's syntax error text."""
    text = body.decode("utf-8", "replace")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
        tree = json.loads(
            text,
            object_pairs_hook=_Obj,
            parse_int=_Num,
            parse_float=_Num,
            parse_constant=_reject_constant,
        )
    except (ValueError, RecursionError):
        raise ValueError(json_syntax_error(body) or "exceeded max depth") from None
    return value, tree


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _duplicate_paths(tree: Any) -> list[str]:
    """Every repeated key, as sigs.k8s.io/json meets it decoding into untyped maps."""
    found: list[str] = []
    stack: list[tuple[Any, str] | str] = [(tree, "")]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item not in found:
                found.append(item)
            continue
        node, path = item
        todo: list[tuple[Any, str] | str] = []
        if isinstance(node, _Obj):
            seen: set[str] = set()
            for key, value in node.pairs:
                sub = _join(path, key)
                if key in seen:
                    todo.append(sub)
                seen.add(key)
                todo.append((value, sub))
        elif isinstance(node, list):
            todo = [(value, f"{path}[{i}]") for i, value in enumerate(node)]
        stack.extend(reversed(todo))
    return found


def parse_json_strict(body: bytes) -> tuple[Any, list[str]]:
    """The JSON value (last duplicate wins) and the paths of duplicated fields.

    Raises ValueError with Go's message, e.g. `invalid character 'x' looking for beginning of
    value` or `unexpected end of JSON input`.
    """
    value, tree = _load(body)
    return value, _duplicate_paths(tree)


def _is_yaml(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("application/yaml", "application/x-yaml", "text/yaml")


def parse_yaml_or_json(body: bytes, content_type: str) -> Any:
    """The body's value, read as YAML for a YAML content type and as JSON otherwise."""
    if _is_yaml(content_type):
        return load_yaml(body)[0]
    return parse_json_strict(body)[0]


# ---- checking --------------------------------------------------------------------------------

_Ctx = tuple[str, tuple[str, ...]] | None  # Go struct holding the field, struct-field path


class _Fatal(Exception):
    """An error returned (not saved) by a Go UnmarshalJSON: decoding stops there."""


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, list):
        return "array"
    if isinstance(value, _Obj | dict):
        return "object"
    return "number"


def _number_text(value: Any) -> str | None:
    if isinstance(value, _Num):
        return value.text
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return str(value) if isinstance(value, int) else go_float(value)


def _int_fits(text: str, scalar: Scalar) -> bool:
    if not _INT_TEXT.fullmatch(text) or (scalar.kind == "uint" and text.startswith("-")):
        return False
    number = int(text)
    if not -(1 << 63) <= number < 1 << 63:
        return False
    if scalar.kind == "uint":
        return number < 1 << scalar.bits
    half = 1 << (scalar.bits - 1)
    return -half <= number < half


class _Checker:
    def __init__(self, *, sort_keys: bool) -> None:
        self.sort_keys = sort_keys
        self.unknown: list[str] = []
        self.duplicate: list[str] = []
        self.strict: list[str] = []
        self.type_errors: list[str] = []

    def add_strict(self, message: str) -> None:
        if message not in self.strict and len(self.strict) < MAX_STRICT_ERRORS:
            self.strict.append(message)

    def _field_error(self, what: str, path: str) -> None:
        found = self.unknown if what == "unknown" else self.duplicate
        if path not in found:
            found.append(path)
        self.add_strict(f"{what} field {go_quote(path)}")

    def _pairs(self, obj: Any) -> Iterable[tuple[str, Any]]:
        if isinstance(obj, _Obj):
            return obj.pairs
        items = [(str(k), v) for k, v in obj.items()]
        return sorted(items, key=lambda item: item[0]) if self.sort_keys else items

    def _type_error(self, what: str, go_type: str, ctx: _Ctx, *, fatal: bool = False) -> None:
        if ctx is None:
            message = f"json: cannot unmarshal {what} into Go value of type {go_type}"
        else:
            where = f"{ctx[0]}.{'.'.join(ctx[1])}"
            message = (
                f"json: cannot unmarshal {what} into Go struct field {where} of type {go_type}"
            )
        self._error(message, fatal=fatal)

    def _error(self, message: str, *, fatal: bool = False) -> None:
        if fatal:
            self.type_errors.insert(0, message)
            raise _Fatal(message)
        self.type_errors.append(message)

    def walk(self, typ: Type, value: Any, path: str, ctx: _Ctx) -> None:
        if value is None:
            return  # null leaves every Go type as it was
        if isinstance(typ, Struct):
            self._struct(typ, value, path, ctx)
        elif isinstance(typ, MapOf):
            self._map(typ, value, path, ctx)
        elif isinstance(typ, ListOf):
            if not isinstance(value, list):
                self._type_error(_describe(value), typ.go, ctx)
                return
            for i, item in enumerate(value):
                self.walk(typ.elem, item, f"{path}[{i}]", ctx)
        elif isinstance(typ, Special):
            self._special(typ, value, path, ctx)
        else:
            self._scalar(typ, value, ctx)

    def _struct(self, typ: Struct, value: Any, path: str, ctx: _Ctx) -> None:
        if not isinstance(value, _Obj | dict):
            self._type_error(_describe(value), typ.go, ctx)
            return
        stack = ctx[1] if ctx else ()
        seen: set[str] = set()
        for key, item in self._pairs(value):
            sub = _join(path, key)
            field_type = typ.fields.get(key)
            if field_type is None:
                self._field_error("unknown", sub)
                continue
            if key in seen:
                self._field_error("duplicate", sub)
            seen.add(key)
            self.walk(field_type, item, sub, (typ.name, (*stack, key)))

    def _map(self, typ: MapOf, value: Any, path: str, ctx: _Ctx) -> None:
        if not isinstance(value, _Obj | dict):
            self._type_error(_describe(value), typ.go, ctx)
            return
        seen: set[str] = set()
        for key, item in self._pairs(value):
            sub = _join(path, key)
            if key in seen:
                self._field_error("duplicate", sub)
            seen.add(key)
            self.walk(typ.elem, item, sub, ctx)

    def _scalar(self, typ: Scalar, value: Any, ctx: _Ctx) -> None:
        if typ.kind == "string":
            ok = isinstance(value, str)
        elif typ.kind == "bool":
            ok = isinstance(value, bool)
        else:
            text = _number_text(value)
            if text is None:
                ok = False
            elif typ.kind == "float" or _int_fits(text, typ):
                ok = True
            else:
                self._type_error(f"number {text}", typ.go, ctx)
                return
        if not ok:
            self._type_error(_describe(value), typ.go, ctx)

    def _special(self, typ: Special, value: Any, path: str, ctx: _Ctx) -> None:
        kind = typ.kind
        if kind == "intstr":
            if not isinstance(value, str):  # IntOrString decodes a non-string as int32
                text = _number_text(value)
                if text is None or not _int_fits(text, INT32):
                    what = _describe(value) if text is None else f"number {text}"
                    self._type_error(what, "int32", ctx, fatal=True)
        elif kind == "quantity":
            raw = value if isinstance(value, str) else _number_text(value) or "{"
            problem = quantity_error(raw)
            if problem:
                self._error(problem, fatal=True)
        elif kind in ("time", "microtime"):
            if not isinstance(value, str):  # metav1.Time decodes into a Go string first
                self._type_error(_describe(value), "string", ctx, fatal=True)
            elif problem := time_error(value, RFC3339 if kind == "time" else RFC3339_MICRO):
                self._error(problem, fatal=True)
        elif kind == "bytes":
            if isinstance(value, list):
                for i, item in enumerate(value):
                    self.walk(UINT8, item, f"{path}[{i}]", ctx)
            elif not isinstance(value, str):
                self._type_error(_describe(value), typ.go, ctx)
            elif (problem := base64_error(value)) is not None:
                self._error(problem)


def _interpret(obj: Any) -> str | None:
    """What `SimpleMetaFactory.Interpret` says about apiVersion/kind, or None when fine."""
    if obj is None:
        return None
    if not isinstance(obj, _Obj | dict):
        what = _describe(obj)
        return f"{_PARSE_ERROR}: json: cannot unmarshal {what} into Go value of type {_FIND_KIND}"
    found: dict[str, Any] = {}
    error: str | None = None
    pairs = obj.pairs if isinstance(obj, _Obj) else obj.items()
    for key, value in pairs:
        name = {"apiversion": "apiVersion", "kind": "kind"}.get(str(key).lower())
        if name is None or value is None:
            continue
        if isinstance(value, str):
            found[name] = value
        elif error is None:
            what = _describe(value)
            error = f"json: cannot unmarshal {what} into Go struct field .{name} of type string"
    if error:
        return f"{_PARSE_ERROR}: {error}"
    api_version = found.get("apiVersion", "")
    if api_version.count("/") > 1:
        return f"unexpected GroupVersion string: {api_version}"
    return None


def _check(
    kind: str, api_version: str, obj: Any, *, sort_keys: bool, first: Sequence[str] = ()
) -> DecodeResult:
    unrecognized = _interpret(obj)
    schema = schema_for(api_version, kind)
    if unrecognized is not None or schema is None:
        return DecodeResult(unrecognized=unrecognized)
    checker = _Checker(sort_keys=sort_keys)
    for message in first:
        checker.add_strict(message)
    with contextlib.suppress(_Fatal):
        checker.walk(schema, obj, "", None)
    return DecodeResult(
        unknown=checker.unknown,
        duplicate=checker.duplicate,
        type_errors=checker.type_errors,
        strict_errors=checker.strict,
    )


def check_object(
    kind: str,
    api_version: str,
    obj: Any,
    *,
    duplicates: Sequence[str] = (),
    sort_keys: bool = False,
) -> DecodeResult:
    """Check an already parsed object against the Go type of (api_version, kind).

    `duplicates` (paths from `parse_json_strict`) are reported first. For an object that Go
    re-encodes before decoding (the result of a patch), pass `sort_keys=True`: unknown fields
    are then reported in sorted key order, as upstream does for patches.
    """
    first = [f"duplicate field {go_quote(path)}" for path in duplicates]
    result = _check(kind, api_version, obj, sort_keys=sort_keys, first=first)
    return DecodeResult(
        unknown=result.unknown,
        duplicate=[*duplicates, *result.duplicate],
        type_errors=result.type_errors,
        strict_errors=result.strict_errors,
        unrecognized=result.unrecognized,
    )


def decode_body(
    kind: str, api_version: str, body: bytes, content_type: str = "application/json"
) -> tuple[Any, DecodeResult]:
    """Parse and check a request body exactly as kube-apiserver orders its findings."""
    if _is_yaml(content_type):
        try:
            value, duplicate_error = load_yaml(body)
        except ValueError as err:
            return None, DecodeResult(unrecognized=str(err))
        first = [duplicate_error] if duplicate_error else []
        return value, _check(kind, api_version, value, sort_keys=True, first=first)
    try:
        value, tree = _load(body)
    except ValueError as err:
        return None, DecodeResult(unrecognized=f"{_PARSE_ERROR}: {err}")
    return value, _check(kind, api_version, tree, sort_keys=False)


# ---- messages --------------------------------------------------------------------------------


def _summary(body: bytes) -> str:
    if not body:
        return "<empty>"
    if body[:1] == b"{":
        head = body[:30].decode("utf-8", "replace")
        return head + " ..." if len(body) > 30 else head
    return body[:30].hex() + (" ..." if len(body) > 30 else "")


def _handled_as(kind: str, api_version: str) -> str:
    version = api_version.rpartition("/")[2]
    return f"{kind} in version {go_quote(version)} cannot be handled as a {kind}"


def format_decode_error(
    kind: str, api_version: str, result: DecodeResult, body: bytes = b""
) -> str | None:
    """The 400 message sent whatever fieldValidation says (bad syntax, kind or types), or None."""
    if result.unrecognized is not None:
        return (
            f"the object provided is unrecognized (must be of type {kind}): "
            f"{result.unrecognized} ({_summary(body)})"
        )
    if result.type_errors:
        return f"{_handled_as(kind, api_version)}: {result.type_errors[0]}"
    return None


def format_strict_error(
    kind: str, api_version: str, result: DecodeResult, body: bytes = b""
) -> str | None:
    """The 400 message for fieldValidation=Strict, or None when the body is clean."""
    message = format_decode_error(kind, api_version, result, body)
    if message is None and result.strict_errors:
        joined = ", ".join(result.strict_errors)
        message = f"{_handled_as(kind, api_version)}: strict decoding error: {joined}"
    return message


def warnings(result: DecodeResult) -> list[str]:
    """The `Warning` texts for fieldValidation=Warn: one per finding, YAML lines split."""
    out: list[str] = []
    for message in result.strict_errors:
        if message.startswith(_YAML_PREFIX):
            out.extend(line.strip() for line in message[len(_YAML_PREFIX) :].split("\n"))
        else:
            out.append(message)
    return out
