"""jasm, the J1 assembler: Lark grammar -> checked program -> ELF, plus disassembler and listings.

    >>> from asm import assemble_text
    >>> result = assemble_text("_start:\\n    addi a0, zero, 42\\n    halt\\n")
    >>> result.ok, len(result.elf()) > 0
    (True, True)

`assemble_files(paths, include, defines)` returns an `isa.elf.Program` or raises
`AssemblyError`; `assemble(paths, Options)` and `assemble_text` return a `Result` with the
diagnostics. See asm.assembler for the pipeline and asm.sections for the memory layout.
"""

from asm.assembler import (
    AssemblyError,
    Options,
    Result,
    assemble,
    assemble_files,
    assemble_text,
)

__all__ = ["AssemblyError", "Options", "Result", "assemble", "assemble_files", "assemble_text"]
