"""Every instruction has a conformance program, and every trap of the engines has a program
that raises it.

A mnemonic counts as covered when some `tests/isa/<engine>/*.jasm` writes it literally as
the first word of an instruction line (flag spellings such as `mm.acc.tb` resolve to their
table row; pseudo-instructions, directives and macro calls do not count). A trap of an
engine counts as covered when a program in that engine's folder expects it, with
`; expect-trap: KIND`, on a line holding one of that engine's instructions.
"""

from __future__ import annotations

import re
from pathlib import Path

import isa

HERE = Path(__file__).parent
PROGRAMS = sorted(HERE.glob("*/*.jasm"))
TRAP_ENGINES = ("dma", "matrix", "vector", "activation")

_COMMENT = re.compile(r"[;#].*")
_LABELS = re.compile(r"^\s*(?:[A-Za-z_.$][\w.$]*:|\d+:)\s*")
_EXPECT_TRAP = re.compile(r"[;#]\s*expect-trap:\s*(\w+)")


def instruction(line: str) -> isa.Instruction | None:
    """The table row of the instruction a source line writes, or None."""
    code = _COMMENT.sub("", line)
    while True:  # any number of labels may precede the instruction
        stripped = _LABELS.sub("", code, count=1)
        if stripped == code:
            break
        code = stripped
    words = code.split()
    if not words or words[0].startswith("."):
        return None
    found = isa.split_mnemonic(words[0].lower())
    return found[0] if found else None


def written_instructions(path: Path) -> list[tuple[int, isa.Instruction]]:
    """(line number, table row) of every instruction line of a program."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        spec = instruction(line)
        if spec is not None:
            rows.append((number, spec))
    return rows


def expected_traps(path: Path) -> set[tuple[str, str]]:
    """(engine of the faulting instruction, trap kind) of every `expect-trap` in a program."""
    found = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _EXPECT_TRAP.search(line)
        spec = instruction(line) if m else None
        if spec is not None:
            found.add((spec.engine, m[1]))
    return found


def test_every_mnemonic_has_a_conformance_program():
    written = {spec.mnemonic for path in PROGRAMS for _, spec in written_instructions(path)}
    missing = [s.mnemonic for s in isa.INSTRUCTIONS if s.mnemonic not in written]
    total = len(isa.INSTRUCTIONS)
    assert not missing, (
        f"{len(missing)} of {total} instructions have no conformance program in "
        f"tests/isa/<engine>/*.jasm: {', '.join(missing)}"
    )


def test_every_engine_trap_is_raised_by_a_program():
    missing = []
    for engine in TRAP_ENGINES:
        listed = {trap for s in isa.INSTRUCTIONS if s.engine == engine for trap in s.traps}
        raised = set()
        for path in sorted((HERE / engine).glob("*.jasm")):
            raised |= {kind for owner, kind in expected_traps(path) if owner == engine}
        missing += [f"{engine}: {trap}" for trap in sorted(listed - raised)]
    assert not missing, (
        "traps listed for an engine's instructions that no program in its folder raises "
        f"with `; expect-trap:` on one of its instructions: {'; '.join(missing)}"
    )
