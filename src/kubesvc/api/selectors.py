"""Label and field selectors, parsed, matched and printed as apimachinery does.

Label selectors (`labels.Parse`): a lexer splits the text into identifiers and the operator
symbols `= == != ! ( ) , < >` plus the keywords `in`/`notin`; a recursive-descent parser builds
requirements (`key`, `!key`, `key=v`, `key==v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`,
`key>1`, `key<1`), validates keys as qualified names and values as label values, and sorts the
requirements by key. Errors are raised as ValueError with upstream's words ("unable to parse
requirement: ...", "found ',', expected: ..."), which the server answers as 400.
`label_selector_from_dict` converts a metav1.LabelSelector (matchLabels + matchExpressions; None
selects nothing, {} selects everything); `LabelSelector.from_map` is a Service's plain selector.

Field selectors (`fields.ParseSelector`): comma-separated `a=b`, `a==b`, `a!=b` terms (backslash
escapes `\\\\`, `\\,` and `\\=` in values), sorted as text. `field_set` returns the fields a kind
offers for matching (the registries' `ToSelectableFields`); `convert_field_selector`,
`unsupported_fields` and `field_label_error` apply the field-label conversion functions that
reject the others ("field label not supported: foo", or for kinds without one
`"foo" is not a known field selector: only "metadata.name", "metadata.namespace"`).
Every ValueError message is upstream's complete text: the server sends it as is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubesvc.api.gofmt import go_quote
from kubesvc.api.resources import RESOURCES
from kubesvc.api.validation.formats import is_label_value, is_qualified_name


def _go_quote(value: str) -> str:
    return go_quote(value)


def _key_error(key: str, path: str) -> str | None:
    errs = is_qualified_name(key)
    return f"{path}: Invalid value: {_go_quote(key)}: {'; '.join(errs)}" if errs else None


# ---------------------------------------------------------------------------- labels

IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "in", "notin", "=", "==", "!="
EXISTS, DOES_NOT_EXIST, GREATER_THAN, LESS_THAN = "exists", "!", "gt", "lt"
_INT64 = re.compile(r"[+-]?[0-9]+")


def _int64(text: str) -> int | None:
    if not _INT64.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator in (IN, EQUALS, DOUBLE_EQUALS):
            return present and labels[self.key] in self.values
        if self.operator in (NOT_IN, NOT_EQUALS):
            return not present or labels[self.key] not in self.values
        if self.operator == EXISTS:
            return present
        if self.operator == DOES_NOT_EXIST:
            return not present
        if self.operator in (GREATER_THAN, LESS_THAN) and present and len(self.values) == 1:
            have, want = _int64(labels[self.key]), _int64(self.values[0])
            if have is None or want is None:
                return False
            return have > want if self.operator == GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        prefix = "!" if self.operator == DOES_NOT_EXIST else ""
        if self.operator in (EXISTS, DOES_NOT_EXIST):
            return prefix + self.key
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if self.operator in (IN, NOT_IN):
            return f"{self.key} {self.operator} ({values})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{values}"


def new_requirement(
    key: str, operator: str, values: list[str], *, nil: bool = False
) -> Requirement:
    """labels.NewRequirement: validate, then build. `nil` marks a Go nil values slice."""
    errs = [e for e in [_key_error(key, "key")] if e]

    def bad(path: str, detail: str) -> None:
        shown = "[]string(nil)" if nil else "[]string{" + ", ".join(map(_go_quote, values)) + "}"
        errs.append(f"{path}: Invalid value: {shown}: {detail}")

    if operator in (IN, NOT_IN) and not values:
        bad("values", "for 'in', 'notin' operators, values set can't be empty")
    elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS) and len(values) != 1:
        bad("values", "exact-match compatibility requires one single value")
    elif operator in (EXISTS, DOES_NOT_EXIST) and values:
        bad("values", "values set must be empty for exists and does not exist")
    elif operator in (GREATER_THAN, LESS_THAN):
        if len(values) != 1:
            bad("values", "for 'Gt', 'Lt' operators, exactly one value is required")
        for i, value in enumerate(values):
            if _int64(value) is None:
                errs.append(
                    f"values[{i}]: Invalid value: {_go_quote(value)}: "
                    "for 'Gt', 'Lt' operators, the value must be an integer"
                )
    for i, value in enumerate(values):
        value_errs = is_label_value(value)
        if value_errs:
            errs.append(
                f"values[{i}][{key}]: Invalid value: {_go_quote(value)}: {'; '.join(value_errs)}"
            )
    if errs:
        deduped = list(dict.fromkeys(errs))
        raise ValueError(deduped[0] if len(deduped) == 1 else "[" + ", ".join(deduped) + "]")
    return Requirement(key, operator, tuple(values))


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """AND of requirements; `nothing` is labels.Nothing() (a nil metav1.LabelSelector)."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    @classmethod
    def from_map(cls, selector: Mapping[str, str] | None) -> LabelSelector:
        """labels.SelectorFromSet: key=value for each entry; empty selects everything."""
        items = sorted((selector or {}).items())
        return cls(tuple(Requirement(k, EQUALS, (v,)) for k, v in items))

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        return not self.nothing and not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


