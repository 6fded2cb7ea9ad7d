"""Constant expressions: literals, symbols, C operators with C precedence, %hi / %lo / sizeof.

Integers are exact but bounded (|v| < 2**128, shift counts < 128), so no input can make the
assembler build huge numbers; `/` and `%` truncate toward zero as in C. A float literal makes
the expression a float (only + - * / and comparisons apply). Before layout is final, a
label's value is a `Rel` (section chunk + offset): `end - start` of two labels in the same
chunk is a constant, anything else waits for the final addresses.
"""

from __future__ import annotations

from typing import Any, Protocol

from lark import Token

from asm.diagnostics import AsmError
from asm.literals import parse_char, parse_float, parse_int
from asm.syntax import CALL, CHAIN, LIST, MEM, PAREN, TUPLE, UNARY
from isa import split_hi_lo

MAX_DEPTH = 100  #: nesting of parentheses and unary operators
_LIMIT = 1 << 128
PRECEDENCE = {
    "||": 1,
    "&&": 2,
    "|": 3,
    "^": 4,
    "&": 5,
    "==": 6,
    "!=": 6,
    "<": 7,
    "<=": 7,
    ">": 7,
    ">=": 7,
    "<<": 8,
    ">>": 8,
    "+": 9,
    "-": 9,
    "*": 10,
    "/": 10,
    "%": 10,
}
_FLOAT_NAMES = {"inf": float("inf"), "nan": float("nan")}


class Rel:
    """A label's value before the final layout: `offset` bytes into section chunk `chunk`."""

    __slots__ = ("chunk", "offset")

    def __init__(self, chunk: Any, offset: int) -> None:
        self.chunk, self.offset = chunk, offset


class Scope(Protocol):
    """What an expression can see: symbols, numeric local labels, object sizes, `.`."""

    def symbol(self, name: Token) -> int | float | Rel:
        """The value of a symbol (AsmError if it has none here)."""

    def local(self, ref: Token) -> int | Rel:
        """The address that `1b` / `1f` refers to at this point."""

    def sizeof(self, name: Token) -> int:
        """Bytes of an .input/.output/.weight/.tensor."""

    def here(self) -> int | Rel:
        """`.`: the address of the current statement."""


class NotConstant(AsmError):
    """The value depends on something not known yet (a forward or relocatable symbol)."""


def evaluate(node: Any, scope: Scope, floats: bool = False, depth: int = 0) -> int | float | Rel:
    """The value of an operand node. `floats`: `inf` and `nan` name the float values."""
    if type(node) is not tuple:
        kind = node.type
        if kind == "NUMBER":
            return parse_int(node)
        if kind == "WORD":
            if floats and node.lower() in _FLOAT_NAMES:
                return _FLOAT_NAMES[node.lower()]
            return scope.symbol(node)
        if kind == "FLOAT":
            return parse_float(node)
        if kind == "LOCALREF":
            return scope.local(node)
        if kind == "CHAR":
            return parse_char(node)
        if kind == "DOT":
            return scope.here()
        raise AsmError("a string is not a number", node)
    if depth > MAX_DEPTH:
        raise AsmError(f"expression nested too deeply (limit {MAX_DEPTH})", node)
    tag = node[0]
    if tag == CHAIN:
        return _chain(node[1], scope, floats, depth + 1)
    if tag == PAREN:
        return evaluate(node[2], scope, floats, depth + 1)
    if tag == UNARY:
        return _unary(node[1], evaluate(node[2], scope, floats, depth + 1), node)
    if tag == CALL:
        return _call(node, scope, depth)
    if tag in (TUPLE, LIST):
        raise AsmError("a list is only allowed for shapes and tensor values", node)
    if tag == MEM:
        raise AsmError("a memory operand is only allowed in loads and stores", node)
    raise AsmError("'name=value' is only allowed in macro calls", node)


def integer(node: Any, scope: Scope) -> int:
    """An integer-valued operand; floats and unresolved labels are errors."""
    value = evaluate(node, scope)
    if type(value) is int:
        return value
    if isinstance(value, Rel):
        raise NotConstant("the value must be a constant here, not a label address", node)
    raise AsmError(f"expected an integer, got {value!r}", node)


