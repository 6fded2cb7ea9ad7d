"""Self-checks of the instruction table, run at import (cheap) and by the tests.

The rules of riscv-opcodes: every field inside the word and apart from every other field
and fixed bit, the syntax naming exactly the operand fields, every fixed value fitting its
bits, no two rows able to match the same word, every name and trap known.
"""

from __future__ import annotations

import re
from itertools import combinations

from isa.registers import CATEGORIES
from isa.spec import WORD_BITS, Instruction, Kind, Pseudo, syntax_names
from isa.traps import TRAPS


class TableError(Exception):
    """The instruction table contradicts itself."""


def _bits(lo: int, width: int) -> int:
    return ((1 << width) - 1) << lo


def row_problems(spec: Instruction) -> list[str]:
    """Everything wrong with one row."""
    where, problems = spec.mnemonic, []
    used = 0
    parts = [(f"field {f.name}", f.lo, f.width) for f in spec.fields]
    parts += [(f"fixed bits {lo}+{w}", lo, w) for lo, w, _ in spec.fixed]
    for label, lo, width in parts:
        bits = _bits(lo, width)
        if lo < 0 or lo + width > WORD_BITS or width < 1:
            problems.append(f"{where}: {label} lies outside the 64-bit word")
        if used & bits:
            problems.append(f"{where}: {label} overlaps another field")
        used |= bits
    for _lo, width, value in spec.fixed:
        if not 0 <= value < 1 << width:
            problems.append(f"{where}: fixed value {value} does not fit {width} bits")
    if not any(lo == 0 and w == 8 for lo, w, _ in spec.fixed):
        problems.append(f"{where}: no 8-bit opcode at bit 0")
    if spec.opcode == 0:
        problems.append(f"{where}: opcode 0 is reserved so that zeroed memory never decodes")
    for f in spec.fields:
        lowest = -(1 << (f.width - 1)) if f.signed else 0
        highest = (1 << (f.width - 1)) - 1 if f.signed else (1 << f.width) - 1
        if not lowest <= f.lo_value <= f.hi_value <= highest:
            problems.append(f"{where}: range of {f.name} does not fit its {f.width} bits")
    operand_names = [f.name for f in spec.fields if f.kind is not Kind.FLAG]
    if sorted(syntax_names(spec.syntax)) != sorted(operand_names):
        problems.append(f"{where}: syntax {spec.syntax!r} does not name exactly {operand_names}")
    if spec.engine not in CATEGORIES:
        problems.append(f"{where}: unknown engine {spec.engine!r}")
    problems += [f"{where}: unknown trap {t!r}" for t in spec.traps if t not in TRAPS]
    if not spec.summary or not spec.semantics:
        problems.append(f"{where}: summary and semantics are required")
    return problems


def overlaps(a: Instruction, b: Instruction) -> bool:
    """Whether some word matches both rows."""
    return (a.match ^ b.match) & a.mask & b.mask == 0


def spellings(spec: Instruction) -> set[str]:
    """Every way to write the mnemonic: the base plus each ordered subset of flags."""
    names = {spec.mnemonic}
    flags = [f.name for f in spec.flags]
    for n in range(1, len(flags) + 1):
        for combo in combinations(flags, n):
            names.add(".".join([spec.mnemonic, *combo]))
    return names


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def table_problems(rows: tuple[Instruction, ...], pseudos: tuple[Pseudo, ...]) -> list[str]:
    """Everything wrong with the table as a whole."""
    problems = [p for spec in rows for p in row_problems(spec)]
    by_opcode: dict[int, list[Instruction]] = {}
    for spec in rows:
        by_opcode.setdefault(spec.opcode, []).append(spec)
    for group in by_opcode.values():
        for a, b in combinations(group, 2):
            if overlaps(a, b):
                problems.append(f"encodings of {a.mnemonic} and {b.mnemonic} overlap")
    seen: dict[str, str] = {}
    for spec in rows:
        for name in spellings(spec):
            if name in seen:
                problems.append(f"{name} is written the same as {seen[name]}")
            seen[name] = spec.mnemonic
    real = {spec.mnemonic for spec in rows}
    for p in pseudos:
        if p.mnemonic in seen:
            problems.append(f"pseudo {p.mnemonic} shadows an instruction")
        names = {o.name for o in p.operands}
        for line in p.expansion:
            if line.startswith("<"):
                continue  # computed expansion (li)
            if line.split()[0] not in real:
                problems.append(f"pseudo {p.mnemonic} expands to unknown {line.split()[0]}")
            problems += [
                f"pseudo {p.mnemonic}: unknown placeholder {n}"
                for n in _PLACEHOLDER.findall(line)
                if n not in names
            ]
    return problems


def check_table(rows: tuple[Instruction, ...], pseudos: tuple[Pseudo, ...]) -> None:
    """Raise TableError listing every problem, if there is any."""
    problems = table_problems(rows, pseudos)
    if problems:
        raise TableError("J1 instruction table is inconsistent:\n  " + "\n  ".join(problems))
