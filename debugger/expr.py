"""jdb's expression language: what `print`, `display`, `set var` and breakpoint conditions read.

A small language of our own, parsed by Lark (debugger/expr.lark) and interpreted here over a
machine state (iss.state.MachineState) and the program's symbols (isa.elf.Program). User text
is never handed to Python's eval: only the operations below exist.

Values
    42  0x2a  0b101  0o17  1_000      integers (Python's arbitrary precision; no wrap-around)
    1.5  .5  1e-3                      floats (Python float; fp32 registers stay np.float32)
    x5 t0 a0 sp fp zero                integer registers, read as signed 64-bit values
    f3                                 fp32 register (np.float32, bit-exact)
    d2                                 tile descriptor; `*d2` or `tile(d2)` is its NumPy array
    sem4  pc                           semaphore count, program counter
    cycle instret lcount ldepth scratch   CSRs (`$name` always means the CSR or register,
                                       even where a program symbol has the same name)
    label  .equ-name                   a symbol's value (an address or constant)
    x  w  (I/O names)                  the tensor of a `.input/.output/.weight/.tensor` entry,
                                       as a NumPy array of its dtype and shape (quantised
                                       tensors dequantised to fp32); `&x` is its address
    $name                              a convenience variable the debugger defined

Memory
    sram[a:b]  sram[a:+n]  sram[a]     bytes [a, b), n bytes from a, one element at a; `a` is
    dram[..]  acc[..]                  an offset in that memory, or an absolute address in
                                       its window (so labels work); `mem[..]` is absolute
    .int8 .int32 .fp8e4m3 .fp8e5m2 .bf16 .fp16 .fp32 .q4_1 .q8_0 .u8
                                       reinterpret a memory view's bytes as that dtype (raw
                                       bytes without a suffix); on an array or number the
                                       suffix converts instead (RNE, as `vcvt`)
    &sram[a]                           the absolute address of a memory view

Operators, loosest first (C precedence)
    ||   &&   |   ^   &   == !=   < <= > >=   << >>   + -   * / // %   unary - + ~ ! * &
    `/` is true division, `//` floor division, `%` floor modulo, `>>` arithmetic shift — as
    in Python. Comparisons and `!` give true/false (element-wise on arrays); `&&`, `||`
    short-circuit and need single truth values.
    v[i]  v[i, j]  v[a:b]  v[a:b:s]  v[a:+n]  v.T  v.reshape(8, 32)  v.shape
    v.sum() .min() .max() .mean() .std() .any() .all() .argmax() .argmin() .flatten()
    tile(d)  abs(v)  int(v)  float(v)

Every failure — bad syntax, an unknown name, an address outside memory, a bad reshape — is an
ExprError with a one-line message; syntax errors also carry the column for a caret.
"""

from __future__ import annotations

import difflib
import functools
import operator
import re
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from isa import dtypes
from isa.elf import IoEntry, Program
from isa.memmap import REGION_SPAN, REGIONS
from isa.registers import CSR_BY_NAME, DREG_NAMES, FREG_NAMES, SEM_NAMES, XREG_NAMES
from iss import tiles
from iss.errors import Trap
from iss.runtime import storage_shape
from iss.state import MachineState

MEMORIES = (*REGIONS, "mem")  #: names that index memory: sram, dram, acc by offset, mem absolute
RAW = "u8"  #: the suffix for raw bytes
DTYPE_SUFFIXES = (*dtypes.NAMES, RAW)  #: every `.dtype` suffix
METHODS = ("reshape", "sum", "min", "max", "mean", "std", "any", "all", "argmax", "argmin",
           "flatten", "transpose")  # fmt: skip
ATTRIBUTES = ("T", "shape", "size", "ndim")  #: attributes of arrays
DESC_FIELDS = ("base", "rows", "cols", "stride", "depth", "plane", "dtype")  #: of descriptors
FUNCTIONS = ("tile", "abs", "int", "float")  #: callable names
CONSTANTS = {"inf": float("inf"), "nan": float("nan"), "true": True, "false": False}
MAX_VIEW_BYTES = 64 << 20  #: largest memory view one expression may copy
MAX_SHIFT = 4096  #: largest shift count: Python ints grow without bound, the debugger must not
MASK64 = (1 << 64) - 1


