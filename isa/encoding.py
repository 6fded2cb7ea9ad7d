"""Encode and decode J1 instruction words, both derived from the table.

`encode(spec, values)` checks every operand against its field; `decode(word)` finds the one
row whose match/mask fits (the table guarantees at most one) and checks the reserved values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from isa.spec import WORD_MASK, Instruction, Kind
from isa.table import INSTRUCTIONS


class EncodingError(ValueError):
    """An operand does not fit its field, or a word does not decode."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Inst:
    """A decoded instruction: its table row and one value per field (in `spec.fields` order)."""

    spec: Instruction
    values: tuple[int, ...]

    def __getitem__(self, name: str) -> int:
        index = self.spec.field_index.get(name)
        if index is None:
            raise KeyError(f"{self.spec.mnemonic} has no field {name!r}")
        return self.values[index]

    def as_dict(self) -> dict[str, int]:
        """Field name -> value."""
        return {f.name: v for f, v in zip(self.spec.fields, self.values, strict=True)}

    @property
    def word(self) -> int:
        """The 64-bit encoding."""
        return encode(self.spec, self.as_dict())


BY_MNEMONIC: dict[str, Instruction] = {i.mnemonic: i for i in INSTRUCTIONS}

# opcode byte -> rows sharing it; decode tries only these
_BY_OPCODE: dict[int, list[Instruction]] = {}
for _row in INSTRUCTIONS:
    _BY_OPCODE.setdefault(_row.opcode, []).append(_row)


def range_text(f) -> str:
    """Human description of a field's legal values, for error messages."""
    text = f"{f.lo_value}..{f.hi_value}"
    return text + (f" and a multiple of {f.align}" if f.align > 1 else "")


def encode(spec: Instruction, values: Mapping[str, int]) -> int:
    """The word for `spec` with the given field values (flags default to 0)."""
    word = spec.match
    for f in spec.fields:
        if f.name not in values:
            if f.kind is Kind.FLAG:
                continue
            raise EncodingError(f"{spec.mnemonic}: missing operand {f.name}", f.name)
        value = values[f.name]
        if not f.fits(value):
            raise EncodingError(
                f"{spec.mnemonic}: {f.name} = {value} is out of range ({range_text(f)})", f.name
            )
        word |= f.insert(value)
    unknown = set(values) - {f.name for f in spec.fields}
    if unknown:
        raise EncodingError(f"{spec.mnemonic}: no operand named {sorted(unknown)[0]}")
    return word


def decode(word: int) -> Inst:
    """Decode one 64-bit word; raises EncodingError for anything that is not an instruction."""
    if not 0 <= word <= WORD_MASK:
        raise EncodingError(f"{word:#x} is not a 64-bit word")
    for spec in _BY_OPCODE.get(word & 0xFF, ()):
        if word & spec.mask == spec.match:
            values = tuple(f.extract(word) for f in spec.fields)
            for f, v in zip(spec.fields, values, strict=True):
                if not f.fits(v):
                    raise EncodingError(
                        f"{word:#018x}: {spec.mnemonic} with reserved {f.name} value {v}", f.name
                    )
            return Inst(spec, values)
    raise EncodingError(f"{word:#018x} is not a J1 instruction")


def split_mnemonic(text: str) -> tuple[Instruction, frozenset[str]] | None:
    """Resolve a mnemonic written with flag suffixes (`mm.acc.tb`) to (row, flags).

    The longest prefix naming a table row wins; every remaining dot-separated part must be
    one of that row's flags, each at most once. None if the text names no instruction.
    """
    if text in BY_MNEMONIC:
        return BY_MNEMONIC[text], frozenset()
    parts = text.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        spec = BY_MNEMONIC.get(".".join(parts[:cut]))
        if spec is None:
            continue
        flags = parts[cut:]
        names = {f.name for f in spec.flags}
        if len(set(flags)) == len(flags) and set(flags) <= names:
            return spec, frozenset(flags)
    return None
