"""Literals: integers (decimal, 0x, 0b, 0o, `_` separators), floats, 'c' characters and
"strings" with C escapes. Numbers are bounded so that no literal can make a huge integer.
"""

from __future__ import annotations

from lark import Token

from asm.diagnostics import AsmError

_ESCAPES = {
    "n": 10,
    "t": 9,
    "r": 13,
    "0": 0,
    "\\": 92,
    '"': 34,
    "'": 39,
    "a": 7,
    "b": 8,
    "f": 12,
    "v": 11,
    "e": 27,
}


def parse_int(token: Token) -> int:
    """Integer literal: decimal, 0x, 0b, 0o, with `_` separators."""
    if len(token) > 70:
        raise AsmError(f"number too large ({len(token)} digits)", token)
    try:
        return int(token, 0)
    except ValueError:
        pass
    digits = token.replace("_", "")
    if digits.isdigit() and digits[0] == "0":
        raise AsmError(
            f"ambiguous leading zero in '{token}': write {int(digits)}, "
            f"or 0o{digits.lstrip('0') or '0'} for octal",
            token,
        )
    raise AsmError(f"malformed number '{token}'", token)


def parse_float(token: Token) -> float:
    """Float literal (a double; the directive or operand rounds it to its type)."""
    if len(token) > 400:
        raise AsmError("float literal too long", token)
    try:
        return float(token)
    except ValueError:
        raise AsmError(f"malformed number '{token}'", token) from None


def parse_string(token: Token) -> bytes:
    """The bytes of a string literal: UTF-8, with C escapes (\\n \\t \\0 \\xHH \\NNN ...)."""
    if type(token) is tuple or token.type != "STRING":
        raise AsmError("expected a string in double quotes", token)
    return _unescape(str(token)[1:-1], token)


def parse_char(token: Token) -> int:
    """The code of a character literal such as 'a' or '\\n'."""
    data = _unescape(str(token)[1:-1], token)
    text = data.decode("utf-8", "replace")
    if len(text) != 1:
        raise AsmError("a character literal holds exactly one character", token)
    return ord(text) if len(data) > 1 else data[0]


def _unescape(body: str, token: Token) -> bytes:
    if "\\" not in body:
        return body.encode()
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in "01234567" and ((len(body) > i + 2 and body[i + 2] in "01234567") or nxt != "0"):
            j = i + 1
            while j < min(i + 4, len(body)) and body[j] in "01234567":
                j += 1
            value = int(body[i + 1 : j], 8)
            if value > 255:
                raise AsmError(f"octal escape \\{body[i + 1 : j]} is larger than 255", token)
            out.append(value)
            i = j
        elif nxt == "x":
            hexdigits = body[i + 2 : i + 4]
            if len(hexdigits) != 2 or not all(h in "0123456789abcdefABCDEF" for h in hexdigits):
                raise AsmError("\\x needs two hex digits", token)
            out.append(int(hexdigits, 16))
            i += 4
        elif nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            raise AsmError(f"unknown escape sequence '\\{nxt}'", token)
    return bytes(out)