@functools.cache
def _parser() -> Lark:
    # Built on first use: building the LALR tables costs more than the rest of the import.
    grammar = (Path(__file__).parent / "expr.lark").read_text()
    return Lark(grammar, parser="lalr", maybe_placeholders=True)


_STORAGE_TO_DTYPE = {t.storage: t for t in dtypes.DTYPES if not t.is_quant}


class ExprError(ValueError):
    """An expression that cannot be parsed or evaluated. `str()` is one line; `column` (1-based)
    is set for syntax errors so the UI can draw a caret with `show`."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.column = column

    def show(self, text: str) -> str:
        """The message, then `text` with a caret under the error column when there is one."""
        if self.column is None:
            return str(self)
        return f"{self}\n  {text}\n  {' ' * (self.column - 1)}^"


@dataclass(frozen=True)
class MemRef:
    """A not-yet-read run of memory: `nbytes` at absolute `address`, typed by `dtype` (None:
    raw bytes). `single` marks `mem[a]`: one element, read as a scalar."""

    address: int
    nbytes: int
    single: bool = False
    dtype: dtypes.DType | None = None


@functools.lru_cache(maxsize=512)
def parse(text: str) -> Tree | Token:
    """The syntax tree of `text` (cached: breakpoint conditions are parsed once); ExprError."""
    if not text.strip():
        raise ExprError("empty expression")
    try:
        return _parser().parse(text)
    except UnexpectedCharacters as e:
        raise ExprError(
            f"syntax error at column {e.column}: unexpected character {text[e.pos_in_stream]!r}",
            e.column,
        ) from None
    except UnexpectedEOF:
        col = len(text) + 1
        raise ExprError(
            f"syntax error at column {col}: unexpected end of expression", col
        ) from None
    except UnexpectedToken as e:
        if e.token.type == "$END":
            col = len(text) + 1
            raise ExprError(
                f"syntax error at column {col}: unexpected end of expression", col
            ) from None
        raise ExprError(
            f"syntax error at column {e.column}: unexpected {e.token!s}", e.column
        ) from None
    except UnexpectedInput as e:  # any other lark complaint still becomes one line
        raise ExprError(f"syntax error: {e}".splitlines()[0]) from None


def _parse_int(text: str) -> int:
    digits = text.replace("_", "")
    if digits[:2].lower() in ("0x", "0b", "0o"):
        return int(digits, 0)
    return int(digits, 10)


def _shift(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def shift(a: Any, b: Any) -> Any:
        counts = np.asarray(b)
        if counts.dtype.kind not in "iub":
            raise ExprError("shift counts must be integers")
        if np.any(counts < 0) or np.any(counts > MAX_SHIFT):
            raise ExprError(f"shift count outside 0..{MAX_SHIFT}")
        return op(a, b)

    return shift


def _compare(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def compare(a: Any, b: Any) -> Any:
        result = op(a, b)
        return bool(result) if np.ndim(result) == 0 else result

    return compare


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "shl": _shift(operator.lshift),
    "shr": _shift(operator.rshift),
    "bit_and": operator.and_,
    "bit_or": operator.or_,
    "bit_xor": operator.xor,
    "eq": _compare(operator.eq),
    "ne": _compare(operator.ne),
    "lt": _compare(operator.lt),
    "le": _compare(operator.le),
    "gt": _compare(operator.gt),
    "ge": _compare(operator.ge),
}
_UNARY: dict[str, Callable[[Any], Any]] = {
    "neg": operator.neg,
    "pos": operator.pos,
    "inv": operator.invert,
}


def _integer(value: Any, what: str) -> int:
    """`value` as a Python int (ints, integral floats, one-element arrays); ExprError else."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    raise ExprError(f"{what} must be an integer, not {_kind(value)}")


