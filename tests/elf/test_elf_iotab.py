"""The .j1.iotab format: its documented bytes, and encode/decode as inverses."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isa import dtypes
from isa.elf import ElfError, IoEntry
from isa.elf.iotab import decode_iotab, encode_iotab


def test_documented_layout():
    entry = IoEntry("x", "output", "bf16", (2, 3), 0x1000, 12)
    expected = (
        b"J1IO"
        + struct.pack("<HHI", 1, 0, 1)
        + struct.pack("<H", 1)
        + b"x"
        + bytes([1, 4])
        + b"bf16"
        + bytes([2])
        + struct.pack("<QQ", 2, 3)
        + struct.pack("<QQ", 0x1000, 12)
    )
    assert encode_iotab([entry]) == expected
    assert decode_iotab(expected) == [entry]


def test_empty_table():
    assert decode_iotab(encode_iotab([])) == []


entries = st.builds(
    IoEntry,
    st.text(st.characters(codec="utf-8", exclude_characters="\0"), min_size=1, max_size=20),
    st.sampled_from(["input", "output", "weight", "tensor"]),
    st.sampled_from(dtypes.NAMES),
    st.lists(st.integers(1, 2**64 - 1), max_size=8).map(tuple),
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**64 - 1),
)


@given(st.lists(entries, max_size=6))
def test_decode_inverts_encode(table):
    assert decode_iotab(encode_iotab(table)) == table


@given(st.lists(entries, min_size=1, max_size=3), st.data())
def test_every_truncation_is_rejected(table, data):
    blob = encode_iotab(table)
    cut = data.draw(st.integers(0, len(blob) - 1))
    with pytest.raises(ElfError):
        decode_iotab(blob[:cut])
