"""The `.j1.iotab` section: the program's named inputs, outputs, weights and tensors.

Format version 1. All integers are little-endian; there is no padding.

    header   magic      4 bytes   b"J1IO"
             version    u16       1
             reserved   u16       0
             count      u32       number of entries that follow

    entry    name_len   u16       1..4096
             name       name_len bytes of UTF-8, no NUL
             role       u8        0 input, 1 output, 2 weight, 3 tensor
             dtype_len  u8        1..255
             dtype      dtype_len bytes of ASCII: an isa.dtypes name ("bf16", "q4_1", ...)
             rank       u8        0..8
             shape      rank x u64, each >= 1
             address    u64       first byte of the tensor in the J1 address map
             nbytes     u64       its storage size

The table ends exactly after the last entry. A reader rejects another magic or version, a
non-zero reserved field, unknown role codes, truncated entries and trailing bytes; the
meaning of the fields (dtype names, shapes, sizes, placement inside a section) is checked by
isa.elf.rules. Dtypes are stored by name, not by their 4-bit instruction code, so a table
stays readable by eye in `readelf -x .j1.iotab`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from isa.elf.cursor import Cursor, utf8
from isa.elf.errors import ElfError
from isa.elf.model import IoEntry
from isa.elf.rules import MAX_NAME_BYTES, MAX_RANK, ROLES, check_name

MAGIC = b"J1IO"
VERSION = 1
_HEADER = struct.Struct("<4sHHI")
_U64 = struct.Struct("<Q")
_WHERE = ".j1.iotab"


def encode_iotab(entries: Sequence[IoEntry]) -> bytes:
    """The `.j1.iotab` bytes for `entries` (already checked by isa.elf.rules)."""
    out = bytearray(_HEADER.pack(MAGIC, VERSION, 0, len(entries)))
    for entry in entries:
        name = check_name(entry.name, "I/O entry")
        dtype = entry.dtype.encode("ascii")
        out += struct.pack("<H", len(name)) + name
        out += struct.pack("<BB", ROLES.index(entry.role), len(dtype)) + dtype
        out += struct.pack(f"<B{len(entry.shape)}Q", len(entry.shape), *entry.shape)
        out += struct.pack("<QQ", entry.address, entry.nbytes)
    return bytes(out)


def _decode_entry(cursor: Cursor, index: int) -> IoEntry:
    what = f"entry {index}"
    name_len = cursor.u16(f"{what} name length")
    if not 1 <= name_len <= MAX_NAME_BYTES:
        raise ElfError(f"{_WHERE}: {what} has a name of {name_len} bytes")
    name = utf8(cursor.take(name_len, f"{what} name"), f"{_WHERE}: {what} name")
    role_code = cursor.u8(f"{what} role")
    if role_code >= len(ROLES):
        raise ElfError(f"{_WHERE}: {what} ({name!r}) has unknown role code {role_code}")
    dtype_len = cursor.u8(f"{what} dtype length")
    dtype = utf8(cursor.take(dtype_len, f"{what} dtype"), f"{_WHERE}: {what} dtype")
    rank = cursor.u8(f"{what} rank")
    if rank > MAX_RANK:
        raise ElfError(f"{_WHERE}: {what} ({name!r}) has rank {rank}, more than {MAX_RANK}")
    shape = tuple(cursor.unpack(_U64, f"{what} shape")[0] for _ in range(rank))
    address = cursor.u64(f"{what} address")
    nbytes = cursor.u64(f"{what} nbytes")
    return IoEntry(name, ROLES[role_code], dtype, shape, address, nbytes)


def decode_iotab(data: bytes) -> list[IoEntry]:
    """The entries of a `.j1.iotab` section; ElfError if its layout is malformed."""
    cursor = Cursor(data, _WHERE)
    magic, version, reserved, count = cursor.unpack(_HEADER, "header")
    if magic != MAGIC:
        raise ElfError(f"{_WHERE}: bad magic {magic!r} (expected {MAGIC!r})")
    if version != VERSION:
        raise ElfError(f"{_WHERE}: format version {version} is not supported (only {VERSION})")
    if reserved:
        raise ElfError(f"{_WHERE}: reserved header field is {reserved}, not 0")
    # Each entry consumes bytes or raises, so the loop is bounded by the section size.
    entries = [_decode_entry(cursor, i) for i in range(count)]
    if cursor.remaining:
        raise ElfError(f"{_WHERE}: {cursor.remaining} trailing bytes after {count} entries")
    return entries
