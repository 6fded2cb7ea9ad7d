"""The dispatch table covers the instruction table exactly, and every op table covers its
family's rows: adding an engine instruction without semantics fails here."""

from __future__ import annotations

import isa
from isa.table import activation as activation_table
from isa.table import vector as vector_table
from iss.engines import SEMANTICS, activation, vector

ENGINES = {"dma", "matrix", "vector", "activation"}


def test_semantics_cover_exactly_the_engine_instructions():
    expected = {row.mnemonic for row in isa.INSTRUCTIONS if row.engine in ENGINES}
    assert set(SEMANTICS) == expected
    assert len(expected) == 149  # 2 dma + 1 matrix + 94 vector + 52 activation
    assert all(callable(f) for f in SEMANTICS.values())


def test_op_tables_cover_their_table_rows():
    assert set(vector.BINARY) == {name for _, name, *_ in vector_table.BINARY_OPS}
    assert set(vector.REDUCE) == {name for _, name, *_ in vector_table.REDUCE_OPS}
    assert set(vector.UNARY) == {name for _, name, *_ in vector_table.UNARY_OPS}
    assert set(activation.FUNCTIONS) == {name for _, name, *_ in activation_table.FUNCTIONS}


def test_domain_restrictions_come_from_the_table():
    assert vector.DOMAIN_ONLY == {
        "div": "float", "and": "int", "or": "int", "xor": "int", "shl": "int", "shr": "int",
        "vnot": "int",
    }  # fmt: skip
