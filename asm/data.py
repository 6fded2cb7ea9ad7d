"""Data directives: integers, floats of every J1 element type, strings, alignment, space.

The element-type directives come from isa.dtypes: `.int8 .int32 .fp8e4m3 .fp8e5m2 .bf16
.fp16 .fp32`, plus the GNU spellings `.byte .half .word .dword` (1, 2, 4, 8 bytes; signed or
unsigned values), `.float` (fp32), `.double` (float64) and `.fp8` (fp8e4m3). Floats round to
nearest even; a value that does not fit is an error, never truncated. `.align N` and
`.p2align N` align to 2**N bytes, `.balign N` to N; padding between instructions is `nop`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from asm.diagnostics import AsmError
from asm.expr import NotConstant, Rel, evaluate, integer
from asm.literals import parse_string
from asm.operands import float_bits
from isa import dtypes as isa_dtypes

MAX_ALIGN = 1 << 24
MAX_SPACE = 1 << 32


def require_data(s: Any, layout: Any) -> None:
    """Initialised data cannot go into a NOBITS section."""
    if layout.chunk.kind.nobits:
        raise AsmError(
            f"'{s.name}' puts data in {layout.chunk.kind.name}, which holds no "
            "bytes (use .space / .zero there)",
            s.name,
        )
    if not s.args:
        raise AsmError(f"'{s.name}' needs at least one value")


def constant(node: Any, layout: Any, what: str) -> int:
    """An integer that must be known during layout (sizes, alignments, counts)."""
    try:
        return integer(node, layout)
    except NotConstant as e:
        raise AsmError(f"{what} must be a constant here: {e.message}", node) from None


# ---- values ------------------------------------------------------------------------------------


def _fixed_size(width: int) -> Callable[[Any, Any], None]:
    def layout(s: Any, lay: Any) -> None:
        require_data(s, lay)
        lay.chunk.size += width * len(s.args)

    return layout


def _int_emit(width: int) -> Callable[[Any, Any], None]:
    lo, hi = -(1 << (8 * width - 1)), (1 << (8 * width)) - 1

    def emit(s: Any, em: Any) -> None:
        out = bytearray()
        for arg in s.args:
            value = integer(arg, em.scope)
            if not lo <= value <= hi:
                raise AsmError(f"{value} does not fit '{s.name}' ({lo}..{hi})", arg)
            out += (value & hi).to_bytes(width, "little")
        em.write(s, out)

    return emit


def _dtype_emit(dtype: isa_dtypes.DType) -> Callable[[Any, Any], None]:
    def emit(s: Any, em: Any) -> None:
        out = bytearray()
        for arg in s.args:
            value = evaluate(arg, em.scope, floats=dtype.is_float)
            if isinstance(value, Rel):
                raise AsmError("expected a number", arg)
            if dtype.is_float:
                out += float_bits(value, dtype, arg, em).to_bytes(dtype.block_bytes, "little")
            else:
                try:
                    out += isa_dtypes.scalar_bytes(value, dtype)
                except isa_dtypes.DTypeError as e:
                    raise AsmError(str(e), arg) from None
        em.write(s, out)

    return emit


def _double_emit(s: Any, em: Any) -> None:
    out = bytearray()
    for arg in s.args:
        value = evaluate(arg, em.scope, floats=True)
        try:
            out += struct.pack("<d", float(value))  # type: ignore[arg-type]
        except (OverflowError, TypeError):
            raise AsmError(f"{value!r} does not fit a double", arg) from None
    em.write(s, out)


def _strings(s: Any, lay: Any) -> None:
    require_data(s, lay)
    zero = b"\0" if s.name in (".asciz", ".string") else b""
    s.extra = b"".join(parse_string(arg) + zero for arg in s.args)
    lay.chunk.size += len(s.extra)


def _write_extra(s: Any, em: Any) -> None:
    if s.extra:
        em.write(s, s.extra)


# ---- alignment and space -----------------------------------------------------------------------


def _align(s: Any, lay: Any) -> None:
    if not 1 <= len(s.args) <= 2:
        raise AsmError(f"'{s.name}' takes an alignment and an optional fill byte")
    amount = constant(s.args[0], lay, "the alignment")
    if s.name == ".balign":
        alignment = amount
        if alignment < 1 or alignment & (alignment - 1) or alignment > MAX_ALIGN:
            raise AsmError(f".balign {amount}: not a power of two up to {MAX_ALIGN}", s.args[0])
    else:
        if not 0 <= amount <= 24:
            raise AsmError(f"'{s.name} {amount}': the power of two must be 0..24", s.args[0])
        alignment = 1 << amount
    fill = _fill_byte(s, lay, 1)
    chunk = lay.chunk
    pad = -chunk.size % alignment
    chunk.align = max(chunk.align, alignment)
    s.extra = (pad, fill)
    chunk.size += pad


def _fill_byte(s: Any, lay: Any, index: int) -> int | None:
    if len(s.args) <= index:
        return None
    fill = constant(s.args[index], lay, "the fill value")
    if not -128 <= fill <= 255:
        raise AsmError(f"fill value {fill} does not fit a byte (-128..255)", s.args[index])
    if fill and lay.chunk.kind.nobits:
        raise AsmError(f"{lay.chunk.kind.name} holds no bytes: the fill must be 0", s.args[index])
    return fill & 0xFF


def _align_emit(s: Any, em: Any) -> None:
    pad, fill = s.extra
    if not pad or s.chunk.kind.nobits:
        return
    if fill is None and s.chunk.kind.executable and pad % 8 == 0 and s.offset % 8 == 0:
        em.write(s, em.nop * (pad // 8))  # padding between instructions executes as nops
    else:
        em.write(s, bytes([fill or 0]) * pad)


def _space(s: Any, lay: Any) -> None:
    if not 1 <= len(s.args) <= (1 if s.name == ".zero" else 2):
        raise AsmError(
            f"'{s.name}' takes a size"
            + (" and an optional fill byte" if s.name == ".space" else "")
        )
    size = constant(s.args[0], lay, "the size")
    if not 0 <= size <= MAX_SPACE:
        raise AsmError(f"size {size} is not in 0..{MAX_SPACE}", s.args[0])
    s.extra = (size, _fill_byte(s, lay, 1) or 0)
    lay.chunk.size += size


def _space_emit(s: Any, em: Any) -> None:
    size, fill = s.extra
    if size and not s.chunk.kind.nobits:
        em.write(s, bytes([fill]) * size)


#: name -> (layout, emit), for asm.directives
DIRECTIVES = {
    ".byte": (_fixed_size(1), _int_emit(1)),
    ".half": (_fixed_size(2), _int_emit(2)),
    ".word": (_fixed_size(4), _int_emit(4)),
    ".dword": (_fixed_size(8), _int_emit(8)),
    ".double": (_fixed_size(8), _double_emit),
    ".ascii": (_strings, _write_extra),
    ".asciz": (_strings, _write_extra),
    ".string": (_strings, _write_extra),
    ".align": (_align, _align_emit),
    ".p2align": (_align, _align_emit),
    ".balign": (_align, _align_emit),
    ".space": (_space, _space_emit),
    ".zero": (_space, _space_emit),
}
for _dtype in isa_dtypes.DTYPES:
    if not _dtype.is_quant:
        DIRECTIVES["." + _dtype.name] = (_fixed_size(_dtype.block_bytes), _dtype_emit(_dtype))
for _alias, _target in ((".float", ".fp32"), (".fp8", ".fp8e4m3")):
    DIRECTIVES[_alias] = DIRECTIVES[_target]