def _chain(items: tuple, scope: Scope, floats: bool, depth: int) -> int | float | Rel:
    """Operator-precedence evaluation of `a op b op c ...` (left associative)."""
    values = [evaluate(items[0], scope, floats, depth)]
    ops: list[Token] = []
    for i in range(1, len(items), 2):
        op = items[i]
        while ops and PRECEDENCE[ops[-1]] >= PRECEDENCE[op]:
            right = values.pop()
            values.append(apply(ops.pop(), values.pop(), right))
        ops.append(op)
        values.append(evaluate(items[i + 1], scope, floats, depth))
    while ops:
        right = values.pop()
        values.append(apply(ops.pop(), values.pop(), right))
    return values[0]


def apply(op: Token, a: Any, b: Any) -> int | float | Rel:
    """`a op b` with the checks above."""
    if type(a) is int and type(b) is int:
        result = _int_op(op, a, b)
        if not -_LIMIT < result < _LIMIT:
            raise AsmError("value too large (expressions are limited to 128 bits)", op)
        return result
    if isinstance(a, Rel) or isinstance(b, Rel):
        return _rel_op(op, a, b)
    if op in ("+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">="):
        return _float_op(op, float(a), float(b))
    raise AsmError(f"operator '{op}' needs integers", op)


def _int_op(op: str, a: int, b: int) -> int:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op in ("/", "%"):
        if b == 0:
            raise AsmError("division by zero", op)
        q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
        return q if op == "/" else a - b * q
    if op in ("<<", ">>"):
        if not 0 <= b < 128:
            raise AsmError(f"shift count {b} is not in 0..127", op)
        return a << b if op == "<<" else a >> b
    return int(_COMPARE[op](a, b)) if op in _COMPARE else _BITWISE[op](a, b)


_COMPARE = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_BITWISE = {
    "&": lambda a, b: a & b,
    "|": lambda a, b: a | b,
    "^": lambda a, b: a ^ b,
    "&&": lambda a, b: int(bool(a) and bool(b)),
    "||": lambda a, b: int(bool(a) or bool(b)),
}


def _float_op(op: str, a: float, b: float) -> float | int:
    if op in _COMPARE:
        return int(_COMPARE[op](a, b))
    if op == "/":
        if b == 0:
            raise AsmError("division by zero", op)
        return a / b
    result = a + b if op == "+" else a - b if op == "-" else a * b
    return result


def _rel_op(op: Token, a: Any, b: Any) -> int | Rel:
    if op == "+" and isinstance(a, Rel) and type(b) is int:
        return Rel(a.chunk, a.offset + b)
    if op == "+" and isinstance(b, Rel) and type(a) is int:
        return Rel(b.chunk, b.offset + a)
    if op == "-" and isinstance(a, Rel) and type(b) is int:
        return Rel(a.chunk, a.offset - b)
    if isinstance(a, Rel) and isinstance(b, Rel) and a.chunk is b.chunk:
        if op == "-":
            return a.offset - b.offset
        if op in _COMPARE:
            return int(_COMPARE[op](a.offset, b.offset))
    raise NotConstant("the value must be a constant here, not a label address", op)


def _unary(op: Token, value: Any, node: tuple) -> int | float:
    if isinstance(value, Rel):
        if op == "+":
            return value
        raise NotConstant("the value must be a constant here, not a label address", node)
    if op == "-":
        return -value
    if op == "+":
        return value
    if type(value) is not int:
        raise AsmError(f"operator '{op}' needs an integer", node)
    return ~value if op == "~" else int(not value)


def _call(node: tuple, scope: Scope, depth: int) -> int:
    func, arg = node[1], node[2]
    if func == "sizeof":
        if type(arg) is tuple or arg.type != "WORD":
            raise AsmError("sizeof takes the name of an .input/.output/.weight/.tensor", arg)
        return scope.sizeof(arg)
    value = evaluate(arg, scope, False, depth + 1)
    if isinstance(value, Rel):
        raise NotConstant(f"{func}() of a label is known only after layout", node)
    if type(value) is not int:
        raise AsmError(f"{func}() needs an integer", node)
    hi, lo = split_hi_lo(value)
    return hi if func == "%hi" else lo
