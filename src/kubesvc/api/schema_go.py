"""Go behaviour the strict decoder must reproduce byte for byte, as small pure functions.

kube-apiserver decodes request bodies with Go's `encoding/json` (forked as `sigs.k8s.io/json`)
and a few custom unmarshalers. Their error texts reach kubectl verbatim, so this module copies
the observable rules, not the code:

* `go_quote` is `strconv.Quote` (the `%q` in `unknown field "spec.portz"`).
* `json_syntax_error` replays Go's JSON scanner over the raw bytes and names the first offending
  byte the way `encoding/json` does (`invalid character 'x' looking for beginning of value`).
* `quantity_error` is `resource.ParseQuantity` reduced to its three error texts.
* `time_error` is `time.Parse` for the RFC 3339 layouts metav1.Time and MicroTime use.
* `base64_error` is `base64.StdEncoding.Decode`'s `illegal base64 data at input byte N`.
* `go_float` is how `json.Marshal` prints a float64 (a body re-encoded after a patch or YAML).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from kubesvc.api.gofmt import go_quote

RFC3339 = "2006-01-02T15:04:05Z07:00"
RFC3339_MICRO = "2006-01-02T15:04:05.000000Z07:00"

_QUANTITY_FORMAT = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
_QUANTITY_SUFFIX = "unable to parse quantity's suffix"
_QUANTITY_SUFFIXES = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T"}
_QUANTITY_SUFFIXES |= {"P", "E"}
_B64 = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def _quote_char(byte: int) -> str:
    """encoding/json's quoteChar: the byte as a Go rune literal."""
    if byte == 0x27:
        return "'\\''"
    if byte == 0x22:
        return "'\"'"
    return "'" + go_quote(chr(byte))[1:-1] + "'"


# ---- JSON syntax ---------------------------------------------------------------------------

_WS = b" \t\r\n"
_LITERALS = {ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}


class _Syntax(Exception):
    pass


def _bad(data: bytes, pos: int, context: str) -> _Syntax:
    if pos >= len(data):
        return _Syntax("unexpected end of JSON input")
    return _Syntax(f"invalid character {_quote_char(data[pos])} {context}")


def _skip_ws(data: bytes, pos: int) -> int:
    while pos < len(data) and data[pos] in _WS:
        pos += 1
    return pos


def _scan_string(data: bytes, pos: int) -> int:
    pos += 1
    while True:
        if pos >= len(data):
            raise _bad(data, pos, "")
        byte = data[pos]
        if byte == 0x22:
            return pos + 1
        if byte < 0x20:
            raise _bad(data, pos, "in string literal")
        if byte == 0x5C:
            pos += 1
            if pos >= len(data):
                raise _bad(data, pos, "")
            if data[pos] == ord("u"):
                for _ in range(4):
                    pos += 1
                    if pos >= len(data) or chr(data[pos]) not in "0123456789abcdefABCDEF":
                        raise _bad(data, pos, "in \\u hexadecimal character escape")
            elif data[pos] not in b'"\\/bfnrt':
                raise _bad(data, pos, "in string escape code")
        pos += 1


def _digits(data: bytes, pos: int) -> int:
    while pos < len(data) and 0x30 <= data[pos] <= 0x39:
        pos += 1
    return pos


def _scan_number(data: bytes, pos: int) -> int:
    if data[pos] == ord("-"):
        pos += 1
        if pos >= len(data) or not 0x30 <= data[pos] <= 0x39:
            raise _bad(data, pos, "in numeric literal")
    pos = pos + 1 if data[pos] == ord("0") else _digits(data, pos)
    if pos < len(data) and data[pos] == ord("."):
        pos += 1
        if pos >= len(data) or not 0x30 <= data[pos] <= 0x39:
            raise _bad(data, pos, "after decimal point in numeric literal")
        pos = _digits(data, pos)
    if pos < len(data) and data[pos] in b"eE":
        pos += 1
        if pos < len(data) and data[pos] in b"+-":
            pos += 1
        if pos >= len(data) or not 0x30 <= data[pos] <= 0x39:
            raise _bad(data, pos, "in exponent of numeric literal")
        pos = _digits(data, pos)
    return pos


def _scan_scalar(data: bytes, pos: int) -> int:
    byte = data[pos]
    if byte == 0x22:
        return _scan_string(data, pos)
    if byte == ord("-") or 0x30 <= byte <= 0x39:
        return _scan_number(data, pos)
    word = _LITERALS.get(byte)
    if word is None:
        raise _bad(data, pos, "looking for beginning of value")
    for i in range(1, len(word)):
        if pos + i >= len(data) or data[pos + i] != word[i]:
            context = f"in literal {word.decode()} (expecting {_quote_char(word[i])})"
            raise _bad(data, pos + i, context)
    return pos + len(word)


