"""Go's string formatting, for messages that must read exactly as kube-apiserver's.

`go_quote` is `strconv.Quote` (what `%q` prints): printable characters stay, the rest become
Go escapes. Every module that renders a Go-quoted value uses this one.
"""

from __future__ import annotations

import json

_ESCAPES = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}


def go_quote(text: object) -> str:
    """`strconv.Quote`: printable characters stay, the rest become Go escapes.

    A value that is not a string (a malformed object's field) prints as JSON would."""
    if not isinstance(text, str):
        return json.dumps(text, default=str)
    out = ['"']
    for ch in text:
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:  # Go decoded a lone surrogate as U+FFFD
            ch, code = "\ufffd", 0xFFFD
        if ch in '"\\':
            out.append("\\" + ch)
        elif code in _ESCAPES:
            out.append(_ESCAPES[code])
        elif ch == " " or (ch.isprintable() and not ch.isspace()):
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)
