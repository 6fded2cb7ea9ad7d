"""Assembly listings (`jasm -l FILE`): address, bytes, decoded fields and source, per statement.

    ADDRESS           ENCODING          FIELDS                        LINE  SOURCE
    0000000000001000  200a00002a000000  addi rd=a0 rs1=zero imm=42  a.s:3   li a0, 42

Instruction words are shown as 64-bit hex values (the word, not its bytes in memory order),
data as bytes in memory order. Lines that come from a macro, `.rept` or `.irp` expansion
carry a `+` per expansion level and show the expanded text; the call of a macro is listed
just before its expansion.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from asm.syntax import INSN, LABEL, LOCAL_LABEL
from isa import EncodingError, decode
from isa.disasm import mnemonic_text, operand_text
from isa.spec import Kind

_PLACES = (".input", ".output", ".weight", ".space", ".zero")  #: no bytes, but an address
_BYTES_PER_LINE = 8
_MAX_DATA_LINES = 4
HEADER = f"{'ADDRESS':<18}{'ENCODING':<18}{'FIELDS':<44}{'LINE':<16}SOURCE"


def fields_text(word: int, pc: int) -> str:
    """`mnemonic field=value ...` of one instruction word, or a note if it does not decode."""
    try:
        inst = decode(word)
    except EncodingError:
        return "(not an instruction)"
    values = inst.as_dict()
    parts = [
        f"{f.name}={operand_text(f, values[f.name], pc)}"
        for f in inst.spec.fields
        if f.kind is not Kind.FLAG
    ]
    return " ".join([mnemonic_text(inst), *parts])


def _depth(unit: Any) -> int:
    depth, ctx = 0, unit.context
    while ctx is not None:
        depth += ctx.kind != ".include"
        ctx = ctx.call_unit.context
    return depth


def _expansions(unit: Any) -> list[Any]:
    """Expansion contexts of a unit, outermost first."""
    chain, ctx = [], unit.context
    while ctx is not None:
        chain.append(ctx)
        ctx = ctx.call_unit.context
    return chain[::-1]


def _source(stmt: Any) -> tuple[str, str]:
    unit = stmt.unit
    where = f"{_short(unit.path)}:{unit.file_line(stmt.line)}"
    marker = "+" * _depth(unit)
    return where, f"{marker} {unit.line_text(stmt.line).rstrip()}" if marker else (
        unit.line_text(stmt.line).rstrip()
    )


def _short(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def listing(records: list[tuple[Any, int, bytes]]) -> str:
    """The listing text of an assembly's records (asm.Result.records)."""
    out = [HEADER]
    shown_calls: list[Any] = []
    for _, group in groupby(records, key=lambda r: (id(r[0].unit), r[0].line)):
        group = list(group)
        stmt = group[0][0]
        calls = [c for c in _expansions(stmt.unit) if c.kind == "macro"]
        for ctx in calls:
            if not any(ctx is c for c in shown_calls):
                call_text = ctx.call.text.rstrip() if ctx.call.text else ""
                where = f"{_short(ctx.call.path)}:{ctx.call.line}"
                out.append(f"{'':<80}{where:<16}{call_text}")
        shown_calls = calls
        rows: list[tuple[str, str, str]] = []
        for member, address, data in group:
            is_code = bool(data) and member.kind == INSN
            rows += _code_rows(address, data) if is_code else _data_rows(address, data)
        if not rows:
            labels = [a for m, a, _ in group if m.kind in (LABEL, LOCAL_LABEL) or m.name in _PLACES]
            rows = [(f"{labels[0]:016x}" if labels else "", "", "")]
        where, text = _source(stmt)
        first = rows[0]
        out.append(f"{first[0]:<18}{first[1]:<18}{first[2]:<44}{where:<16}{text}")
        out += [f"{a:<18}{e:<18}{f}" for a, e, f in rows[1:]]
    return "\n".join(out) + "\n"


def _code_rows(address: int, data: bytes) -> list[tuple[str, str, str]]:
    rows = []
    for k in range(0, len(data), 8):
        word = int.from_bytes(data[k : k + 8], "little")
        rows.append((f"{address + k:016x}", f"{word:016x}", fields_text(word, address + k)))
    return rows


def _data_rows(address: int, data: bytes) -> list[tuple[str, str, str]]:
    rows = []
    for k in range(0, len(data), _BYTES_PER_LINE):
        if len(rows) == _MAX_DATA_LINES:
            rows.append(("", "...", f"({len(data)} bytes in all)"))
            break
        chunk = data[k : k + _BYTES_PER_LINE]
        rows.append((f"{address + k:016x}", chunk.hex(), ""))
    return rows