_SYMBOLS = {")", ",", "!", "==", "=", ">", "<", "!=", "("}
_SPECIAL = "=!(),<>"
_SPACE = " \t\r\n"
_ID, _END = "identifier", "end"


def _lex(text: str) -> list[tuple[str, str]]:
    """The label lexer: (token, literal) pairs; "in"/"notin" and symbols are their own tokens."""
    text = text.split("\x00", 1)[0]
    tokens: list[tuple[str, str]] = []
    i = 0
    while True:
        while i < len(text) and text[i] in _SPACE:
            i += 1
        if i >= len(text):
            tokens.append((_END, ""))
            return tokens
        if text[i] in _SPECIAL:
            j, best = i, ""
            while j < len(text) and text[j] in _SPECIAL:
                if text[i : j + 1] in _SYMBOLS:
                    best = text[i : j + 1]
                elif best:
                    break
                j += 1
            tokens.append((best, best))
            i += len(best)
            continue
        j = i
        while j < len(text) and text[j] not in _SPECIAL and text[j] not in _SPACE:
            j += 1
        word = text[i:j]
        tokens.append((word if word in ("in", "notin") else _ID, word))
        i = j


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.pos = 0

    def peek(self, values: bool = True) -> tuple[str, str]:
        tok, lit = self.tokens[self.pos]
        return (_ID if values and tok in (IN, NOT_IN) else tok), lit

    def take(self, values: bool = True) -> tuple[str, str]:
        tok = self.peek(values)
        self.pos += 1
        return tok

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            tok, lit = self.peek()
            if tok == _END:
                return requirements
            if tok not in (_ID, "!"):
                raise ValueError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self.requirement())
            except ValueError as err:
                raise ValueError(f"unable to parse requirement: {err}") from None
            tok, lit = self.take()
            if tok == _END:
                return requirements
            if tok != ",":
                raise ValueError(f"found '{lit}', expected: ',' or 'end of string'")
            tok, lit = self.peek()
            if tok not in (_ID, "!"):
                raise ValueError(f"found '{lit}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        tok, key = self.take()
        operator = ""
        if tok == "!":
            operator = DOES_NOT_EXIST
            tok, key = self.take()
        if tok != _ID:
            raise ValueError(f"found '{key}', expected: identifier")
        error = _key_error(key, "<nil>")
        if error:
            raise ValueError(error)
        if self.peek()[0] in (_END, ","):
            operator = operator or EXISTS
        if operator in (EXISTS, DOES_NOT_EXIST):
            return new_requirement(key, operator, [])
        tok, lit = self.take(values=False)
        ops = {IN: IN, NOT_IN: NOT_IN, "=": EQUALS, "==": DOUBLE_EQUALS, "!=": NOT_EQUALS}
        ops |= {">": GREATER_THAN, "<": LESS_THAN}
        if tok not in ops:
            raise ValueError(f"found '{lit}', expected: '=', '!=', '==', 'in', notin'")
        operator = ops[tok]
        values = self.set_values() if operator in (IN, NOT_IN) else self.exact_value()
        return new_requirement(key, operator, sorted(values))

    def set_values(self) -> set[str]:
        tok, lit = self.take()
        if tok != "(":
            raise ValueError(f"found '{lit}' expected: '('")
        tok, lit = self.peek()
        if tok == ")":
            self.take()
            return {""}
        if tok not in (_ID, ","):
            raise ValueError(f"found '{lit}', expected: ',', ')' or identifier")
        values = self.identifiers()
        if self.take()[0] != ")":
            raise ValueError(f"found '{lit}', expected: ')'")
        return values

    def identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self.take()
            if tok == _ID:
                values.add(lit)
                tok2, lit2 = self.peek()
                if tok2 == ")":
                    return values
                if tok2 != ",":
                    raise ValueError(f"found '{lit2}', expected: ',' or ')'")
            elif tok == ",":
                if not values:
                    values.add("")
                tok2 = self.peek()[0]
                if tok2 == ")":
                    values.add("")
                    return values
                if tok2 == ",":
                    self.take()
                    values.add("")
            else:
                raise ValueError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        if self.peek()[0] in (_END, ","):
            return {""}
        tok, lit = self.take()
        if tok != _ID:
            raise ValueError(f"found '{lit}', expected: identifier")
        return {lit}


def parse_label_selector(text: str) -> LabelSelector:
    """labels.Parse; raises ValueError with upstream's message."""
    requirements = _Parser(text).parse()
    return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))


