"""The assembler pipeline: sources -> statements -> preprocessed -> laid out -> encoded -> Program.

    >>> from asm import assemble_text
    >>> result = assemble_text("_start: li a0, 42\\n halt\\n")
    >>> result.ok, [hex(e.address) for e in result.program.lines]
    (True, ['0x1000', '0x1008'])

Stages (one module each): asm.syntax (Lark grammar, statements), asm.preprocess (macros,
repetition, conditionals, includes), asm.layout (pass 1, sections, symbols), asm.symbols
(cross-file resolution), asm.encode (pass 2), asm.program (the isa.elf Program). Every stage
reports located diagnostics to one Reporter; nothing is written if there is an error.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass, field

from asm.diagnostics import AsmError, Diagnostic, Reporter, TooManyErrors
from asm.encode import Emitter
from asm.layout import FileLayout
from asm.preprocess import MAX_EXPANDED, Preprocessor
from asm.program import build_program, check_entry, entry_sym
from asm.sections import Sym, link
from asm.source import Unit, decode_source, read_source
from asm.symbols import Resolver, definition_note, global_table
from asm.syntax import diagnostic
from isa.elf import LineEntry, Program, write_elf
from isa.memmap import ACC_BASE, DRAM_BASE, REGION_SPAN, REGIONS, SRAM_BASE, region_of

PREDEFINED = {"DRAM_BASE": DRAM_BASE, "SRAM_BASE": SRAM_BASE, "ACC_BASE": ACC_BASE}
MAX_IMAGE_BYTES = 256 << 20  #: initialised bytes (text + data) of one program
MAX_RELAX_ROUNDS = 8


@dataclass
class Options:
    """What the command line can change."""

    include_dirs: list[str] = field(default_factory=list)
    defines: dict[str, int] = field(default_factory=dict)
    werror: bool = False
    error_limit: int = 20
    listing: bool = False  #: keep per-statement records for a listing
    max_image_bytes: int = MAX_IMAGE_BYTES  #: initialised bytes of the program
    max_expanded: int = MAX_EXPANDED  #: statements macros and repetition may produce, per file


@dataclass
class Result:
    """The outcome: a Program if there was no error, and every diagnostic."""

    program: Program | None
    diagnostics: list[Diagnostic]
    records: list = field(default_factory=list)  #: (Stmt, address, bytes) for listings

    @property
    def ok(self) -> bool:
        """True if the program assembled without errors."""
        return self.program is not None

    @property
    def errors(self) -> list[Diagnostic]:
        """The errors among the diagnostics."""
        return [d for d in self.diagnostics if d.severity == "error"]

    def text(self) -> str:
        """Every diagnostic, formatted for a terminal."""
        return "\n".join(d.format() for d in self.diagnostics)

    def elf(self) -> bytes:
        """The program as ELF bytes (only if `ok`)."""
        if self.program is None:
            raise ValueError("the program has errors")
        return write_elf(self.program)


class AssemblyError(Exception):
    """Raised by `assemble_files` when the program has errors; str() is the diagnostics."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.text())
        self.result = result


def assemble(paths: list[str], options: Options | None = None) -> Result:
    """Assemble source files (in this order) into one program; never raises for bad input."""
    return _assemble([(os.path.normpath(p), None) for p in paths], options or Options())


def assemble_files(
    paths: list[str],
    include: list[str] | None = None,
    defines: dict[str, str | int] | None = None,
    werror: bool = False,
) -> Program:
    """The Program of source files, or AssemblyError (-I dirs, -D NAME=VALUE values)."""
    values: dict[str, int] = {}
    for name, value in (defines or {}).items():
        try:
            values[name] = value if isinstance(value, int) else int(str(value), 0)
        except ValueError:
            raise AssemblyError(
                Result(None, [Diagnostic("error", f"-D {name}={value}: not an integer")])
            ) from None
    result = assemble(list(map(str, paths)), Options(list(include or []), values, werror))
    if result.program is None:
        raise AssemblyError(result)
    return result.program


def assemble_text(
    text: str | bytes,
    path: str = "<input>",
    options: Options | None = None,
    more: list[tuple[str, str | bytes]] = (),
) -> Result:
    """Assemble source text given in memory (and optionally more (path, text) files)."""
    return _assemble([(path, text), *more], options or Options())


def _assemble(sources: list[tuple[str, str | bytes | None]], options: Options) -> Result:
    reporter = Reporter(options.error_limit, options.werror)
    records: list | None = [] if options.listing else None
    program = None
    # Assembly allocates millions of small acyclic objects; the cycle collector would scan
    # them again and again for nothing (about 20% of the run), so it pauses meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        program = _run(sources, options, reporter, records)
    except TooManyErrors:
        pass
    except RecursionError:
        reporter.diagnostics.append(Diagnostic("error", "input nested too deeply"))
        reporter.errors += 1
    finally:
        if collecting:
            gc.enable()
    diagnostics = _in_source_order(reporter.diagnostics, [path for path, _ in sources])
    return Result(program if reporter.errors == 0 else None, diagnostics, records or [])


