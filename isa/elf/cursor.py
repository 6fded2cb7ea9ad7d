"""Bounds-checked little-endian reads over an untrusted byte buffer.

Every read names what it reads, so a truncated or corrupt file fails with a one-line ElfError
saying where, never with struct.error or IndexError.
"""

from __future__ import annotations

import struct

from isa.elf.errors import ElfError

_U8, _U16, _U32, _U64 = (struct.Struct(f) for f in ("<B", "<H", "<I", "<Q"))
_LEB128_MAX_BYTES = 10  # enough for any 64-bit value; longer encodings are rejected


def utf8(raw: bytes, what: str) -> str:
    """Decode `raw` as strict UTF-8, or raise ElfError naming `what`."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ElfError(f"{what} is not valid UTF-8 (byte {exc.start})") from None


class Cursor:
    """A read position inside `data[start:end]`; offsets in messages count from `start`."""

    __slots__ = ("base", "data", "end", "pos", "where")

    def __init__(self, data: bytes, where: str, start: int = 0, end: int | None = None) -> None:
        self.data = data
        self.where = where
        self.base = start
        self.pos = start
        self.end = len(data) if end is None else end

    @property
    def remaining(self) -> int:
        """Bytes left before the end of the window."""
        return self.end - self.pos

    def need(self, count: int, what: str) -> None:
        """Raise ElfError unless `count` more bytes are available."""
        if count > self.end - self.pos:
            raise ElfError(
                f"{self.where}: {what} at offset {self.pos - self.base:#x} reads past the end"
            )

    def take(self, count: int, what: str) -> bytes:
        """The next `count` bytes."""
        self.need(count, what)
        self.pos += count
        return self.data[self.pos - count : self.pos]

    def unpack(self, layout: struct.Struct, what: str) -> tuple:
        """The next record in `layout`."""
        self.need(layout.size, what)
        values = layout.unpack_from(self.data, self.pos)
        self.pos += layout.size
        return values

    def u8(self, what: str) -> int:
        """The next unsigned byte."""
        return self.unpack(_U8, what)[0]

    def u16(self, what: str) -> int:
        """The next little-endian 16-bit unsigned integer."""
        return self.unpack(_U16, what)[0]

    def u32(self, what: str) -> int:
        """The next little-endian 32-bit unsigned integer."""
        return self.unpack(_U32, what)[0]

    def u64(self, what: str) -> int:
        """The next little-endian 64-bit unsigned integer."""
        return self.unpack(_U64, what)[0]

    def _leb(self, what: str) -> tuple[int, int]:
        """The next LEB128 number's 7-bit groups as (unsigned value, bits read)."""
        result = shift = 0
        for _ in range(_LEB128_MAX_BYTES):
            byte = self.u8(what)
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result, shift
        raise ElfError(f"{self.where}: {what} is a LEB128 number longer than 10 bytes")

    def uleb(self, what: str) -> int:
        """The next unsigned LEB128 number (at most 64 bits)."""
        result, _ = self._leb(what)
        if result >> 64:
            raise ElfError(f"{self.where}: {what} does not fit in 64 bits")
        return result

    def sleb(self, what: str) -> int:
        """The next signed LEB128 number (at most 64 bits)."""
        result, bits = self._leb(what)
        if result >> (bits - 1):  # the sign bit of the last group
            result -= 1 << bits
        if not -(1 << 63) <= result < 1 << 63:
            raise ElfError(f"{self.where}: {what} does not fit in 64 bits")
        return result

    def cstring(self, what: str, max_bytes: int) -> str:
        """The next NUL-terminated UTF-8 string of at most `max_bytes` bytes."""
        # The search window is capped so a missing NUL costs max_bytes, not the whole file.
        stop = min(self.end, self.pos + max_bytes + 1)
        nul = self.data.find(b"\0", self.pos, stop)
        if nul < 0:
            problem = f"is longer than {max_bytes} bytes" if stop < self.end else "is unterminated"
            raise ElfError(f"{self.where}: {what} at offset {self.pos - self.base:#x} {problem}")
        raw = self.data[self.pos : nul]
        self.pos = nul + 1
        return utf8(raw, f"{self.where}: {what}")