def _kind(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array {value.dtype}{list(value.shape)}"
    if isinstance(value, tiles.Desc):
        return "a tile descriptor"
    if isinstance(value, float | np.floating):
        return f"the float {value}"
    return type(value).__name__


def _host_array(value: Any) -> np.ndarray:
    """`value` as an array `dtypes.cast` accepts (plain J1 storage, int64 or float64)."""
    array = np.asarray(value)
    if array.dtype in _STORAGE_TO_DTYPE or array.dtype in (np.int64, np.float64):
        return array
    if array.dtype.kind in "iub":
        return array.astype(np.int64)
    if array.dtype.kind == "f":
        return array.astype(np.float64)
    raise ExprError(f"cannot convert {_kind(value)} to a number")


class Evaluator:
    """Evaluates expressions against one machine state and program.

    `csr(name)` reads a CSR the state alone cannot give (the `cycle` counter lives in the
    timing model); `variables` are the debugger's convenience variables (`$1`, `$x`).
    """

    def __init__(self, state: MachineState, program: Program | None = None, *,
                 csr: Callable[[str], int] | None = None,
                 variables: Mapping[str, Any] | None = None) -> None:  # fmt: skip
        self.state = state
        self.program = program if program is not None else Program()
        self.csr = csr
        self.variables = variables if variables is not None else {}
        self.io: dict[str, IoEntry] = {e.name: e for e in self.program.io}
        self.symbols: dict[str, int] = {s.name: s.value for s in self.program.symbols}

    # -- public API ---------------------------------------------------------------------------
    def evaluate(self, text: str) -> Any:
        """The value of `text`: int, float, bool, NumPy scalar or array, tiles.Desc, tuple."""
        return self._guard(lambda: self._value(parse(text)))

    def truth(self, text: str) -> bool:
        """`text` as a breakpoint condition: its single truth value."""
        return self._guard(lambda: self._truth(self._eval(parse(text))))

    def assign(self, target: str, value: str) -> Any:
        """`set var target = value`: store `value` (converted to the target's type with RNE)
        into a register, semaphore, `scratch`, tensor, typed memory view or `$name` convenience
        variable; returns the new value of `target`."""
        target_tree = parse(target)
        rhs = self.evaluate(value)
        self._guard(lambda: self._store(target_tree, rhs))
        return self.evaluate(target)

    def reference(self, text: str) -> MemRef | None:
        """The memory `text` names when it is a memory view (`sram[0x100:+64]`, `mem[a].int32`),
        bounds-checked but not read; None for any other expression (watchpoints use this)."""
        tree = parse(text)
        if not _is_memory_ref(tree):
            return None
        return self._guard(lambda: self._eval(tree))

    def names(self) -> list[str]:
        """Every name an expression can start with, for completion."""
        regs = [*XREG_NAMES, *FREG_NAMES, *DREG_NAMES, *SEM_NAMES, "pc"]
        csrs = [*CSR_BY_NAME, *(f"${c}" for c in CSR_BY_NAME)]
        user = [f"${v}" for v in self.variables]
        return sorted({*regs, *csrs, *self.symbols, *self.io, *MEMORIES, *FUNCTIONS, *user})

    def complete(self, text: str) -> tuple[str, list[str]]:
        """(fragment, candidates) for tab completion at the end of `text`: replace the trailing
        `fragment` with a candidate. After a `.` the candidates are dtype suffixes, methods and
        attributes (descriptor fields after `dN.`); elsewhere names."""
        match = re.search(r"(\.?)(\$?\w*)$", text)
        dot, fragment = match.group(1), match.group(2)
        if dot:
            before = text[: match.start()]
            if re.search(r"(?<![\w$.])d\d+$", before):
                pool = list(DESC_FIELDS)
            else:
                pool = [*DTYPE_SUFFIXES, *METHODS, *ATTRIBUTES]
        else:
            pool = self.names()
        return fragment, sorted(c for c in pool if c.startswith(fragment))

    # -- errors -------------------------------------------------------------------------------
    @staticmethod
    def _guard(work: Callable[[], Any]) -> Any:
        """Run `work`, turning every failure into a one-line ExprError."""
        try:
            with np.errstate(all="ignore"):
                return work()
        except ExprError:
            raise
        except Trap as e:
            raise ExprError(e.reason) from None
        except RecursionError:
            raise ExprError("expression nested too deeply") from None
        except (ArithmeticError, ValueError, TypeError, IndexError, KeyError, MemoryError) as e:
            message = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ExprError(message) from None

    # -- evaluation ---------------------------------------------------------------------------
    def _value(self, node: Tree | Token) -> Any:
        return self._materialise(self._eval(node))

    def _eval(self, node: Tree | Token) -> Any:
        """The value of `node`; memory views stay MemRefs until something needs their data."""
        kind = node.data
        if kind in _BINARY:
            left, right = (self._value(child) for child in node.children)
            for side in (left, right):
                if isinstance(side, tiles.Desc):
                    raise ExprError("a tile descriptor has no arithmetic: use *dN for its data")
            return _BINARY[kind](left, right)
        if kind in _UNARY:
            operand = self._value(node.children[0])
            if isinstance(operand, tiles.Desc):
                raise ExprError("a tile descriptor has no arithmetic: use *dN for its data")
            return _UNARY[kind](operand)
        handler = getattr(self, f"_eval_{kind}")
        return handler(*node.children)

    def _eval_int_(self, token: Token) -> int:
        return _parse_int(token)

    def _eval_float_(self, token: Token) -> float:
        return float(token.replace("_", ""))

    def _eval_or_(self, left: Tree, right: Tree) -> bool:
        return self._truth(self._eval(left)) or self._truth(self._eval(right))

    def _eval_and_(self, left: Tree, right: Tree) -> bool:
        return self._truth(self._eval(left)) and self._truth(self._eval(right))

    def _eval_not_(self, operand: Tree) -> Any:
        value = self._value(operand)
        if isinstance(value, np.ndarray):
            return np.logical_not(value)
        return not self._truth(value)

    def _truth(self, value: Any) -> bool:
        value = self._materialise(value)
        if isinstance(value, np.ndarray):
            if value.size != 1:
                raise ExprError(
                    f"an array of {value.size} elements has no single truth value: "
                    "use .any() or .all()"
                )
            value = value.reshape(()).item()
        if isinstance(value, tiles.Desc | tuple | str):
            raise ExprError(f"{_kind(value)} has no truth value")
        return bool(value)

    def _eval_name(self, token: Token) -> Any:
        name = str(token)
        if name.startswith("$"):
            bare = name[1:]
            if bare in self.variables:
                return self.variables[bare]
            if bare in CSR_BY_NAME:
                return self._read_csr(bare)
            found = self._register(bare)
            if found is not None:
                return found
            raise ExprError(f"no convenience variable, register or CSR named {name}")
        found = self._register(name)
        if found is not None:
            return found
        if name in self.io:
            return self._tensor(self.io[name])
        if name in self.symbols:
            return self.symbols[name]
        if name in CSR_BY_NAME:
            return self._read_csr(name)
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in MEMORIES:
            raise ExprError(f"{name} is a memory: index it, e.g. {name}[0:+64].fp32")
        if name in FUNCTIONS:
            raise ExprError(f"{name} is a function: call it, e.g. {name}(...)")
        close = difflib.get_close_matches(name, self.names(), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ExprError(f"unknown name {name!r}{hint}")

    def _register(self, name: str) -> Any:
        """A register's value, or None if `name` names no register."""
        state = self.state
        if name in XREG_NAMES:
            return state.x(XREG_NAMES[name])
        if name in FREG_NAMES:
            return np.array(state.F[FREG_NAMES[name]], dtype=np.uint32).view(np.float32)[()]
        if name in DREG_NAMES:
            return state.D[DREG_NAMES[name]]
        if name in SEM_NAMES:
            return state.sems[SEM_NAMES[name]]
        if name == "pc":
            return state.pc
        return None

    def _read_csr(self, name: str) -> int:
        """A CSR as the next instruction would read it (as iss.core does)."""
        state = self.state
        local = {
            "instret": lambda: state.instret,
            "lcount": lambda: state.loops[-1][2] if state.loops else 0,
            "ldepth": lambda: len(state.loops),
            "scratch": lambda: state.scratch,
        }
        if name in local:
            return local[name]()
        if self.csr is not None:
            return self.csr(name)
        raise ExprError(f"CSR {name} needs the timing model (not available here)")

    def _tensor(self, entry: IoEntry, write: bool = False) -> np.ndarray:
        """The I/O tensor `entry` as an array (a copy, or for `write` a view into memory)."""
        if write:
            self._check_writable(entry.address, entry.nbytes)
        _, array, offset = self.state.memory.locate(entry.address, entry.nbytes, write=write)
        dtype = dtypes.by_name(entry.dtype)
        raw = array[offset : offset + entry.nbytes]
        if dtype.is_quant:
            if write:
                raise ExprError(f"{entry.name} is {dtype.name}: quantised tensors are read-only")
            return _dequantise(raw.reshape(storage_shape(entry)), dtype)
        data = raw.view(dtype.storage).reshape(entry.shape)
        return data if write else data.copy()

    def _eval_attr(self, base: Tree, name: Token) -> Any:
        dotted = _dotted(base, name)
        if dotted is not None and (dotted in self.io or dotted in self.symbols):
            return self._eval_name(Token("NAME", dotted))  # a label such as `loop.end`
        value = self._eval(base)
        name = str(name)
        if name in DTYPE_SUFFIXES:
            return _retype(value, name)
        if isinstance(value, tiles.Desc):
            if name == "dtype":
                return value.type.name
            if name in DESC_FIELDS:
                return getattr(value, name)
            raise ExprError(f"a descriptor has no field {name!r} (it has {', '.join(DESC_FIELDS)})")
        value = self._materialise(value)
        if name in ATTRIBUTES:
            array = np.asarray(value)
            return array.T if name == "T" else getattr(array, name)
        raise ExprError(f"no attribute {name!r}: dtype suffixes are {', '.join(DTYPE_SUFFIXES)}")

    def _eval_method(self, base: Tree, name: Token, args: Tree | None) -> Any:
        value = self._value(base)
        if isinstance(value, tiles.Desc):
            raise ExprError("a descriptor has no methods: use (*dN) for its data")
        array = np.asarray(value)
        values = self._args(args)
        name = str(name)
        if name == "reshape":
            return array.reshape(_shape_args(values))
        if name in ("flatten", "transpose"):
            if values:
                raise ExprError(f".{name}() takes no arguments")
            return getattr(array, name)()
        if name in METHODS:
            if len(values) > 1:
                raise ExprError(f".{name}() takes at most an axis")
            axis = _integer(values[0], "axis") if values else None
            wide = _widen(array) if name in ("sum", "mean", "std") else array
            result = getattr(wide, name)(axis=axis)
            return result[()] if isinstance(result, np.ndarray) and result.ndim == 0 else result
        raise ExprError(f"no method {name!r} (methods: {', '.join(METHODS)})")

    def _eval_call(self, name: Token, args: Tree | None) -> Any:
        values = self._args(args)
        name = str(name)
        if name not in FUNCTIONS:
            raise ExprError(f"unknown function {name!r} (functions: {', '.join(FUNCTIONS)})")
        if len(values) != 1:
            raise ExprError(f"{name}() takes one argument")
        (value,) = values
        if name == "tile":
            return self._tile(value)
        if name == "abs":
            return abs(value)
        if name == "int":
            array = np.asarray(value)
            return int(array.item()) if array.size == 1 else array.astype(np.int64)
        array = np.asarray(value)
        return float(array.item()) if array.size == 1 else _widen(array)

    def _args(self, args: Tree | None) -> list[Any]:
        return [] if args is None else [self._value(child) for child in args.children]

    def _eval_deref(self, operand: Tree) -> np.ndarray:
        return self._tile(self._value(operand))

    def _tile(self, desc: Any, write: bool = False) -> np.ndarray:
        if not isinstance(desc, tiles.Desc):
            raise ExprError(f"* and tile() need a tile descriptor, not {_kind(desc)}")
        data, _, _ = tiles.view(self.state.memory, desc, write=write)
        if desc.depth == 1:
            data = data[0]  # the usual 2-D tile
        if desc.type.is_quant:
            if write:
                raise ExprError(f"a {desc.type.name} tile is read-only here")
            return _dequantise(data, desc.type)
        return data if write else data.copy()

    def _eval_address_of(self, operand: Tree) -> int:
        if operand.data == "name":
            name = str(operand.children[0])
            if name in self.io:
                return self.io[name].address
            if name in self.symbols:
                return self.symbols[name]
        value = self._eval(operand)
        if isinstance(value, MemRef):
            return value.address
        if isinstance(value, tiles.Desc):
            return value.base
        raise ExprError(
            f"& needs a symbol, a tensor, a memory view or a descriptor, not {_kind(value)}"
        )

    def _eval_index(self, base: Tree, subscripts: Tree) -> Any:
        if base.data == "name" and str(base.children[0]) in MEMORIES:
            return self._memref(str(base.children[0]), subscripts.children)
        value = self._value(base)
        if isinstance(value, tiles.Desc):
            raise ExprError("index a tile's data, not its descriptor: (*dN)[i, j]")
        key = tuple(self._subscript(child) for child in subscripts.children)
        result = np.asarray(value)[key if len(key) > 1 else key[0]]
        return result[()] if isinstance(result, np.ndarray) and result.ndim == 0 else result

    def _subscript(self, node: Tree) -> Any:
        if node.data == "slice":
            bounds = [None if c is None else _integer(self._value(c), "a slice bound")
                      for c in node.children]  # fmt: skip
            return slice(*bounds)
        if node.data == "span":
            start, _, length = node.children
            first = 0 if start is None else _integer(self._value(start), "a slice start")
            return slice(first, first + _integer(self._value(length), "a length"))
        value = self._value(node)
        if isinstance(value, np.ndarray) and value.dtype.kind in "iub":
            return value  # index arrays and masks select as in NumPy
        return _integer(value, "an index")

    def _memref(self, memory: str, subscripts: list[Tree]) -> MemRef:
        if len(subscripts) != 1:
            raise ExprError(f"{memory}[...] takes one address or range")
        (node,) = subscripts
        if node.data == "slice":
            start, stop, step = node.children
            if step is not None:
                raise ExprError(f"{memory}[a:b] takes no step")
            if stop is None:
                raise ExprError(f"{memory}[a:b] needs an end (or a length: {memory}[a:+n])")
            first = self._start(memory, start)
            nbytes = self._address(memory, stop) - first
        elif node.data == "span":
            start, _, length = node.children
            first = self._start(memory, start)
            nbytes = _integer(self._value(length), "a length")
        else:
            return self._checked(MemRef(self._address(memory, node), 1, single=True))
        if nbytes <= 0:
            raise ExprError(f"empty memory range ({nbytes} bytes)")
        if nbytes > MAX_VIEW_BYTES:
            raise ExprError(f"{nbytes} bytes is more than one view may show ({MAX_VIEW_BYTES})")
        return self._checked(MemRef(first, nbytes))

    def _start(self, memory: str, node: Tree | None) -> int:
        """The first address of a range; `sram[:n]` starts at the memory's base."""
        return REGIONS.get(memory, 0) if node is None else self._address(memory, node)

    def _address(self, memory: str, node: Tree) -> int:
        value = self._value(node)
        if isinstance(value, MemRef):
            value = value.address
        address = _integer(value, "an address")
        if address < 0:
            raise ExprError(f"negative address {address}")
        if memory == "mem":
            return address
        base = REGIONS[memory]
        # An address already inside this memory's window is absolute (a label); else an offset.
        return address if base <= address < base + REGION_SPAN else base + address

    def _checked(self, ref: MemRef) -> MemRef:
        """`ref` after the bounds check (without touching deferred work yet)."""
        self.state.memory.locate(ref.address, ref.nbytes, write=False, touch=False)
        return ref

    def _check_writable(self, address: int, nbytes: int) -> None:
        """ExprError for memory the loader write-protected (.text, .rodata, weights): the
        program treats it as constant, and so does the simulator (iss.plans)."""
        what = self.state.memory.protection(address, nbytes)
        if what is not None:
            raise ExprError(f"{address:#x} is in the read-only {what}")

    def _materialise(self, value: Any, write: bool = False) -> Any:
        """A MemRef's data (a copy; a writable view for `write`); other values unchanged."""
        if not isinstance(value, MemRef):
            return value
        memory = self.state.memory
        if write:
            self._check_writable(value.address, value.nbytes)
        _, array, offset = memory.locate(value.address, value.nbytes, write=write)
        raw = array[offset : offset + value.nbytes]
        dtype = value.dtype
        if dtype is not None and dtype.is_quant:
            if write:
                raise ExprError(f"{dtype.name} memory is read-only here")
            return _dequantise(raw, dtype)
        data = raw if dtype is None else raw.view(dtype.storage)
        if not write:
            data = data.copy()
            if value.single:
                return data[0]
        return data

    # -- assignment ---------------------------------------------------------------------------
    def _store(self, node: Tree, value: Any) -> None:
        if node.data == "name":
            text = str(node.children[0])
            name = text.removeprefix("$")
            if self._store_register(name, value):
                return
            if text.startswith("$") and isinstance(self.variables, MutableMapping):
                self.variables[name] = value  # gdb's `set $name = value`
                return
            if name in self.io:
                _write(self._tensor(self.io[name], write=True), ..., value)
                return
            raise ExprError(f"cannot assign to {name}")
        target = self._eval(node) if _is_memory_ref(node) else None
        if isinstance(target, MemRef):
            view = self._materialise(target, write=True)
            _write(view, 0 if target.single else ..., value)
            return
        if node.data == "index" and not _is_memory(node.children[0]):
            base = self._view(node.children[0])
            _write(base, _key([self._subscript(c) for c in node.children[1].children]), value)
            return
        _write(self._view(node), ..., value)

    def _store_register(self, name: str, value: Any) -> bool:
        state = self.state
        if name in XREG_NAMES:
            index = XREG_NAMES[name]
            if index == 0:
                raise ExprError("x0 is hard-wired to zero")
            state.X[index] = _integer(value, name) & MASK64
        elif name in FREG_NAMES:
            state.F[FREG_NAMES[name]] = _fp32_bits(value)
        elif name in SEM_NAMES:
            count = _integer(value, name)
            if count < 0:
                raise ExprError("a semaphore count cannot be negative")
            state.sems[SEM_NAMES[name]] = count
        elif name == "pc":
            state.pc = _integer(value, "pc") & MASK64
        elif name == "scratch":
            state.scratch = _integer(value, "scratch") & MASK64
        elif name in DREG_NAMES:
            raise ExprError("descriptors are set by the program (tset), not by set var")
        elif name in CSR_BY_NAME:
            raise ExprError(f"CSR {name} is read-only")
        else:
            return False
        return True

    def _view(self, node: Tree) -> np.ndarray:
        """A writable NumPy view of the memory `node` names (the left side of `set var`)."""
        kind = node.data
        if kind == "name" and str(node.children[0]) in self.io:
            return self._tensor(self.io[str(node.children[0])], write=True)
        if kind in ("deref", "call"):
            if kind == "call" and str(node.children[0]) != "tile":
                raise ExprError("cannot assign to a function result")
            operand = node.children[0] if kind == "deref" else node.children[1].children[0]
            return self._tile(self._value(operand), write=True)
        if kind in ("index", "attr"):
            target = self._eval(node) if _is_memory_ref(node) else None
            if isinstance(target, MemRef):
                return self._materialise(target, write=True)
        if kind == "index":
            base = self._view(node.children[0])
            return _same_memory(
                base[_key([self._subscript(c) for c in node.children[1].children])], base
            )
        if kind == "attr" and str(node.children[1]) == "T":
            return self._view(node.children[0]).T
        if kind == "method" and str(node.children[1]) == "reshape":
            base = self._view(node.children[0])
            return _same_memory(base.reshape(_shape_args(self._args(node.children[2]))), base)
        raise ExprError("cannot assign to this expression (assign to a register, a tensor, "
                        "a typed memory view such as sram[0:+64].fp32, or *dN)")  # fmt: skip


def _is_memory(node: Tree) -> bool:
    return node.data == "name" and str(node.children[0]) in MEMORIES


def _is_memory_ref(node: Tree) -> bool:
    """True if `node` is `memory[...]` with only dtype suffixes after it."""
    while node.data == "attr" and str(node.children[1]) in DTYPE_SUFFIXES:
        node = node.children[0]
    return node.data == "index" and _is_memory(node.children[0])


def _key(parts: list[Any]) -> Any:
    return tuple(parts) if len(parts) > 1 else parts[0]


def _same_memory(view: Any, base: np.ndarray) -> np.ndarray:
    if not isinstance(view, np.ndarray) or not np.shares_memory(view, base):
        raise ExprError("cannot assign through a copy: index the final elements directly")
    return view


def _dotted(base: Tree, name: Token) -> str | None:
    """`a.b.c` as one string when `base` is a plain name (or chain of them), else None."""
    parts = [str(name)]
    while base.data == "attr":
        parts.append(str(base.children[1]))
        base = base.children[0]
    if base.data != "name":
        return None
    parts.append(str(base.children[0]))
    return ".".join(reversed(parts))


def _retype(value: Any, suffix: str) -> Any:
    """`.dtype` on a value: reinterpret a memory view, convert anything else (RNE)."""
    if isinstance(value, MemRef):
        if suffix == RAW:
            return replace(value, dtype=None, nbytes=1 if value.single else value.nbytes)
        dtype = dtypes.by_name(suffix)
        if value.single:
            if dtype.is_quant:
                raise ExprError(f"{suffix} is block-quantised: read a range of whole blocks")
            return replace(value, dtype=dtype, nbytes=dtype.block_bytes)
        if value.nbytes % dtype.block_bytes:
            unit = f"{dtype.block_bytes}-byte blocks" if dtype.is_quant else "elements"
            raise ExprError(f"{value.nbytes} bytes is not a whole number of {dtype.name} "
                            f"{unit} ({dtype.block_bytes} bytes each)")  # fmt: skip
        return replace(value, dtype=dtype)
    if isinstance(value, tiles.Desc):
        raise ExprError("a descriptor has no dtype suffix: use (*dN).dtype")
    if suffix == RAW:
        array = np.asarray(value)
        if array.ndim == 0 or (
            array.dtype.kind not in "iuf" and array.dtype not in _STORAGE_TO_DTYPE
        ):
            raise ExprError(".u8 gives the raw bytes of an array")
        return np.ascontiguousarray(array).view(np.uint8).reshape(-1)
    dtype = dtypes.by_name(suffix)
    result = dtypes.cast(_host_array(value), dtype)
    return result[()] if result.ndim == 0 else result


def _dequantise(data: np.ndarray, dtype: dtypes.DType) -> np.ndarray:
    unpack = dtypes.unpack_q4_1 if dtype.name == "q4_1" else dtypes.unpack_q8_0
    return unpack(np.ascontiguousarray(data))


def _widen(array: np.ndarray) -> np.ndarray:
    """Floats of every width as float64 (bf16/fp8 sums would otherwise round at each step)."""
    plain = _STORAGE_TO_DTYPE.get(array.dtype)
    if array.dtype.kind == "f" or (plain is not None and plain.is_float):
        return array.astype(np.float64)
    return array


def _shape_args(values: list[Any]) -> tuple[int, ...]:
    if len(values) == 1 and isinstance(values[0], tuple):
        values = list(values[0])
    if not values:
        raise ExprError(".reshape() needs a shape")
    return tuple(_integer(v, "a dimension") for v in values)


def _fp32_bits(value: Any) -> int:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(())[()]
    if isinstance(value, np.float32):
        return int(np.array(value).view(np.uint32))
    if isinstance(value, tiles.Desc | tuple | str | np.ndarray):
        raise ExprError(f"an fp32 register takes a number, not {_kind(value)}")
    return int(np.array(float(value), dtype=np.float64).astype(np.float32).view(np.uint32))


def _write(view: np.ndarray, key: Any, value: Any) -> None:
    """Store `value` into `view[key]`, converted to the view's dtype (RNE; raw bytes 0..255)."""
    if isinstance(value, tiles.Desc | tuple | str):
        raise ExprError(f"cannot store {_kind(value)} in memory")
    if view.dtype == np.uint8:
        data = np.asarray(value)
        if data.dtype.kind not in "iub" or np.any((data < 0) | (data > 255)):
            raise ExprError("raw bytes take integers 0..255 (add a dtype suffix for others)")
        view[key] = data.astype(np.uint8)
        return
    view[key] = dtypes.cast(_host_array(value), _STORAGE_TO_DTYPE[view.dtype])


def evaluate(text: str, state: MachineState, program: Program | None = None) -> Any:
    """Shorthand for `Evaluator(state, program).evaluate(text)`."""
    return Evaluator(state, program).evaluate(text)


__all__ = ["DTYPE_SUFFIXES", "MEMORIES", "Evaluator", "ExprError", "MemRef", "evaluate", "parse"]
