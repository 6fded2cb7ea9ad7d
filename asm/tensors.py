"""Program I/O and data from files: `.input`, `.output`, `.weight`, `.tensor`, `.incbin`.

`.input/.output/.weight NAME, DTYPE, (SHAPE)` reserve a 64-byte aligned buffer in the NOBITS
section `.j1.io` and record it in the program's I/O table; `.tensor NAME, DTYPE, (SHAPE),
VALUES` places an initialised constant in `.rodata`, VALUES being numbers (a bracketed,
possibly nested list, or a plain list; one value fills the tensor) or a "file.npy" loaded
with allow_pickle=False. Sizes follow isa.dtypes.row_bytes (quantised rows are whole
32-element blocks). Values are converted as isa.dtypes.cast does (round to nearest even);
a value that overflows the type, or a non-integer / out-of-range value for an integer type,
is an error, never a silent saturation. NAME is a symbol (the buffer's address), and
`sizeof(NAME)` is its size in bytes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from asm.data import constant, require_data
from asm.diagnostics import AsmError
from asm.expr import MAX_DEPTH, Rel, evaluate
from asm.literals import parse_string
from asm.source import MAX_FILE_BYTES, find_file
from asm.syntax import LIST, PAREN, TUPLE
from isa import dtypes as isa_dtypes

IO_ALIGN = 64
MAX_ELEMENTS = 1 << 24  #: elements of one .tensor constant (bind larger ones at run time)
MAX_IO_BYTES = 1 << 32  #: bytes of one .input/.output/.weight buffer


@dataclass(frozen=True)
class IoInfo:
    """What the I/O table records about a named tensor (its address comes from the symbol)."""

    role: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int


def _header(s: Any, lay: Any, count: int) -> tuple[str, isa_dtypes.DType, tuple[int, ...], int]:
    usage = f"{s.name} NAME, DTYPE, (SHAPE)" + (", VALUES" if s.name == ".tensor" else "")
    if len(s.args) < count or (s.name != ".tensor" and len(s.args) > count):
        raise AsmError(f"expected {usage}")
    name, dtype_node, shape_node = s.args[:3]
    if type(name) is tuple or name.type != "WORD":
        raise AsmError(f"expected a name: {usage}", name)
    if type(dtype_node) is tuple or dtype_node.type != "WORD":
        raise AsmError(f"expected a data type ({', '.join(isa_dtypes.NAMES)})", dtype_node)
    try:
        dtype = isa_dtypes.by_name(str(dtype_node))
    except isa_dtypes.DTypeError as e:
        raise AsmError(str(e), dtype_node) from None
    shape = _shape(shape_node, lay)
    try:
        nbytes = isa_dtypes.row_bytes(dtype, shape[-1]) * math.prod(shape[:-1])
    except isa_dtypes.DTypeError as e:
        raise AsmError(str(e), shape_node) from None
    return str(name), dtype, shape, nbytes


def _shape(node: Any, lay: Any) -> tuple[int, ...]:
    if type(node) is tuple and node[0] == TUPLE:
        dims = node[2]
    elif type(node) is tuple and node[0] == PAREN:
        dims = (node[2],)
    else:
        dims = (node,)
    shape = tuple(constant(d, lay, "a dimension") for d in dims)
    for d, n in zip(dims, shape, strict=True):
        if not 1 <= n <= MAX_IO_BYTES:
            raise AsmError(f"dimension {n} is not in 1..{MAX_IO_BYTES}", d)
    return shape


def _place(s: Any, lay: Any, section: str, name: str, info: IoInfo) -> None:
    chunk = lay.section(section)
    chunk.align = max(chunk.align, IO_ALIGN)
    chunk.size += -chunk.size % IO_ALIGN
    sym = lay.define(name, s)
    sym.chunk, sym.offset = chunk, chunk.size
    sym.kind, sym.size, sym.io = "object", info.nbytes, info
    s.chunk, s.offset = chunk, chunk.size
    chunk.size += info.nbytes
    lay.io.append(sym)


def _io(s: Any, lay: Any) -> None:
    name, dtype, shape, nbytes = _header(s, lay, 3)
    if nbytes > MAX_IO_BYTES:
        raise AsmError(f"{name} needs {nbytes} bytes (limit {MAX_IO_BYTES})", s.args[2])
    _place(s, lay, ".j1.io", name, IoInfo(s.name[1:], dtype.name, shape, nbytes))


def _tensor(s: Any, lay: Any) -> None:
    name, dtype, shape, nbytes = _header(s, lay, 4)
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        raise AsmError(f"{name} has {count} elements (limit {MAX_ELEMENTS})", s.args[2])
    values = s.args[3:]
    if len(values) == 1 and type(values[0]) is not tuple and values[0].type == "STRING":
        array = _load_npy(values[0], s, lay, shape)
    else:
        array = _values(values, lay, shape, count)
    data = tensor_bytes(array, dtype, s.args[3])
    _place(s, lay, ".rodata", name, IoInfo("tensor", dtype.name, shape, nbytes))
    s.extra = data


def _values(nodes: tuple, lay: Any, shape: tuple[int, ...], count: int) -> np.ndarray:
    flat: list[Any] = []
    stack = [(n, 0) for n in reversed(nodes)]
    while stack:
        node, depth = stack.pop()
        if type(node) is tuple and node[0] == LIST:
            if depth > MAX_DEPTH:
                raise AsmError("list nested too deeply", node)
            stack += [(n, depth + 1) for n in reversed(node[2])]
            continue
        value = evaluate(node, lay, floats=True)
        if isinstance(value, Rel):
            raise AsmError("tensor values are numbers, not label addresses", node)
        flat.append(value)
        if len(flat) > count:
            raise AsmError(f"more than the {count} values the shape {shape} holds", node)
    if len(flat) == 1:
        flat *= count
    if len(flat) != count:
        raise AsmError(f"{len(flat)} values given; the shape {shape} holds {count}", nodes[0])
    is_int = all(type(v) is int for v in flat)
    if is_int and all(-(1 << 63) <= v < 1 << 63 for v in flat):
        return np.array(flat, dtype=np.int64).reshape(shape)
    return np.array([float(v) for v in flat], dtype=np.float64).reshape(shape)


def _load_npy(node: Any, s: Any, lay: Any, shape: tuple[int, ...]) -> np.ndarray:
    name = parse_string(node).decode("utf-8", "replace")
    path = find_file(name, s.unit.path, lay.include_dirs)
    if path is None:
        raise AsmError(f"cannot find '{name}'", node)
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as e:
        raise AsmError(f"cannot load '{name}': {e}", node) from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        raise AsmError(
            f"'{name}' holds {getattr(array, 'dtype', 'no array')}, not numbers "
            "(save bf16/fp8 data as float32)",
            node,
        )
    if array.shape != shape:
        raise AsmError(f"'{name}' has shape {array.shape}, not {shape}", node)
    return array


def tensor_bytes(array: np.ndarray, dtype: isa_dtypes.DType, node: Any) -> bytes:
    """Storage bytes of `array` in `dtype`; AsmError for values the type cannot hold."""
    if array.dtype.kind in "biu" and array.dtype.itemsize < 8:
        array = array.astype(np.int64)
    elif array.dtype.kind == "f" and array.dtype not in (np.float16, np.float32):
        array = array.astype(np.float64)
    if dtype.is_int:
        info = np.iinfo(dtype.storage)
        bad = ~np.isfinite(array) | (array != np.round(array)) if array.dtype.kind == "f" else None
        if bad is not None and bad.any():
            raise AsmError(
                f"{dtype.name} values must be integers, got {array[bad][0].item()!r}", node
            )
        out_of_range = (array < info.min) | (array > info.max)
        if out_of_range.any():
            bad_value = array[out_of_range][0].item()
            message = f"{bad_value!r} is out of {dtype.name} range ({info.min}..{info.max})"
            raise AsmError(message, node)
        return isa_dtypes.cast(array, dtype).astype(dtype.storage.newbyteorder("<")).tobytes()
    wide = array.astype(np.float64)
    if dtype.is_quant:
        if not np.isfinite(wide).all() or (np.abs(wide) > np.finfo(np.float32).max).any():
            raise AsmError(f"{dtype.name} can only quantise finite fp32 values", node)
        pack = isa_dtypes.pack_q4_1 if dtype.name == "q4_1" else isa_dtypes.pack_q8_0
        return pack(wide.astype(np.float32)).tobytes()
    result = isa_dtypes.cast(array if array.dtype != np.float64 else wide, dtype)
    overflow = np.isfinite(wide) & ~np.isfinite(result.astype(np.float64))
    if overflow.any():
        raise AsmError(f"{wide[overflow][0].item()!r} overflows {dtype.name}", node)
    return result.view(f"u{dtype.block_bytes}").astype(f"<u{dtype.block_bytes}").tobytes()


def _incbin(s: Any, lay: Any) -> None:
    require_data(s, lay)
    if len(s.args) > 3:
        raise AsmError('expected .incbin "FILE"[, SKIP[, COUNT]]', s.args[3])
    name = parse_string(s.args[0]).decode("utf-8", "replace")
    path = find_file(name, s.unit.path, lay.include_dirs)
    if path is None:
        raise AsmError(f"cannot find '{name}'", s.args[0])
    skip = constant(s.args[1], lay, "the offset") if len(s.args) > 1 else 0
    try:
        size = os.path.getsize(path)
        if not 0 <= skip <= size:
            raise AsmError(f"offset {skip} is not in 0..{size} (the size of '{name}')", s.args[1])
        if size - skip > MAX_FILE_BYTES:
            raise AsmError(f"'{name}' is larger than {MAX_FILE_BYTES} bytes", s.args[0])
        with open(path, "rb") as f:
            f.seek(skip)
            data = f.read(MAX_FILE_BYTES)
    except OSError as e:
        raise AsmError(f"cannot read '{name}': {e.strerror or e}", s.args[0]) from None
    if len(s.args) > 2:
        count = constant(s.args[2], lay, "the count")
        if not 0 <= count <= len(data):
            raise AsmError(
                f"count {count} is not in 0..{len(data)} (bytes after the offset)", s.args[2]
            )
        data = data[:count]
    s.extra = data
    lay.chunk.size += len(data)


def _write(s: Any, em: Any) -> None:
    if s.extra:
        em.write(s, s.extra)


#: name -> (layout, emit), for asm.directives
DIRECTIVES = {
    ".input": (_io, None),
    ".output": (_io, None),
    ".weight": (_io, None),
    ".tensor": (_tensor, _write),
    ".incbin": (_incbin, _write),
}
