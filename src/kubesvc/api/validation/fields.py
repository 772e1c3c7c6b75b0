"""Typed, never-raising access to Kubernetes JSON, field paths, and Go-style value rendering.

Validators never index the raw dicts themselves: they ask a `Reader` for `spec.ports` as a
list, `port` as an int32 and so on. A value of the wrong JSON type is recorded once as a
`FieldValueTypeInvalid` error (the real server would have refused to decode it) and the reader
hands back the zero value Go would have had, so validation carries on without raising.
`validate()` returns those decoding errors alone when there are any.

Paths are built as apimachinery's `field.Path` prints them: `spec.ports[0].port`,
`metadata.labels[app]`. `GoLiteral` carries a value already rendered the way Go's `%#v`
prints structs and maps (`map[string]string{"app":"x"}`, `core.ServicePort{...}`), which
`kubesvc.api.errors.go_value` then emits verbatim.
"""

from __future__ import annotations

from typing import Any

from kubesvc.api.errors import FieldError
from kubesvc.api.gofmt import go_quote

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

Obj = dict[str, Any]


def child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def key(path: str, k: str) -> str:
    return f"{path}[{k}]"


class GoLiteral(int):
    """A bad value pre-rendered as Go prints it; `errors.go_value` prints ints with str()."""

    text: str

    def __new__(cls, text: str) -> GoLiteral:
        self = super().__new__(cls, 0)
        self.text = text
        return self

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"GoLiteral({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoLiteral) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def go_string_map(m: dict[str, str] | None) -> GoLiteral:
    """`%#v` of a map[string]string: keys sorted, nil printed as (nil)."""
    if m is None:
        return GoLiteral("map[string]string(nil)")
    inner = ", ".join(f"{go_quote(k)}:{go_quote(v)}" for k, v in sorted(m.items()))
    return GoLiteral("map[string]string{" + inner + "}")


def go_string_slice(items: list[str] | None) -> str:
    if items is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(go_quote(s) for s in items) + "}"


def go_int_or_string(value: int | str | None) -> str:
    if isinstance(value, str):
        return f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{go_quote(value)}}}"
    return f'intstr.IntOrString{{Type:0, IntVal:{value or 0}, StrVal:""}}'


_TYPE_NAMES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


def json_type(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class Reader:
    """Reads typed fields out of JSON dicts, recording wrong types as decoding errors."""

    def __init__(self) -> None:
        self.type_errors: list[FieldError] = []

    def _wrong(self, path: str, value: Any, want: str) -> None:
        detail = f"must be of type {want}, not {json_type(value)}"
        self.type_errors.append(
            FieldError(type="FieldValueTypeInvalid", field=path, value=value, detail=detail)
        )

    def _get(self, parent: Any, name: str) -> Any:
        if isinstance(parent, dict):
            return parent.get(name)
        return None

    def opt_obj(self, parent: Any, name: str, path: str) -> Obj | None:
        value = self._get(parent, name)
        if value is None:
            return None
        if isinstance(value, dict):
            return value
        self._wrong(path, value, "object")
        return None

    def obj(self, parent: Any, name: str, path: str) -> Obj:
        return self.opt_obj(parent, name, path) or {}

    def as_obj(self, value: Any, path: str) -> Obj:
        """An element of a list that must be an object."""
        if isinstance(value, dict):
            return value
        if value is not None:
            self._wrong(path, value, "object")
        return {}

    def opt_list(self, parent: Any, name: str, path: str) -> list[Any] | None:
        value = self._get(parent, name)
        if value is None:
            return None
        if isinstance(value, list):
            return value
        self._wrong(path, value, "array")
        return None

    def lst(self, parent: Any, name: str, path: str) -> list[Any]:
        return self.opt_list(parent, name, path) or []

    def opt_str(self, parent: Any, name: str, path: str) -> str | None:
        value = self._get(parent, name)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        self._wrong(path, value, "string")
        return None

    def string(self, parent: Any, name: str, path: str) -> str:
        return self.opt_str(parent, name, path) or ""

    def as_str(self, value: Any, path: str) -> str:
        if isinstance(value, str):
            return value
        if value is not None:
            self._wrong(path, value, "string")
        return ""

    def opt_int(
        self, parent: Any, name: str, path: str, lo: int = INT32_MIN, hi: int = INT32_MAX
    ) -> int | None:
        value = self._get(parent, name)
        if value is None:
            return None
        return self.as_int(value, path, lo, hi)

    def integer(
        self, parent: Any, name: str, path: str, lo: int = INT32_MIN, hi: int = INT32_MAX
    ) -> int:
        value = self.opt_int(parent, name, path, lo, hi)
        return 0 if value is None else value

    def as_int(self, value: Any, path: str, lo: int = INT32_MIN, hi: int = INT32_MAX) -> int:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        if number is None:
            if value is not None:
                self._wrong(path, value, "integer")
            return 0
        if not lo <= number <= hi:
            self._wrong(path, value, "int32" if hi == INT32_MAX else "int64")
            return 0
        return number

    def opt_bool(self, parent: Any, name: str, path: str) -> bool | None:
        value = self._get(parent, name)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        self._wrong(path, value, "boolean")
        return None

    def boolean(self, parent: Any, name: str, path: str) -> bool:
        return bool(self.opt_bool(parent, name, path))

    def opt_str_map(self, parent: Any, name: str, path: str) -> dict[str, str] | None:
        """A map[string]string such as labels; non-string values are decoding errors."""
        value = self.opt_obj(parent, name, path)
        if value is None:
            return None
        result: dict[str, str] = {}
        for k, v in value.items():
            if isinstance(v, str):
                result[k] = v
            elif v is not None:
                self._wrong(key(path, k), v, "string")
            else:
                result[k] = ""
        return result

    def str_map(self, parent: Any, name: str, path: str) -> dict[str, str]:
        return self.opt_str_map(parent, name, path) or {}

    def opt_str_list(self, parent: Any, name: str, path: str) -> list[str] | None:
        value = self.opt_list(parent, name, path)
        if value is None:
            return None
        return [self.as_str(item, index(path, i)) for i, item in enumerate(value)]

    def str_list(self, parent: Any, name: str, path: str) -> list[str]:
        return self.opt_str_list(parent, name, path) or []

    def int_or_str(self, parent: Any, name: str, path: str) -> int | str | None:
        """An IntOrString: None when absent, else the int or the string."""
        value = self._get(parent, name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return self.as_int(value, path)
        self._wrong(path, value, "integer or string")
        return None
