"""The rig for engine semantics tests: place NumPy arrays as tiles in a fresh j1-mini
machine, run one instruction through encode -> decode -> EngineOp -> SEMANTICS, read back."""

from __future__ import annotations

import struct
from functools import cache

import ml_dtypes
import numpy as np
import pytest

import isa
from isa import dtypes
from isa.machine import Machine, load_machine
from isa.memmap import REGIONS
from iss import tiles
from iss.engines import SEMANTICS
from iss.engines.base import EngineOp
from iss.errors import Trap
from iss.state import MachineState

PC = 0x1000
FLOATS = ("fp8e4m3", "fp8e5m2", "bf16", "fp16", "fp32")
PLAIN = ("int8", "int32", *FLOATS)


@cache
def mini() -> Machine:
    return load_machine("j1-mini")


def bits(a: np.ndarray) -> np.ndarray:
    """The raw bit patterns of an array (for exact comparisons, NaN included)."""
    a = np.ascontiguousarray(a)
    return a.view(f"u{a.dtype.itemsize}")


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal values, with NaN equal to NaN and -0 distinct from +0 (payloads ignored)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind in "iu":
        return bool(np.array_equal(a, b))
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    nan = np.isnan(a64)
    return bool(
        np.array_equal(nan, np.isnan(b64)) and np.array_equal(bits(a64[~nan]), bits(b64[~nan]))
    )


def storage(name: str) -> np.dtype:
    return dtypes.by_name(name).storage


def random_values(rng: np.random.Generator, shape, name: str, special: bool = True) -> np.ndarray:
    """Random values of dtype `name`: ints over their whole range, floats spread over many
    magnitudes, with some zeros of both signs, infinities and NaNs when `special`."""
    t = dtypes.by_name(name)
    if t.is_int:
        info = np.iinfo(t.storage)
        return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(t.storage)
    top = float(ml_dtypes.finfo(t.storage).max)
    x = rng.standard_normal(shape) * np.exp2(rng.integers(-8, 8, size=shape))
    x = np.clip(x, -top, top)
    if special:
        pick = rng.random(shape)
        x = np.where(pick < 0.03, 0.0, x)
        x = np.where((pick >= 0.03) & (pick < 0.05), -0.0, x)
        x = np.where((pick >= 0.05) & (pick < 0.06), np.nan, x)
        x = np.where((pick >= 0.06) & (pick < 0.07), np.inf * np.sign(x - 0.5), x)
    with np.errstate(all="ignore"):
        return dtypes.cast(x, t)


class Rig:
    """A fresh j1-mini machine with a bump allocator per memory."""

    def __init__(self) -> None:
        self.state = MachineState(mini())
        self.free = {name: base + 0x100 for name, base in REGIONS.items()}

    def alloc(self, memory: str, nbytes: int) -> int:
        address = self.free[memory]
        self.free[memory] = address + (nbytes + 63) // 64 * 64 + 64
        return address

    def put(self, reg: int, array: np.ndarray, dtype: str, memory: str = "sram",
            pad: int = 0, address: int | None = None) -> tiles.Desc:  # fmt: skip
        """Write a 2-D `array` (raw bytes for quantised dtypes) as tile d`reg`; rows are
        `pad` bytes further apart than dense."""
        t = dtypes.by_name(dtype)
        data = np.asarray(array)
        rows = data.shape[0]
        cols = data.shape[1] // t.block_bytes * t.block if t.is_quant else data.shape[1]
        desc = tiles.dense(0, rows, cols, t.code)
        stride = desc.stride + pad
        if address is None:
            address = self.alloc(memory, rows * stride)
        desc = desc._replace(base=address, stride=stride, plane=rows * stride)
        self.state.D[reg] = desc
        tiles.view(self.state.memory, desc)[0][0][...] = data.astype(t.storage, copy=False)
        return desc

    def place(self, reg: int, shape: tuple[int, int], dtype: str, memory: str = "sram",
              pad: int = 0) -> tiles.Desc:  # fmt: skip
        """An uninitialised (zero) tile d`reg` of `shape`."""
        t = dtypes.by_name(dtype)
        cols = shape[1] // t.block * t.block_bytes if t.is_quant else shape[1]
        return self.put(reg, np.zeros((shape[0], cols), t.storage), dtype, memory, pad)

    def get(self, reg: int) -> np.ndarray:
        """A copy of tile d`reg` (2-D, or 3-D when its depth is not 1)."""
        view = tiles.view(self.state.memory, self.state.D[reg])[0].copy()
        return view[0] if self.state.D[reg].depth == 1 else view

    def set_f(self, reg: int, value: float) -> None:
        self.state.F[reg] = struct.unpack("<I", struct.pack("<f", np.float32(value)))[0]

    def set_x(self, reg: int, value: int) -> None:
        self.state.X[reg] = value & ((1 << 64) - 1)

    def run(self, mnemonic: str, **fields: int) -> EngineOp:
        """Execute `mnemonic` (flag suffixes allowed) with the given operand fields."""
        resolved = isa.split_mnemonic(mnemonic)
        assert resolved is not None, mnemonic
        spec, flags = resolved
        word = isa.encode(spec, {**fields, **dict.fromkeys(flags, 1)})
        op = EngineOp(self.state, isa.decode(word), pc=PC, engine=spec.engine)
        SEMANTICS[spec.mnemonic](op)
        return op

    def trap(self, kind: str, mnemonic: str, **fields: int) -> Trap:
        """Run `mnemonic` expecting a trap of `kind`; returns it."""
        with pytest.raises(Trap) as info:
            self.run(mnemonic, **fields)
        assert info.value.kind == kind, str(info.value)
        return info.value
