"""Annotated assembler test programs (customasm style): expectations live on the line.

Notation, in comments of the `.jasm` files under tests/asm/cases/<feature>/:

    addi a0, zero, 42        ; = 0x0000002a00000a20
    .byte 1, 2               ; = 0x01 0x02
    .half 0x1234             ; = 0x1234
    li a0, 0x123456789       ; = 0x0000000100000a29 0x2345678900014a20
    addi a0, a0, 1 << 40     ; error: out of range (-2147483648..2147483647)
    .fp16 1e-10              ; warning: underflows

- `; = 0xHH…` — the bytes the line emits, in memory order: each `0x` token is a
  little-endian value of (hex digits / 2) bytes, so an instruction is its 64-bit word
  (16 hex digits), a `.half` two bytes. `_` may separate digits. Instructions expanded from
  a macro call or a pseudo count for the calling line; `.rept` bodies for their own lines.
- `; error: TEXT` / `; warning: TEXT` — a diagnostic whose message contains TEXT must be
  reported at this line (or have this line among its macro-expansion notes). Every
  diagnostic must be expected: an unexpected one fails the test.
- Header lines: `;! with: lib/b.jasm` assembles more files after this one (paths relative
  to it; their annotations are checked too), `;! args: -D N=3 -W error -I DIR` passes
  options, `;! error: TEXT` expects a diagnostic with no source location.

Files in a `lib/` or `inc/` folder are helpers, never cases of their own.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from asm import Options, Result, assemble

# An expectation runs to the end of the line or to the next `; error:` / `; warning:`.
_EXPECT = re.compile(r";\s*(error|warning):\s*(.*?)\s*(?=;\s*(?:error|warning):|$)")
_BYTES = re.compile(r";\s*=\s*((?:0x[0-9a-fA-F_]+\s*)+)$")
_HEADER = re.compile(r"^\s*;!\s*(with|args|error|warning):\s*(.*?)\s*$")


@dataclass
class Case:
    """The expectations of one case (its main file and the files it brings along)."""

    files: list[Path]
    options: Options
    bytes: dict[tuple[str, int], bytes] = field(default_factory=dict)
    diagnostics: list[tuple[str, str, int, str]] = field(default_factory=list)  # kind, path...


def parse_hex_tokens(text: str) -> bytes:
    """Bytes of `0x…` tokens, each a little-endian value of len(digits)/2 bytes."""
    out = bytearray()
    for token in text.split():
        digits = token[2:].replace("_", "")
        if len(digits) % 2:
            raise ValueError(f"odd number of hex digits in {token}")
        out += int(digits, 16).to_bytes(len(digits) // 2, "little")
    return bytes(out)


def load_case(path: Path) -> Case:
    """Read a case file's headers and the annotations of every file it involves."""
    files = [path]
    args: list[str] = []
    headers: list[tuple[str, str]] = []
    for line in path.read_text().splitlines():
        m = _HEADER.match(line)
        if m is None:
            continue
        if m[1] == "with":
            files += [path.parent / p for p in m[2].split()]
        elif m[1] == "args":
            args += shlex.split(m[2])
        else:
            headers.append((m[1], m[2]))
    case = Case(files, _options(args, path.parent))
    case.diagnostics += [(kind, "", 0, text) for kind, text in headers]
    for file in files:
        for number, line in enumerate(file.read_text().splitlines(), 1):
            if _HEADER.match(line):
                continue
            key = (str(file), number)
            m = _BYTES.search(line)
            if m:
                case.bytes[key] = parse_hex_tokens(m[1])
            for e in _EXPECT.finditer(line):
                case.diagnostics.append((e[1], str(file), number, e[2]))
    return case


def _options(args: list[str], folder: Path) -> Options:
    options = Options()
    it = iter(args)
    for arg in it:
        if arg == "-D":
            name, _, value = next(it).partition("=")
            options.defines[name] = int(value, 0) if value else 1
        elif arg == "-I":
            options.include_dirs.append(str(folder / next(it)))
        elif arg == "-W":
            options.werror = next(it) == "error"
        else:
            raise ValueError(f"unknown case argument {arg}")
    options.listing = True
    options.error_limit = 200
    return options


def emitted_bytes(result: Result) -> dict[tuple[str, int], bytes]:
    """Bytes per (file, line), lines as the line table counts them."""
    out: dict[tuple[str, int], bytearray] = {}
    for stmt, _address, data in result.records:
        if data:
            path, line, _ = stmt.unit.outermost(stmt.line)
            out.setdefault((path, line), bytearray()).extend(data)
    return {k: bytes(v) for k, v in out.items()}


def check_case(path: Path) -> list[str]:
    """Every way the assembler's output differs from the case's annotations."""
    case = load_case(path)
    result = assemble([str(f) for f in case.files], case.options)
    problems = []
    expected = list(case.diagnostics)
    for diag in result.diagnostics:
        # A diagnostic satisfies one annotation at each of its places (the body line of a
        # macro and the line that called it may both expect it).
        places = [(loc.path, loc.line) for loc in diag.locations()] or [("", 0)]
        matched = False
        for place in places:
            match = next(
                (
                    e
                    for e in expected
                    if e[0] == diag.severity and (e[1], e[2]) == place and e[3] in diag.message
                ),
                None,
            )
            if match is not None:
                expected.remove(match)
                matched = True
        if not matched:
            problems.append(f"unexpected {diag.severity}:\n{diag.format()}")
    for kind, file, line, text in expected:
        problems.append(f"{Path(file).name}:{line}: expected {kind} containing {text!r}")
    if result.records or not result.diagnostics:
        emitted = emitted_bytes(result)
        for (file, line), want in case.bytes.items():
            got = emitted.get((file, line), b"")
            if got != want:
                problems.append(
                    f"{Path(file).name}:{line}: expected bytes {want.hex(' ')}, "
                    f"got {got.hex(' ') or 'nothing'}"
                )
    return problems
