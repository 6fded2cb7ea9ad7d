"""Annotated conformance programs: parse the expectations, run the program, check them.

A program states what must hold after it halts in comments on the lines that cause it:

    ; expect: a0 = 42              integer register (signed or unsigned spelling)
    ; expect: f1 = 1.5             fp32 register; `nan` matches any NaN, 0x… compares bits
    ; expect: sem0 = 1             semaphore count
    ; expect: exit = 0             the exit status (a0 at halt)
    ; expect: y = [1, 2.5, nan]    an .output/.tensor by name, all elements, bit-exact
    ; expect: mem[buf+8].int32 = [7, -1]   memory at a symbol or address, read as a dtype
    ; expect-trap: misaligned      the program traps with this kind on this very line
    ; expect-output: x10 = 42      a debug print writes a line containing this text
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from isa import dtypes
from isa.registers import FREG_NAMES, SEM_NAMES, XREG_NAMES

_EXPECT = re.compile(r"[;#]\s*(expect(?:-trap|-output)?):\s*(.*?)\s*$")
_NUM = r"0x[0-9a-fA-F]+|\d+"
_MEM = re.compile(rf"mem\[\s*([A-Za-z_.$][\w.$]*|{_NUM})\s*(?:([+-])\s*({_NUM}))?\s*\]\.(\w+)")


@dataclass
class Expectation:
    """One annotated expectation and the source line it sits on."""

    kind: str  # expect | expect-trap | expect-output
    text: str
    line: int


def expectations(path: Path) -> list[Expectation]:
    """Every expectation in a program, in order."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = _EXPECT.search(line)
        if m:
            found.append(Expectation(m[1], m[2], number))
    return found


def parse_values(text: str) -> list[str]:
    """`[1, 2.5, nan]` or `7` -> the value tokens."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [t.strip() for t in text.split(",") if t.strip()]


def _number(token: str) -> int | float:
    token = token.lower()
    if token in ("nan", "inf", "+inf", "-inf"):
        return float(token)
    try:
        return int(token, 0)
    except ValueError:
        return float(token)


def values_match(actual: np.ndarray, tokens: list[str], dtype: dtypes.DType) -> str | None:
    """None if `actual` (storage dtype) equals the tokens, else a description of the mismatch."""
    actual = actual.reshape(-1)
    if len(tokens) == 1 and actual.size > 1:
        tokens = tokens * actual.size  # one value stands for every element
    if len(tokens) != actual.size:
        return f"{actual.size} elements, expected {len(tokens)}"
    for i, (a, token) in enumerate(zip(actual, tokens, strict=True)):
        want = _number(token)
        if dtype.is_float:
            got = float(a)  # exact for every J1 float type
            if isinstance(want, float) and want != want:
                ok = got != got
            else:
                expected = float(dtypes.cast(np.array([want], np.float64), dtype)[0])
                ok = got == expected and np.signbit(got) == np.signbit(expected)
        else:
            got = int(a)
            ok = got == want
        if not ok:
            return f"element {i} is {got}, expected {token}"
    return None


def check_register(sim, name: str, token: str) -> str | None:
    """Compare one register or pseudo-register with a value token."""
    state = sim.state
    if name in XREG_NAMES:
        symbol = sim.program.symbol(token)
        want = symbol.value if symbol is not None else int(_number(token))
        got = state.X[XREG_NAMES[name]]
        return None if got == want & (2**64 - 1) else f"{name} = {state.x(XREG_NAMES[name])}"
    if name in FREG_NAMES:
        bits = state.F[FREG_NAMES[name]]
        if token.lower().startswith("0x"):
            return None if bits == int(token, 16) else f"{name} bits = {bits:#010x}"
        array = np.array([bits], np.uint32).view(np.float32)
        return values_match(array, [token], dtypes.by_name("fp32"))
    if name in SEM_NAMES:
        got = state.sems[SEM_NAMES[name]]
        return None if got == int(token, 0) else f"{name} = {got}"
    if name == "exit":
        return None if state.exit_code == int(token, 0) else f"exit = {state.exit_code}"
    return f"unknown register {name!r}"


def check_memory(sim, m: re.Match, token_text: str) -> str | None:
    """`mem[sym+off].dtype = values`."""
    base, sign, offset, dtype_name = m.groups()
    dtype = dtypes.by_name(dtype_name)
    if base[0].isdigit():
        address = int(base, 0)
    else:
        symbol = sim.program.symbol(base)
        if symbol is None:
            return f"no symbol {base!r}"
        address = symbol.value
    if offset:
        address += int(offset, 0) * (1 if sign == "+" else -1)
    tokens = parse_values(token_text)
    data = sim.state.memory.read_bytes(address, len(tokens) * dtype.block_bytes)
    return values_match(np.frombuffer(data, dtype=dtype.storage), tokens, dtype)


def check(sim, e: Expectation) -> str | None:
    """None if the expectation holds after the run, else why not."""
    lhs, _, rhs = e.text.partition("=")
    lhs = lhs.strip()
    m = _MEM.fullmatch(lhs)
    if m:
        return check_memory(sim, m, rhs)
    if lhs in sim.io:
        entry = sim.io[lhs]
        return values_match(sim.read(lhs), parse_values(rhs), dtypes.by_name(entry.dtype))
    return check_register(sim, lhs, rhs.strip())
