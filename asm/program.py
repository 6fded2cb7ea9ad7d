"""Build the `isa.elf.Program` of a linked, encoded program: sections, symbols, I/O, entry.

Symbol table: labels, `.equ`/`.set` constants (absolute, section None) and I/O names, with
their binding (`.global` or local). Labels in `.text` are functions, others objects, with a
size running to the next symbol of their section; numeric local labels (`1:`) and names
starting with `.L` stay out of the table, as in GNU as; so do predefined and `-D` symbols.
"""

from __future__ import annotations

from asm.diagnostics import AsmError
from asm.layout import FileLayout
from asm.sections import SECTION_ALIGN, SECTIONS, Sym
from asm.symbols import Resolver
from isa.elf import IoEntry, LineEntry, Program, Section, Symbol

_U64 = (1 << 64) - 1


def build_program(
    layouts: list[FileLayout],
    resolvers: list[Resolver],
    placed: dict[str, tuple[int, int]],
    lines: list[LineEntry],
) -> Program:
    """The Program for laid-out, encoded files (every chunk's `data` filled in)."""
    symbols = _symbols(layouts, resolvers)
    named = {sym.section for sym in symbols}
    sections = []
    for kind in SECTIONS.values():
        address, size = placed[kind.name]
        chunks = [lay.chunks[kind.name] for lay in layouts if kind.name in lay.chunks]
        if not size and kind.name != ".text" and kind.name not in named:
            continue
        align = max([SECTION_ALIGN if kind.name != ".text" else 8] + [c.align for c in chunks])
        section = Section(
            kind.name,
            address,
            nobits=kind.nobits,
            executable=kind.executable,
            writable=kind.writable,
            align=min(align, address & -address or align),
        )
        if kind.nobits:
            section.size = size
        else:
            data = bytearray(size)
            for chunk in chunks:
                data[chunk.base - address : chunk.base - address + chunk.size] = chunk.data
            section.data = bytes(data)
        sections.append(section)
    io = [
        IoEntry(
            sym.name,
            sym.io.role,
            sym.io.dtype,
            sym.io.shape,
            sym.chunk.base + sym.offset,
            sym.io.nbytes,
        )
        for lay in layouts
        for sym in lay.io
    ]
    return Program(sections, symbols, lines, io, entry_point(layouts, placed))


def entry_sym(layouts: list[FileLayout]) -> Sym | None:
    """The `_start` that is the entry point: a global one first, else the first file's."""
    candidates = [lay.symbols.get("_start") for lay in layouts]
    found = [s for s in candidates if s is not None and s.defined]
    found.sort(key=lambda s: s.binding != "global")
    return found[0] if found else None


def check_entry(layouts: list[FileLayout], resolvers: list[Resolver]) -> AsmError | None:
    """The error, if `_start` is not the address of an instruction in .text."""
    sym = entry_sym(layouts)
    if sym is None or sym.stmt is None:
        return None
    chunk = sym.chunk
    if chunk is None or not chunk.kind.executable or sym.offset >= chunk.size:
        return AsmError("the entry point _start must label an instruction in .text")
    return None


def entry_point(layouts: list[FileLayout], placed: dict[str, tuple[int, int]]) -> int:
    """`_start` if any file defines it, else the start of `.text`."""
    sym = entry_sym(layouts)
    return sym.chunk.base + sym.offset if sym is not None else placed[".text"][0]


def _exported(sym: Sym) -> bool:
    return (
        sym.stmt is not None
        and sym.defined
        and "\x02" not in sym.name
        and not sym.name.startswith(".L")
    )


def _symbols(layouts: list[FileLayout], resolvers: list[Resolver]) -> list[Symbol]:
    symbols: list[Symbol] = []
    for lay, resolver in zip(layouts, resolvers, strict=True):
        for sym in lay.symbols.values():
            if not _exported(sym):
                continue
            value = resolver.value_of(sym) & _U64
            section = sym.chunk.kind.name if sym.chunk is not None else None
            kind = sym.kind if section is not None else "notype"
            symbols.append(Symbol(sym.name, value, section, sym.binding, kind, sym.size))
    _sizes(symbols, layouts)
    return symbols


def _sizes(symbols: list[Symbol], layouts: list[FileLayout]) -> None:
    """A label's size runs to the next symbol of its section (or the end of its chunk)."""
    ends: dict[str, int] = {}
    for lay in layouts:
        for name, chunk in lay.chunks.items():
            ends[name] = max(ends.get(name, 0), chunk.base + chunk.size)
    by_section: dict[str, list[Symbol]] = {}
    for sym in symbols:
        if sym.section is not None and sym.size == 0:
            by_section.setdefault(sym.section, []).append(sym)
    for section, group in by_section.items():
        starts = sorted({s.value for s in symbols if s.section == section})
        import bisect

        for sym in group:
            i = bisect.bisect_right(starts, sym.value)
            end = starts[i] if i < len(starts) else ends.get(section, sym.value)
            sym.size = max(0, end - sym.value)
