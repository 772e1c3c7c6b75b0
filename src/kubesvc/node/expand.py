"""Kubernetes' `$(VAR)` expansion, as the kubelet applies it to env values, command and args.

A single left-to-right scan, the same as the kubelet's forked `expansion` package: `$(NAME)` is
replaced by NAME's value when the mapping has it and left as written otherwise; `$$` is an
escaped `$` (so `$$(NAME)` yields the literal `$(NAME)`); a `$` followed by anything else, an
unclosed `$(`, or a trailing `$` stays as it is. Values are never expanded again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

_OPERATOR = "$"
_OPENER = "("
_CLOSER = ")"


def _read_reference(text: str, start: int) -> tuple[str, bool, int]:
    """What follows a `$` at text[start-1]: (text read, is a variable name, characters consumed)."""
    first = text[start]
    if first == _OPERATOR:
        return _OPERATOR, False, 1
    if first == _OPENER:
        end = text.find(_CLOSER, start + 1)
        if end != -1:
            return text[start + 1 : end], True, end - start + 1
        return _OPERATOR + _OPENER, False, 1
    return _OPERATOR + first, False, 1


def expand_with(text: str, lookup: Callable[[str], str | None]) -> str:
    """Expand `text`, asking `lookup` for each referenced name (None: leave the reference)."""
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == _OPERATOR and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            read, is_var, advance = _read_reference(text, cursor + 1)
            if is_var:
                value = lookup(read)
                out.append(f"$({read})" if value is None else value)
            else:
                out.append(read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    out.append(text[checkpoint:])
    return "".join(out)


def expand(text: str, env: Mapping[str, str]) -> str:
    """Expand every `$(VAR)` in `text` from `env`; unknown variables are left as written."""
    return expand_with(text, env.get)


def expand_all(items: Iterable[str], env: Mapping[str, str]) -> list[str]:
    """Expand each of `items` (a container's command or args) from `env`."""
    return [expand(item, env) for item in items]
