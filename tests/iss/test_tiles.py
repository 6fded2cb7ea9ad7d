"""Byte-set reasoning about tiles, checked against the bytes themselves: `covers` (iss.pruning
skips copies and checks with it), `disjoint` and `protection` are never wrong when they
answer yes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from isa import dtypes
from isa.machine import load_machine
from iss import tiles
from iss.memory import Memory
from iss.tiles import Desc

FP32 = dtypes.by_name("fp32").code
DRAM = 0x1000  # any base in DRAM: the tests work with byte offsets from it


def bytes_of(d: Desc) -> set[int]:
    return {d.base + p * d.plane + r * d.stride + b for p in range(d.depth)
            for r in range(d.rows) for b in range(d.row_bytes)}  # fmt: skip


@st.composite
def descs(draw, depth: bool = False) -> Desc:
    cols = draw(st.integers(1, 6))
    return Desc(base=DRAM + 4 * draw(st.integers(0, 40)), rows=draw(st.integers(1, 5)),
                cols=cols, dtype=FP32, stride=4 * draw(st.sampled_from([0, 2, 4, 6, 8])),
                depth=draw(st.integers(1, 3)) if depth else 1,
                plane=4 * draw(st.integers(0, 30)))  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(descs(), descs())
def test_covers_and_disjoint_agree_with_the_bytes(d, e):
    if tiles.covers(d, e):
        assert bytes_of(e) <= bytes_of(d)
    if tiles.disjoint(d, e):
        assert not bytes_of(d) & bytes_of(e)


def test_covers_the_tile_itself_and_its_sub_tiles():
    d = Desc(DRAM, 4, 8, FP32, 64)
    assert tiles.covers(d, d)
    assert tiles.covers(d, Desc(DRAM + 64 + 8, 2, 4, FP32, 64))  # rows 1-2, cols 2-5
    assert not tiles.covers(d, Desc(DRAM + 64 + 24, 2, 4, FP32, 64))  # cols 6-9
    assert not tiles.covers(d, Desc(DRAM + 3 * 64, 2, 4, FP32, 64))  # rows 3-4


@settings(max_examples=300, deadline=None)
@given(descs(depth=True), st.integers(0, 200), st.integers(1, 40))
def test_protection_is_exact_for_strided_tiles(d, start, length):
    memory = Memory(load_machine("j1"))
    lo = DRAM + start
    memory.protect([(lo, lo + length, ".weight w")])
    hit = bool(bytes_of(d) & set(range(lo, lo + length)))
    assert (tiles.protection(memory, d) is not None) == hit