def _scan(data: bytes) -> None:
    stack: list[int] = []  # open containers: ord("{") or ord("[")
    pos = _skip_ws(data, 0)
    while True:  # here a value must start
        if pos >= len(data):
            raise _bad(data, pos, "")
        byte = data[pos]
        if byte in b"{[":
            if len(stack) >= 10000:
                raise _bad(data, pos, "exceeded max depth")
            stack.append(byte)
            pos = _skip_ws(data, pos + 1)
            closing = ord("}") if byte == ord("{") else ord("]")
            if pos < len(data) and data[pos] == closing:
                stack.pop()
                pos += 1
            elif byte == ord("{"):
                pos = _object_key(data, pos)
                continue
            else:
                continue
        else:
            pos = _scan_scalar(data, pos)
        # a value ended: close containers or move to the next element
        while True:
            pos = _skip_ws(data, pos)
            if not stack:
                if pos < len(data):
                    raise _bad(data, pos, "after top-level value")
                return
            top = stack[-1]
            if pos < len(data) and data[pos] == ord(","):
                pos = _skip_ws(data, pos + 1)
                if top == ord("{"):
                    pos = _object_key(data, pos)
                break
            if pos < len(data) and data[pos] == (ord("}") if top == ord("{") else ord("]")):
                stack.pop()
                pos += 1
                continue
            ctx = "after object key:value pair" if top == ord("{") else "after array element"
            raise _bad(data, pos, ctx)


def _object_key(data: bytes, pos: int) -> int:
    if pos >= len(data) or data[pos] != 0x22:
        raise _bad(data, pos, "looking for beginning of object key string")
    pos = _skip_ws(data, _scan_string(data, pos))
    if pos >= len(data) or data[pos] != ord(":"):
        raise _bad(data, pos, "after object key")
    return _skip_ws(data, pos + 1)


def json_syntax_error(data: bytes) -> str | None:
    """The message of Go's `json.Unmarshal` syntax check, or None when `data` is valid JSON."""
    try:
        _scan(data)
    except _Syntax as err:
        return str(err)
    return None


# ---- resource.Quantity -----------------------------------------------------------------------

_QUANTITY = re.compile(r"([+-]?)(0*)([0-9]*)(?:\.([0-9]*))?(.*)", re.S)
_SUFFIX = re.compile(r"[eEinumkKMGTP]*[-+]?[0-9]*", re.S)


def quantity_error(text: str) -> str | None:
    """The error `resource.ParseQuantity(strings.TrimSpace(text))` returns, or None."""
    text = text.strip(" \t\n\r\v\f")
    if not text:
        return _QUANTITY_FORMAT
    match = _QUANTITY.fullmatch(text)
    suffix = match.group(5) if match else text
    if not _SUFFIX.fullmatch(suffix):
        return _QUANTITY_FORMAT
    if suffix in _QUANTITY_SUFFIXES:
        return None
    exponent = suffix[1:] if len(suffix) > 1 and suffix[0] in "eE" else ""
    if re.fullmatch(r"[-+]?[0-9]+", exponent) and abs(int(exponent)) < 1 << 63:
        return None
    return _QUANTITY_SUFFIX


# ---- time.Parse ------------------------------------------------------------------------------


def _time_quote(text: str) -> str:
    """The time package's own quote: non-ASCII and control bytes become \\x escapes."""
    out = ['"']
    for ch in text:
        if ord(ch) >= 0x80 or ord(ch) < 0x20:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "replace"))
        else:
            out.append("\\" + ch if ch in '"\\' else ch)
    out.append('"')
    return "".join(out)


def _getnum(value: str, fixed: bool) -> tuple[int, str] | None:
    if not value[:1].isascii() or not value[:1].isdigit():
        return None
    if not value[1:2].isascii() or not value[1:2].isdigit():
        return None if fixed else (int(value[0]), value[1:])
    return int(value[:2]), value[2:]


