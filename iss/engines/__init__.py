"""Semantics of the engine instructions, one module per engine, and the dispatch table.

`SEMANTICS` maps every dma / matrix / vector / activation mnemonic of the instruction table
to a function `f(op: EngineOp)`. It executes the instruction and may return its data work
as a call on the tiles it resolved (`Work`), which repeats it exactly while the registers and
descriptors are the same (iss.plans replays kernel calls with these). The table is built
once, at import, by walking the instruction table: an instruction without semantics fails
here, not when a program first uses it.
"""

from __future__ import annotations

from collections.abc import Callable

import isa
from iss.engines import activation, dma, matrix, vector
from iss.engines.base import EngineOp, Semantics, Work

#: engine name -> mnemonic -> semantics (KeyError for a mnemonic the module lacks)
_LOOKUP: dict[str, Callable[[str], Semantics]] = {
    "dma": dma.semantics,
    "matrix": matrix.semantics,
    "vector": vector.semantics,
    "activation": activation.semantics,
}


def _build() -> dict[str, Semantics]:
    table: dict[str, Semantics] = {}
    for row in isa.INSTRUCTIONS:
        lookup = _LOOKUP.get(row.engine)
        if lookup is not None:
            table[row.mnemonic] = lookup(row.mnemonic)
    return table


SEMANTICS: dict[str, Semantics] = _build()

__all__ = ["SEMANTICS", "EngineOp", "Semantics", "Work"]