_EXPRESSION_OPS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def label_selector_from_dict(selector: Mapping[str, Any] | None) -> LabelSelector:
    """metav1.LabelSelectorAsSelector: None selects nothing, an empty selector everything."""
    if selector is None:
        return LabelSelector(nothing=True)
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    requirements = [new_requirement(k, EQUALS, [v]) for k, v in sorted(match_labels.items())]
    for expr in expressions:
        if not isinstance(expr, Mapping):
            raise ValueError(f"invalid label selector expression: {expr!r}")
        operator = _EXPRESSION_OPS.get(expr.get("operator", ""))
        if operator is None:
            raise ValueError(
                f"{_go_quote(str(expr.get('operator', '')))} is not a valid label selector operator"
            )
        values = expr.get("values")
        requirements.append(
            new_requirement(str(expr.get("key", "")), operator, list(values or []), nil=not values)
        )
    return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))


# ---------------------------------------------------------------------------- fields


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    field: str
    operator: str  # "=" or "!="
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        return (fields.get(self.field, "") == self.value) == (self.operator == "=")

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{self.operator}{escaped}"


@dataclass(frozen=True, slots=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(r.matches(fields) for r in self.requirements)

    def empty(self) -> bool:
        return not self.requirements

    def requires_exact_match(self, field: str) -> str | None:
        """The value `field` must equal, when one `field=value` term pins it."""
        for r in self.requirements:
            if r.field == field:
                return r.value if r.operator == "=" else None
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def _split_terms(text: str) -> list[str]:
    terms, start, escaped = [], 0, False
    for i, c in enumerate(text):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    return [*terms, text[start:]] if text else []


def _unescape(value: str) -> str:
    out, escaped = [], False
    for c in value:
        if escaped:
            if c not in "\\,=":
                raise ValueError(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            escaped = False
        elif c == "\\":
            escaped = True
        elif c in ",=":
            raise ValueError(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if escaped:
        raise ValueError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def parse_field_selector(text: str) -> FieldSelector:
    """fields.ParseSelector; raises ValueError with upstream's message."""
    requirements = []
    for term in sorted(_split_terms(text)):
        if not term:
            continue
        match = re.search("!=|==|=", term)
        if match is None:
            raise ValueError(f"invalid selector: '{text}'; can't understand '{term}'")
        operator = "!=" if match.group() == "!=" else "="
        value = _unescape(term[match.end() :])
        requirements.append(FieldRequirement(term[: match.start()], operator, value))
    return FieldSelector(tuple(requirements))


_POD_SPEC = ("nodeName", "restartPolicy", "schedulerName", "serviceAccountName", "hostNetwork")
_POD_STATUS = ("phase", "podIP", "podIPs", "nominatedNodeName")
_POD_FIELDS = (*(f"spec.{f}" for f in _POD_SPEC), *(f"status.{f}" for f in _POD_STATUS))
_INVOLVED = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
_EVENT_FIELDS = (
    *(f"involvedObject.{f}" for f in _INVOLVED),
    *("reason", "reportingComponent", "source", "type"),
)
_META = ("metadata.name", "metadata.namespace")
# The kinds with a field-label conversion function, and the labels each accepts.
_CONVERTIBLE: dict[str, tuple[str, ...]] = {
    "Pod": (*_META, *_POD_FIELDS, "spec.host"),
    "Node": ("metadata.name", "spec.unschedulable"),
    "ReplicationController": (*_META, "status.replicas"),
    "Event": (*_META, *_EVENT_FIELDS),
    "Namespace": ("metadata.name", "status.phase"),
    "Secret": (*_META, "type"),
    "Service": (*_META, "spec.clusterIP", "spec.type"),
}
_CLUSTER_SCOPED = {r.kind for r in RESOURCES if not r.namespaced}


def field_label_error(kind: str, label: str) -> str | None:
    """Upstream's error for a field label `kind` does not accept (None when it is accepted)."""
    allowed = _CONVERTIBLE.get(kind)
    if allowed is None:
        if label in _META:
            return None
        known = '"metadata.name", "metadata.namespace"'
        return f"{_go_quote(label)} is not a known field selector: only {known}"
    return None if label in allowed else f"field label not supported: {label}"


def unsupported_fields(kind: str, selector: FieldSelector) -> list[str]:
    """The field labels of `selector` that `kind` does not accept, in selector order."""
    return [r.field for r in selector.requirements if field_label_error(kind, r.field)]


def convert_field_selector(kind: str, selector: FieldSelector) -> FieldSelector:
    """The kind's field-label conversion: ValueError with upstream's text for an unknown label
    (the server's 400 message), and Pod's legacy `spec.host` read as `spec.nodeName`."""
    for r in selector.requirements:
        error = field_label_error(kind, r.field)
        if error:
            raise ValueError(error)
    if kind != "Pod":
        return selector
    return FieldSelector(
        tuple(
            FieldRequirement("spec.nodeName", r.operator, r.value) if r.field == "spec.host" else r
            for r in selector.requirements
        )
    )


def _get(obj: Mapping[str, Any], path: str) -> Any:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def field_set(kind: str, obj: Mapping[str, Any]) -> dict[str, str]:
    """The selectable fields of `obj`, as the kind's registry offers them for matching."""
    fields = {"metadata.name": _text(_get(obj, "metadata.name"))}
    if kind not in _CLUSTER_SCOPED:
        fields["metadata.namespace"] = _text(_get(obj, "metadata.namespace"))
    if kind == "Pod":
        for path in ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName"):
            fields[path] = _text(_get(obj, path))
        fields["spec.serviceAccountName"] = _text(_get(obj, "spec.serviceAccountName"))
        fields["spec.hostNetwork"] = _text(bool(_get(obj, "spec.hostNetwork")))
        fields["status.phase"] = _text(_get(obj, "status.phase"))
        pod_ips = _get(obj, "status.podIPs") or []
        first = pod_ips[0].get("ip") if pod_ips and isinstance(pod_ips[0], Mapping) else None
        fields["status.podIP"] = _text(first if pod_ips else _get(obj, "status.podIP"))
        fields["status.nominatedNodeName"] = _text(_get(obj, "status.nominatedNodeName"))
    elif kind == "Event":
        for path in (*_EVENT_FIELDS[:7], "reason", "reportingComponent", "type"):
            fields[path] = _text(_get(obj, path))
        source = _get(obj, "source.component") or _get(obj, "reportingComponent")
        fields["source"] = _text(source)
    elif kind == "Node":
        fields["spec.unschedulable"] = _text(bool(_get(obj, "spec.unschedulable")))
    elif kind == "Namespace":
        fields["status.phase"] = _text(_get(obj, "status.phase"))
        fields["name"] = fields["metadata.name"]
    elif kind == "Secret":
        fields["type"] = _text(_get(obj, "type"))
    elif kind in ("ReplicaSet", "ReplicationController"):
        fields["status.replicas"] = _text(_get(obj, "status.replicas") or 0)
    elif kind == "Service":
        fields["spec.clusterIP"] = _text(_get(obj, "spec.clusterIP"))
        fields["spec.type"] = _text(_get(obj, "spec.type"))
    return fields