def _in_source_order(diagnostics: list[Diagnostic], paths: list[str]) -> list[Diagnostic]:
    """Diagnostics sorted by file (command-line order) and line of their outermost place."""
    rank = {path: i for i, path in enumerate(paths)}

    def key(diag: Diagnostic) -> tuple:
        places = diag.locations()
        if not places:
            return (len(paths) + 1, 0, 0)
        outer = places[-1]
        return (rank.get(outer.path, len(paths)), outer.line, outer.col)

    return sorted(diagnostics, key=key)


def _run(
    sources: list, options: Options, reporter: Reporter, records: list | None
) -> Program | None:
    predefined = {**PREDEFINED, **options.defines}
    layouts = []
    for index, (path, text) in enumerate(sources):
        try:
            if text is None:
                text = read_source(path)
            elif isinstance(text, bytes):
                text = decode_source(text, path)
        except AsmError as e:
            reporter.report(Diagnostic("error", e.message, e.where if e.where else None))
            continue
        preprocessor = Preprocessor(
            index, reporter, options.include_dirs, dict(predefined), options.max_expanded
        )
        stmts = preprocessor.run(Unit(path, text, index))
        layout = FileLayout(index, path, stmts, reporter, predefined, options.include_dirs)
        layout.macro_names = tuple(preprocessor.macros)
        layouts.append(layout)
    # Later stages run even after errors, so that one run reports all of them.
    placed, resolvers = _layout(layouts, reporter)
    _check_windows(placed, reporter)
    image = sum(c.size for lay in layouts for c in lay.chunks.values() if not c.kind.nobits)
    if image > options.max_image_bytes:
        reporter.error(
            f"the program's initialised sections hold {image} bytes, more than "
            f"the limit of {options.max_image_bytes}"
        )
        return None
    for lay in layouts:
        for chunk in lay.chunks.values():
            chunk.data = bytearray(0 if chunk.kind.nobits else chunk.size)
    lines: list[LineEntry] = []
    for lay, resolver in zip(layouts, resolvers, strict=True):
        Emitter(lay, resolver, reporter, lines, records).run()
    for resolver in resolvers:
        resolver.check_pending(reporter)
    entry_error = check_entry(layouts, resolvers)
    if entry_error is not None:
        reporter.report(diagnostic(entry_sym(layouts).stmt, entry_error))
    _check_globals(layouts, resolvers, reporter)
    _check_io_names(layouts, reporter)
    if reporter.errors:
        return None
    # write_elf checks the ELF rules again; jasm has checked each of them by now.
    return build_program(layouts, resolvers, placed, lines)


def _layout(layouts: list[FileLayout], reporter: Reporter) -> tuple[dict, list[Resolver]]:
    """Pass 1 for every file, then relaxation rounds until every `li` has a stable size."""
    for lay in layouts:
        lay.run()
    placed = link([lay.chunks for lay in layouts])
    globals_ = global_table(layouts, reporter)
    sizes = _li_sizes(layouts)
    for round_ in range(MAX_RELAX_ROUNDS + 1):
        if not any(lay.needs_relaxing for lay in layouts):
            break
        previous = [Resolver(lay, layouts, globals_).all_values() for lay in layouts]
        for lay, values in zip(layouts, previous, strict=True):
            # The last round gives up on shortest forms: two words always hold any value.
            lay.run(values, force_long=round_ == MAX_RELAX_ROUNDS)
        placed = link([lay.chunks for lay in layouts])
        globals_ = global_table(layouts, reporter)
        new_sizes = _li_sizes(layouts)
        if new_sizes == sizes:
            break
        sizes = new_sizes
    return placed, [Resolver(lay, layouts, globals_) for lay in layouts]


def _check_io_names(layouts: list[FileLayout], reporter: Reporter) -> None:
    """The runtime binds tensors by name: one program, one tensor per name."""
    seen: dict[str, Sym] = {}
    for lay in layouts:
        for sym in lay.io:
            first = seen.setdefault(sym.name, sym)
            if first is not sym:
                message = f"tensor '{sym.name}' is declared in two files (names bind I/O)"
                reporter.report(
                    diagnostic(
                        sym.stmt,
                        AsmError(message, sym.stmt.args[0], "error", definition_note(first)),
                    )
                )


def _check_windows(placed: dict[str, tuple[int, int]], reporter: Reporter) -> None:
    """Every section must fit the memory window (DRAM, SRAM, ACC) it starts in."""
    for name, (address, size) in placed.items():
        region = region_of(address)
        end = REGIONS[region] + REGION_SPAN if region else address
        if size and address + size > end:
            reporter.error(
                f"section {name} ({size} bytes from {address:#x}) runs past the end "
                f"of the {region} window at {end:#x}"
            )


def _li_sizes(layouts: list[FileLayout]) -> list[int]:
    return [s.extra for lay in layouts for s in lay.stmts if s.plan and not s.plan.words]


def _check_globals(
    layouts: list[FileLayout], resolvers: list[Resolver], reporter: Reporter
) -> None:
    """`.global NAME` with NAME defined in no file at all."""
    for lay, resolver in zip(layouts, resolvers, strict=True):
        for sym in lay.symbols.values():
            if sym.binding == "global" and not sym.defined and sym.name not in resolver.globals:
                message = f"'{sym.name}' is declared .global but defined in no file"
                reporter.report(diagnostic(sym.stmt, AsmError(message, None, "warning")))
