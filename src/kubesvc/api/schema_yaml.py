"""YAML request bodies read the way kube-apiserver reads them (sigs.k8s.io/yaml over goyaml v2).

`load_yaml(body)` returns the JSON-shaped value of the first document and the goyaml strict
error for duplicate keys (`yaml: unmarshal errors:\\n  line 5: key "name" already set in map`),
or None. It raises ValueError with a goyaml-like message (`yaml: line 3: ...`) when the text
does not parse.

PyYAML is tuned to goyaml v2's scalar rules: timestamps stay strings, `y`/`n` are booleans,
`1e3` is a number, and there are no base-60 numbers. A duplicate key is reported at the line
of its value, after any duplicates nested in that value, as goyaml does. Map keys that are
not strings become strings the way sigs.k8s.io/yaml converts them; a float that holds an
integer becomes an int, as Go's JSON re-encoding turns 80.0 into 80.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import yaml

from kubesvc.api.gofmt import go_quote
from kubesvc.api.schema_go import go_float

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """SafeLoader with goyaml v2's implicit types."""

    bool_values: ClassVar[dict[str, bool]] = {**yaml.SafeLoader.bool_values, "y": True, "n": False}
    yaml_implicit_resolvers = {  # noqa: RUF012 (PyYAML's own class-level table)
        first: [(tag, rx) for tag, rx in entries if tag not in {_INT, _FLOAT, _BOOL, _TIMESTAMP}]
        for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_Loader.add_implicit_resolver(
    _BOOL,
    re.compile(
        r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE"
        r"|on|On|ON|off|Off|OFF)$"
    ),
    list("yYnNtTfFoO"),
)
_Loader.add_implicit_resolver(
    _INT,
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9_]+|[0-9][0-9_]*\.[0-9_]*|[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


# libyaml (and so goyaml) words some problems differently from PyYAML.
_LIBYAML_WORDS = {
    "mapping values are not allowed here": "mapping values are not allowed in this context",
    "while parsing a block mapping": "did not find expected key",
    "while parsing a block collection": "did not find expected '-' indicator",
    "while parsing a flow sequence": "did not find expected ',' or ']'",
    "while parsing a flow mapping": "did not find expected ',' or '}'",
}


def _problem(err: yaml.MarkedYAMLError) -> str:
    problem = err.problem or "unknown problem parsing YAML content"
    if problem.startswith("expected ") and err.context in _LIBYAML_WORDS:
        return _LIBYAML_WORDS[err.context]
    if problem.startswith("found character") and "cannot start any token" in problem:
        return "found character that cannot start any token"
    if match := re.fullmatch(r"found undefined alias '(.*)'", problem):
        return f"unknown anchor '{match.group(1)}' referenced"
    return _LIBYAML_WORDS.get(problem, problem)


def _error_text(err: yaml.YAMLError) -> str:
    """goyaml's wording: scanner errors count lines from 1, parser errors from 0."""
    if not isinstance(err, yaml.MarkedYAMLError):
        return f"yaml: {err}"
    line = 0
    if err.problem_mark is not None and err.problem_mark.line != 0:
        line = err.problem_mark.line + (1 if isinstance(err, yaml.scanner.ScannerError) else 0)
    elif err.context_mark is not None:
        line = err.context_mark.line
    where = f"line {line}: " if line else ""
    return f"yaml: {where}{_problem(err)}"


def _key_identity(loader: _Loader, node: yaml.Node) -> tuple[str, Any] | None:
    try:
        key = loader.construct_object(node, deep=True)
        hash(key)
    except (yaml.YAMLError, TypeError):
        return None
    return (type(key).__name__, key)


def _duplicate_keys(loader: _Loader, root: yaml.Node) -> list[str]:
    """goyaml strict errors for repeated keys, in the order its decoder meets them."""
    found: list[str] = []
    # Work items: a node to visit, or a finished message to emit when popped.
    stack: list[yaml.Node | str] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, yaml.MappingNode):
            seen: set[tuple[str, Any]] = set()
            todo: list[yaml.Node | str] = []
            for key_node, value_node in item.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                todo.append(value_node)
                ident = _key_identity(loader, key_node)
                if ident is not None and ident in seen:
                    shown = go_quote(ident[1]) if isinstance(ident[1], str) else str(ident[1])
                    line = value_node.start_mark.line + 1
                    todo.append(f"line {line}: key {shown} already set in map")
                elif ident is not None:
                    seen.add(ident)
            stack.extend(reversed(todo))
        elif isinstance(item, yaml.SequenceNode):
            stack.extend(reversed(item.value))
    return found


def _key_text(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, float):
        return go_float(key)
    return str(key)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {_key_text(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def load_yaml(body: bytes) -> tuple[Any, str | None]:
    """The first document as JSON-shaped data, and goyaml's duplicate-key error or None."""
    try:
        loader = _Loader(body.decode("utf-8", "replace"))
    except yaml.YAMLError as err:
        raise ValueError(_error_text(err)) from None
    try:
        node = loader.get_node() if loader.check_node() else None
        if node is None:
            return None, None
        duplicates = _duplicate_keys(loader, node)
        value = _jsonable(loader.construct_document(node))
    except yaml.YAMLError as err:
        raise ValueError(_error_text(err)) from None
    except (RecursionError, ValueError, TypeError) as err:
        raise ValueError(f"yaml: {err}") from None
    finally:
        loader.dispose()
    error = "yaml: unmarshal errors:\n  " + "\n  ".join(duplicates) if duplicates else None
    return value, error
