"""What a recorded call's replay may skip (iss.plans), proved from the accesses its steps made.

A kernel that streams weights copies each chunk of them into an SRAM slot and multiplies the
slot: at every replay the copy moves the same bytes, and the product compares the slot's
bytes with the ones its dequantised weights came from. Two facts of the recording make both
unnecessary, exactly:

* Trusted weights: an `mm` whose quantised B tile lies wholly in the destination of an
  earlier `dma.copy` of the call, from memory the program cannot write (Memory.constant: the
  `.weight` buffers), with nothing written over B in between, finds the same bytes in B at
  every replay while Memory.generation is unchanged (the host may rebind weights; the plan
  records the generation). Its step need not compare them.
* Dead copies: a copy of weights (from constant memory, as above) whose destination a later
  copy of the call overwrites whole, with nothing reading or writing it in between (a
  trusted `mm` does not read its B), leaves nothing at the end of the call: only the last
  copy into a slot need run. Nothing sees the middle of a replay (plans are off under
  observers and the race detector).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from isa.memmap import REGIONS
from iss import tiles
from iss.engines.base import Access
from iss.memory import Memory

OPEN = 16  #: copies followed at a time (the oldest are given up: kept, and not trusted)


@dataclass
class Effect:
    """What one step of a recording reads and writes."""

    reads: tuple[Access, ...] = ()
    writes: tuple[Access, ...] = ()
    #: a dma.copy: reads[0] is its source, writes[0] its destination, written whole
    copy: bool = False
    #: a quantised mm's step that trusts its B tile's bytes (B is reads[1])
    trusted: Callable[[], None] | None = None


def prune(steps: list[Callable[[], None]], effects: list[Effect],
          memory: Memory) -> tuple[list[Callable[[], None]], bool]:  # fmt: skip
    """(the steps a replay runs, whether one of them trusts protected memory)."""
    weights = {i for i, e in enumerate(effects) if e.copy and _constant(memory, e.reads[0])}
    trusting = _trusting(effects, weights)
    dead = _dead_copies(effects, weights, trusting) if trusting else set()
    kept = [effects[i].trusted if i in trusting else step for i, step in enumerate(steps)
            if i not in dead]  # fmt: skip
    return kept, bool(trusting)


def _trusting(effects: list[Effect], weights: set[int]) -> set[int]:
    """The quantised `mm` steps whose B tile was copied whole by one of the `weights` copies
    and not written since."""
    copies: list[Access] = []  #: such copies' destinations, not written over since
    trusting = set()
    for i, e in enumerate(effects):
        if e.trusted is not None:
            b = e.reads[1]
            if any(_inside(b, d) for d in copies):
                trusting.add(i)
        for w in e.writes:
            copies = [d for d in copies if not d.meets(w)]
        if i in weights:
            copies = [*copies[1 - OPEN :], e.writes[0]]
    return trusting


def _inside(inner: Access, outer: Access | None) -> bool:
    """Whether every byte `inner` touches is one `outer` touches."""
    return (outer is not None and outer.memory == inner.memory
            and tiles.covers(outer.desc, inner.desc))  # fmt: skip


def _constant(memory: Memory, access: Access) -> bool:
    return memory.constant(REGIONS[access.memory] + access.lo, access.hi - access.lo)


def _dead_copies(effects: list[Effect], weights: set[int], trusting: set[int]) -> set[int]:
    """The `weights` copies whose destination a later copy overwrites whole before anything
    reads it or writes part of it."""
    unread: dict[int, Access] = {}  #: copies whose destination nothing has touched yet
    dead = set()
    for i, e in enumerate(effects):
        whole = e.writes[0] if e.copy else None
        if unread:
            reads = (e.reads[0], *e.reads[2:]) if i in trusting else e.reads
            touched = [*reads, *(w for w in e.writes if w is not whole)]  # may read them too
            for j, d in list(unread.items()):
                if any(d.meets(a) for a in touched):
                    del unread[j]
                elif _inside(d, whole):
                    del unread[j]
                    dead.add(j)
        if i in weights:
            unread[i] = whole
            if len(unread) > OPEN:
                del unread[next(iter(unread))]
    return dead
