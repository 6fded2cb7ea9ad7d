"""Inputs for fuzzing jasm, shared by tests/asm/test_asm_fuzz.py and benchmarks/fuzz_jasm.py:
random bytes, random printable text, and valid programs mutated with assembler-shaped junk.

`run_one` is the property: any input ends in diagnostics or a program, never an exception.
"""

from __future__ import annotations

import random
from pathlib import Path

from asm import Options, assemble_text
from asm.disasm import disassembly, symbol_table
from asm.listing import listing
from isa.elf import read_elf

CASES = Path(__file__).parent / "cases"

#: fragments that reach the corners of each stage
FRAGMENTS = [
    ".rept 1000000\n",
    ".rept 3\n",
    ".endr\n",
    ".macro m a, b=2\n",
    ".endm\n",
    "m 1, b=3\n",
    ".irp r, a0, a1\n",
    "\\r",
    "\\@",
    "\\()",
    ".if 1\n",
    ".else\n",
    ".endif\n",
    ".ifdef x\n",
    '.include "x.jasm"\n',
    '.incbin "x"\n',
    "1:",
    "1b",
    "2f",
    "%hi(",
    "%lo(x)",
    "sizeof(x)",
    "(" * 200,
    ")" * 200,
    "-" * 300 + "1",
    "~!~!",
    "99999999999999999999999999999999",
    "0x",
    "1e999",
    "'",
    '"',
    "\\",
    ",",
    ":",
    ".",
    "..",
    "\x00",
    "\xff",
    "é",
    "\t",
    "\r\n",
    "\n\n",
    ".section .sram\n",
    ".bss\n",
    ".data\n",
    ".text\n",
    ".space 1 << 40\n",
    ".balign 4096\n",
    ".input x, q4_1, (2, 32)\n",
    ".tensor t, fp16, (2), [1, 2]\n",
    ".tensor t, int8, 3, 1\n",
    "li a0, 1 << 63\n",
    "la a0, x\n",
    "j 1f\n",
    "mm.acc.tb d0, d1, d2\n",
    "fli f0, nan\n",
    ".equ x, x + 1\n",
    ".set y, 1\n",
    ".global x\n",
    "x:",
    ".byte 300\n",
    ".fp8 1e9\n",
    "a" * 500,
    "\n" * 50,
    "# comment\n",
    "; comment\n",
]

FUZZ_OPTIONS = dict(error_limit=20, max_expanded=20_000, max_image_bytes=1 << 20)


def seed_programs() -> list[str]:
    """Valid and invalid programs from the annotated cases, as mutation seeds."""
    return [p.read_text() for p in sorted(CASES.glob("*/*.jasm"))]


def mutate(text: str, rng: random.Random, rounds: int = 4) -> str:
    """`text` with a few random edits: cut, duplicate, insert a fragment, flip a character."""
    for _ in range(rng.randint(1, rounds)):
        if not text:
            text = rng.choice(FRAGMENTS)
        i, j = sorted(rng.randrange(len(text) + 1) for _ in range(2))
        choice = rng.randrange(5)
        if choice == 0:
            text = text[:i] + text[j:]
        elif choice == 1:
            text = text[:i] + text[i:j] * rng.randint(2, 4) + text[i:]
        elif choice == 2:
            text = text[:i] + rng.choice(FRAGMENTS) + text[i:]
        elif choice == 3 and text:
            k = rng.randrange(len(text))
            text = text[:k] + chr(rng.randrange(1, 0x2FF)) + text[k + 1 :]
        else:
            lines = text.split("\n")
            rng.shuffle(lines)
            text = "\n".join(lines)
    return text


def run_one(source: str | bytes) -> bool:
    """Assemble `source` and use whatever comes out; True if it assembled.

    Raises only if jasm itself is broken (an exception, or an internal inconsistency).
    """
    options = Options(**FUZZ_OPTIONS, listing=True)
    result = assemble_text(source, "fuzz.jasm", options)
    text = result.text()
    assert "internal error" not in text
    for diag in result.diagnostics:
        assert diag.message and diag.severity in ("error", "warning")
    if not result.ok:
        assert result.errors, "no program but no error either"
        return False
    elf = result.elf()
    program = read_elf(elf)
    disassembly(program)
    symbol_table(program)
    listing(result.records)
    return True