def _days_in(month: int, year: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


_TIME_STEPS = (("2006", ""), ("01", "-"), ("02", "-"), ("15", "T"), ("04", ":"), ("05", ":"))
_RANGES = {"01": ("month", 1, 12), "15": ("hour", 0, 23), "04": ("minute", 0, 59)}
_RANGES["05"] = ("second", 0, 59)


def time_error(value: str, layout: str = RFC3339) -> str | None:
    """The error `time.Parse(layout, value)` returns for the two RFC 3339 layouts, or None."""
    head = f"parsing time {_time_quote(value)}"

    def cannot(rest: str, elem: str) -> str:
        what = f"cannot parse {_time_quote(rest)} as {_time_quote(elem)}"
        return f"{head} as {_time_quote(layout)}: {what}"

    rest = value
    nums: dict[str, int] = {}
    for elem, prefix in _TIME_STEPS:
        if prefix:
            if not rest.startswith(prefix):
                return cannot(rest, prefix)
            rest = rest[1:]
        if elem == "2006":
            if len(rest) < 4 or not re.fullmatch(r"[-+]?[0-9]+", rest[:4]):
                return cannot(rest, elem)
            nums[elem], rest = int(rest[:4]), rest[4:]
            continue
        got = _getnum(rest, fixed=elem != "15")
        if got is None:
            return cannot(rest, elem)
        nums[elem], after = got
        if elem in _RANGES:
            name, low, high = _RANGES[elem]
            if not low <= nums[elem] <= high:
                return f"{head}: {name} out of range"
        rest = after
    frac = layout == RFC3339_MICRO
    if frac:
        if len(rest) < 7:
            return cannot(rest, ".000000")
        if rest[0] not in ".," or not re.fullmatch(r"[0-9]+", rest[1:7]):
            return cannot(rest, ".000000")
        rest = rest[7:]
    elif re.match(r"[.,][0-9]", rest):
        rest = re.sub(r"^[.,][0-9]+", "", rest)
    if rest.startswith("Z"):
        rest = rest[1:]
    else:
        zone = _zone_error(rest)
        if zone is not None:
            return cannot(rest, "Z07:00") if zone == "" else f"{head}: {zone} out of range"
        rest = rest[6:]
    if rest:
        return f"{head}: extra text: {_time_quote(rest)}"
    if not 1 <= nums["02"] <= _days_in(nums["01"], nums["2006"]):
        return f"{head}: day out of range"
    return None


def _zone_error(rest: str) -> str | None:
    """None for a good "+hh:mm" offset, "" when it cannot parse, else the range that failed."""
    if len(rest) < 6 or rest[3] != ":":
        return ""
    hour, minute = _getnum(rest[1:3], True), _getnum(rest[4:6], True)
    if hour is None or minute is None:
        return ""
    if minute[0] > 60:
        return "time zone offset minute"
    if hour[0] > 24:
        return "time zone offset hour"
    return None if rest[0] in "+-" else ""


# ---- []byte ----------------------------------------------------------------------------------


def base64_error(text: str) -> str | None:
    """`base64.StdEncoding.Decode`'s first error on the UTF-8 bytes of `text`, or None."""
    src = text.encode("utf-8", "surrogatepass")
    si, n = 0, len(src)
    while si < n:
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return None
                return f"illegal base64 data at input byte {si - j}"
            byte = src[si]
            si += 1
            if byte in _B64:
                j += 1
                continue
            if byte in b"\r\n":
                continue
            if byte != ord("=") or j < 2:
                return f"illegal base64 data at input byte {si - 1}"
            return _base64_padding(src, si, j)
    return None


def _base64_padding(src: bytes, si: int, j: int) -> str | None:
    n = len(src)
    if j == 2:
        while si < n and src[si] in b"\r\n":
            si += 1
        if si == n:
            return f"illegal base64 data at input byte {n}"
        if src[si] != ord("="):
            return f"illegal base64 data at input byte {si - 1}"
        si += 1
    while si < n and src[si] in b"\r\n":
        si += 1
    return f"illegal base64 data at input byte {si}" if si < n else None


# ---- float64 as json.Marshal prints it -------------------------------------------------------


def go_float(value: float) -> str:
    """`json.Marshal(float64)`: shortest digits, 'e' form outside [1e-6, 1e21)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    dec = Decimal(repr(value))
    if 1e-6 <= abs(value) < 1e21:
        text = format(dec, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    sign, digits, exp = dec.as_tuple()
    assert isinstance(exp, int)
    mantissa = "".join(map(str, digits)).rstrip("0") or "0"
    power = exp + len(digits) - 1
    body = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    return f"{'-' if sign else ''}{body}e{'-' if power < 0 else '+'}{abs(power):02d}".replace(
        "e-0", "e-"
    )
