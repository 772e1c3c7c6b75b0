"""Field errors and API status errors, worded as the Kubernetes API server words them.

Validation returns a list of `FieldError`; each renders its body the way apimachinery's
`field.Error.ErrorBody()` does (`Invalid value: 0: must be between 1 and 65535, inclusive`),
so kubectl prints exactly what a real cluster prints. `StatusError` subclasses carry an HTTP
code and turn into a `meta/v1 Status` object; the HTTP layer is the only place that sends them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kubesvc.api.gofmt import go_quote

# apimachinery's field.ErrorType: the cause "reason" and the text that starts the body.
ERROR_TYPES: dict[str, str] = {
    "FieldValueNotFound": "Not found",
    "FieldValueRequired": "Required value",
    "FieldValueDuplicate": "Duplicate value",
    "FieldValueInvalid": "Invalid value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueTooLong": "Too long",
    "FieldValueTooMany": "Too many",
    "InternalError": "Internal error",
    "FieldValueTypeInvalid": "Invalid value",
}

# Types whose body never shows the value (apimachinery prints only the type text for these).
_VALUELESS = {"FieldValueRequired", "FieldValueForbidden", "FieldValueTooLong", "InternalError"}


class _Omit:
    def __repr__(self) -> str:
        return "<omitted>"


OMIT: Any = _Omit()


def go_value(value: Any) -> str:
    """Render a bad value as Go's %v / %q would for the types validation reports."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, list):
        return "[]string{" + ", ".join(go_value(v) for v in value) + "}"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldError:
    type: str
    field: str
    value: Any = OMIT
    detail: str = ""

    def body(self) -> str:
        text = ERROR_TYPES[self.type]
        if self.type not in _VALUELESS and self.value is not OMIT:
            text = f"{text}: {go_value(self.value)}"
        if self.detail:
            text = f"{text}: {self.detail}"
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(type="FieldValueRequired", field=path, detail=detail)


def invalid(path: str, value: Any, detail: str = "") -> FieldError:
    return FieldError(type="FieldValueInvalid", field=path, value=value, detail=detail)


def not_supported(path: str, value: Any, supported: list[str]) -> FieldError:
    detail = ""
    if supported:
        detail = "supported values: " + ", ".join(json.dumps(s) for s in supported)
    return FieldError(type="FieldValueNotSupported", field=path, value=value, detail=detail)


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(type="FieldValueDuplicate", field=path, value=value)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(type="FieldValueForbidden", field=path, detail=detail)


def too_long(path: str, max_length: int) -> FieldError:
    return FieldError(
        type="FieldValueTooLong", field=path, detail=f"must have at most {max_length} bytes"
    )


def too_many(path: str, actual: int, limit: int) -> FieldError:
    return FieldError(
        type="FieldValueTooMany",
        field=path,
        value=actual,
        detail=f"must have at most {limit} items",
    )


def not_found(path: str, value: Any) -> FieldError:
    return FieldError(type="FieldValueNotFound", field=path, value=value)


def internal(path: str, detail: str) -> FieldError:
    return FieldError(type="InternalError", field=path, detail=detail)


def aggregate(errors: list[FieldError]) -> str:
    """apimachinery's Aggregate.Error(): one message alone, several in brackets, deduplicated."""
    messages: list[str] = []
    for err in errors:
        text = str(err)
        if text not in messages:
            messages.append(text)
    if len(messages) == 1:
        return messages[0]
    return "[" + ", ".join(messages) + "]"


# --------------------------------------------------------------------------- status errors


@dataclass(slots=True)
class StatusError(Exception):
    code: int
    reason: str
    message: str
    details: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            status["details"] = self.details
        return status


def qualified_resource(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def qualified_kind(kind: str, group: str) -> str:
    return f"{kind}.{group}" if group else kind


def _details(name: str, group: str, kind: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    return details


def not_found_error(resource: str, group: str, name: str) -> StatusError:
    return StatusError(
        404,
        "NotFound",
        f'{qualified_resource(resource, group)} "{name}" not found',
        _details(name, group, resource),
    )


def already_exists_error(resource: str, group: str, name: str) -> StatusError:
    return StatusError(
        409,
        "AlreadyExists",
        f'{qualified_resource(resource, group)} "{name}" already exists',
        _details(name, group, resource),
    )


CONFLICT_DETAIL = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


def conflict_error(
    resource: str, group: str, name: str, detail: str = CONFLICT_DETAIL
) -> StatusError:
    return StatusError(
        409,
        "Conflict",
        f"Operation cannot be fulfilled on {qualified_resource(resource, group)} "
        f'"{name}": {detail}',
        _details(name, group, resource),
    )


def invalid_error(kind: str, group: str, name: str, errors: list[FieldError]) -> StatusError:
    details: dict[str, Any] = {"name": name, "group": group, "kind": kind}
    details["causes"] = [
        {"reason": err.type, "message": err.body(), "field": err.field} for err in errors
    ]
    qkind = qualified_kind(kind, group)
    message = f'{qkind} "{name}" is invalid'
    if errors:
        message += ": " + aggregate(errors)
    return StatusError(422, "Invalid", message, details)


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def method_not_allowed(
    message: str = "the server does not allow this method on the requested resource",
) -> StatusError:
    return StatusError(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> StatusError:
    return StatusError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml, application/vnd.kubernetes.protobuf "
        f'(got "{content_type}")',
    )


def expired_error(message: str) -> StatusError:
    return StatusError(410, "Expired", message)


def gone_error(message: str) -> StatusError:
    return StatusError(410, "Gone", message)


def internal_error(message: str) -> StatusError:
    return StatusError(
        500,
        "InternalError",
        f"Internal error occurred: {message}",
        {"causes": [{"message": message}]},
    )


def forbidden_error(resource: str, group: str, name: str, detail: str) -> StatusError:
    return StatusError(
        403,
        "Forbidden",
        f'{qualified_resource(resource, group)} "{name}" is forbidden: {detail}',
        _details(name, group, resource),
    )
