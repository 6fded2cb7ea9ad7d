"""Deferred work: matrix products not yet summed and DMA copies not yet made.

Why: the host's BLAS runs a 128x128x512 tile product well below full speed, an `mm.acc`
chain evaluated instruction by instruction pays a separate pass over C for every accumulate,
and copying every tile the DMA engine moves costs as much again. So:

* A float `mm` records its operand descriptors on the C tile it writes (a `Product`). Pending
  products are evaluated together when anything else observes them: an `mm.acc` chain whose A
  tiles lie side by side and whose B tiles lie one under the other becomes one matmul over the
  whole K, and products whose C, A and B tiles line up become one larger matmul.
* A same-dtype 2-D `dma.copy` records that its destination holds a copy of its source (an
  `Alias`); the bytes are copied only when something reads the destination other than `mm`
  (which reads the source in place), or writes over either side. A copy out of pending
  products moves them, still pending, to the copy's destination, and the accumulator tiles
  become aliases of them: a GEMM whose C panels go to DRAM one by one is evaluated as one
  matmul when C is read.

The architectural state is unchanged by any of this: every access goes through
`Memory.locate`, which calls `touch` first, and `touch` makes real whatever the access could
observe or overwrite. Invariant: no pending item's source overlaps another's destination
(creating an item touches its sources as reads and its destination as a write), so products
can be evaluated in any order — except that an alias left by a moved product reads that
product's destination, so `touch` evaluates products before it copies, and an alias makes
its source real before copying. Values are those the ISA specifies — an fp32 sum of exact
products in an unspecified order — and the timing model never sees the difference: engines
record their accesses when the instruction executes.

int8 products are never deferred: they are summed in float32, which is exact only while
K <= 1024, and a merged chain could exceed that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from iss import tiles
from iss.matmul import float_product
from iss.memory import window_of
from iss.tiles import Desc

if TYPE_CHECKING:
    from iss.memory import Memory

Range = tuple[str, int, int]  #: (memory name, lo, hi) byte offsets


@dataclass
class Product:
    """C (+)= the sum of A.B over `terms`, pending. Descriptors hold absolute addresses."""

    c: Desc  #: in the accumulator memory (or, once moved by a copy, the copy's target)
    terms: list[tuple[Desc, Desc]]  #: (A, B) pairs; B is N x K when `transposed`
    transposed: bool
    accumulate: bool  #: add to C's bytes as they were before the first term
    reads: dict[str, Entry] = field(default_factory=dict)  #: per memory, the span A/B lie in

    @property
    def dst(self) -> Desc:
        return self.c


@dataclass
class Alias:
    """`dst` holds a copy of `src` (same rows, columns and dtype), not yet made."""

    dst: Desc
    src: Desc


def _desc(fields: tuple) -> Desc:
    """A Desc from its seven fields, without NamedTuple.__new__'s keyword handling (these
    run for every deferred `mm`)."""
    return tuple.__new__(Desc, fields)


def tile_range(d: Desc) -> Range:
    """The bytes tile `d` spans, as (memory, lo, hi); the tile was bounds-checked before."""
    name, lo = window_of(d.base)
    return name, lo, lo + tiles.extent(d)


def _submap(inner: Desc, outer: Desc, target: Desc) -> Desc | None:
    """Where `inner`, a tile lying inside `outer` row for row, sits in `target` (a tile of
    outer's rows, columns and dtype elsewhere); None if it does not lie inside that way."""
    offset = inner.base - outer.base
    stride = outer.stride
    if offset < 0 or inner.dtype != outer.dtype or inner.depth != 1:
        return None
    if inner.rows > 1 and inner.stride != stride:
        return None
    row, byte = divmod(offset, stride)
    if row + inner.rows > outer.rows or byte + inner.row_bytes > outer.row_bytes:
        return None
    base = target.base + row * target.stride + byte
    return _desc((base, inner.rows, inner.cols, inner.dtype, target.stride, 1, inner.plane))


# -- joining tiles and products ---------------------------------------------------------------
def _below(upper: Desc, lower: Desc) -> Desc | None:
    """`upper` extended by `lower` if `lower` continues it downwards (same columns, stride)."""
    if (lower.cols, lower.stride, lower.dtype) != (upper.cols, upper.stride, upper.dtype):
        return None
    base, rows, cols, dtype, stride, depth, plane = upper
    if lower.base != base + rows * stride:
        return None
    return _desc((base, rows + lower.rows, cols, dtype, stride, depth, plane))


def _beside(left: Desc, right: Desc) -> Desc | None:
    """`left` extended by `right` if `right` continues it to the right (same rows, stride)."""
    if (right.rows, right.stride, right.dtype) != (left.rows, left.stride, left.dtype):
        return None
    base, rows, cols, dtype, stride, depth, plane = left
    if right.base != base + left.row_bytes:
        return None
    return _desc((base, rows, cols + right.cols, dtype, stride, depth, plane))


def _join_rows(p: Product, q: Product) -> Product | None:
    """One product for `p` with `q` under it: C and A continue downwards, B is shared."""
    (a, b), (a2, b2) = p.terms[0], q.terms[0]
    c, a = _below(p.c, q.c), _below(a, a2)
    return Product(c, [(a, b)], p.transposed, False) if c and a and b == b2 else None


def _join_cols(p: Product, q: Product) -> Product | None:
    """One product for `p` with `q` to its right: C and B continue sideways, A is shared."""
    (a, b), (a2, b2) = p.terms[0], q.terms[0]
    c = _beside(p.c, q.c)
    b = _below(b, b2) if p.transposed else _beside(b, b2)
    return Product(c, [(a, b)], p.transposed, False) if c and b and a == a2 else None


def _join_all(products: list[Product], join, shared: int) -> list[Product]:
    """Greedily join neighbours that `join` accepts: among products whose term operand
    `shared` (0 for A, 1 for B) is the same tile, in C address order."""
    groups: dict[tuple, list[Product]] = {}
    for p in products:
        groups.setdefault((p.transposed, p.terms[0][shared]), []).append(p)
    out: list[Product] = []
    for group in groups.values():
        run: list[Product] = []
        for q in sorted(group, key=lambda p: p.c.base):
            joined = join(run[-1], q) if run else None
            if joined:
                run[-1] = joined
            else:
                run.append(q)
        out += run
    return out


def merged(products: list[Product]) -> list[Product]:
    """The products with aligned single-term products joined (for evaluation); `extend`
    has already folded each `mm.acc` chain whose terms continue each other along K."""
    rest = [p for p in products if p.accumulate or len(p.terms) > 1]
    groups: dict[tuple[int, int], list[Product]] = {}
    for p in products:
        if not p.accumulate and len(p.terms) == 1:
            groups.setdefault((p.c.dtype, p.terms[0][0].dtype), []).append(p)
    for group in groups.values():
        rest += _join_all(_join_all(group, _join_rows, shared=1), _join_cols, shared=0)
    return rest


# -- the pending items of one machine ---------------------------------------------------------
Entry = list  #: [lo, hi, tile or None for a span of several, item]


class Deferred:
    """The pending products and copies of one machine, and the hook that makes them real."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self.pending: list[Product | Alias] = []  #: Memory.locate checks this is empty first
        self.dsts: dict[str, list[Entry]] = {}  #: per memory, the tiles items will write
        self.srcs: dict[str, list[Entry]] = {}  #: per memory, the tiles items will read
        self.sources: dict[str, dict[Desc, Desc]] = {}  #: `source` answers, per memory
        self.scratch: dict[tuple, np.ndarray] = {}  #: widening buffers by (operand, shape)
        self.matmuls = 0  #: matmuls evaluated, for tests and benchmarks
        self.copies = 0  #: copies made real

    # -- the hook -----------------------------------------------------------------------------
    def touch(self, name: str, lo: int, hi: int, write: bool, tile: Desc | None = None) -> None:
        """An access to [lo, hi) of memory `name` (to `tile`, if it is one) is about to happen:
        make real every item whose destination it meets, and when it writes, every item that
        reads what it meets."""
        hits = self._met(self.dsts, name, lo, hi, tile)
        if write:
            hits += self._met(self.srcs, name, lo, hi, tile)
        if not hits:
            return
        products = [item for item in hits if isinstance(item, Product)]
        if products:  # first: an alias met may be a copy of one of them
            self.flush(products)
        for item in hits:
            if isinstance(item, Alias) and any(item is other for other in self.pending):
                self._materialise(item)

    @staticmethod
    def _met(index, name, lo, hi, tile) -> list[Product | Alias]:
        """Items of `index` whose tile in memory `name` meets [lo, hi) (and `tile`)."""
        return [
            item
            for start, end, d, item in index.get(name, ())
            if lo < end and start < hi and not (tile and d and tiles.disjoint(tile, d))
        ]

    def touch_tile(self, d: Desc, write: bool) -> None:
        """`touch` for the bytes of tile `d`."""
        self.touch(*tile_range(d), write, d)

    # -- products -------------------------------------------------------------------------------
    def product_at(self, c: Desc) -> Product | None:
        """The pending product whose C is exactly `c`, if any."""
        for _, _, d, item in self.dsts.get("acc", ()):
            if d == c and isinstance(item, Product):
                return item
        return None

    def discard(self, item: Product | Alias) -> None:
        """Forget a pending item whose destination is about to be overwritten whole."""
        self._remove(item)

    def add_product(self, p: Product) -> None:
        """Register a product (its tiles bounds-checked by the caller, its C touched)."""
        self._add(p)

    def extend(self, p: Product, a: Desc, b: Desc) -> None:
        """Append a term to pending product `p` (its operands touched by the caller).

        Nothing else pending can overlap p's C: an item created after p touched its own
        destination and sources, which would have evaluated p. So C needs no touch here."""
        if p.terms:  # a term continuing the last along K joins it: one matmul for both
            last_a, last_b = p.terms[-1]
            a_k = _beside(last_a, a)
            b_k = a_k and (_beside(last_b, b) if p.transposed else _below(last_b, b))
            if b_k:
                p.terms[-1] = (a_k, b_k)
            else:
                p.terms.append((a, b))
        else:
            p.terms.append((a, b))
        for d in (a, b):
            name, lo, hi = tile_range(d)
            entry = p.reads.get(name)
            if entry is None:
                p.reads[name] = entry = [lo, hi, None, p]
                self.srcs.setdefault(name, []).append(entry)
            elif lo < entry[0] or hi > entry[1]:
                entry[0], entry[1] = min(entry[0], lo), max(entry[1], hi)

    def flush(self, products: list[Product] | None = None) -> None:
        """Evaluate `products` (default: every pending product) into their C tiles, merged
        where they line up."""
        if products is None:
            products = [item for item in self.pending if isinstance(item, Product)]
        products = list({id(p): p for p in products}.values())
        self._remove(*products)
        for p in merged(products):
            self._evaluate(p)

    # -- copies ---------------------------------------------------------------------------------
    def source(self, d: Desc) -> Desc:
        """Where the data of tile `d` really is: inside an alias's source, or `d` itself."""
        name, offset = window_of(d.base)
        known = self.sources.setdefault(name, {})  # forgotten when an alias there changes
        found = known.get(d)
        if found is None:
            found = known[d] = self._find_source(d, name, offset)
        # `d` itself, not an equal descriptor from an earlier lookup: callers test `is d` to
        # know that no alias stands between d and its bytes (and then make d real)
        return d if found == d else found

    def _find_source(self, d: Desc, name: str, offset: int) -> Desc:
        for lo, hi, dst, item in self.dsts.get(name, ()):
            if lo <= offset < hi and isinstance(item, Alias):
                inside = _submap(d, dst, item.src)
                if inside is not None:
                    return inside
        return d

    def copy(self, dd: Desc, ds: Desc) -> bool:
        """Defer `dd = ds` (same dtype, 2-D, checked by the caller); False if it cannot be."""
        name, lo, hi = tile_range(ds)
        target = tile_range(dd)
        if target[0] == name and lo < target[2] and target[1] < hi and not tiles.disjoint(dd, ds):
            return False  # an overlapping copy: let the engine do it now
        if self._forward(dd, ds):
            return True
        src = self.source(ds)
        if src is ds:
            self.touch_tile(ds, write=False)
        self.drop_alias(dd)
        self.touch_tile(dd, write=True)
        self._add(Alias(dd, src))
        return True

    def _forward(self, dd: Desc, ds: Desc) -> bool:
        """A copy of exactly the C tiles of pending products: the products move to `dd`,
        still pending, and the accumulator tiles become aliases of them (so the copy is
        exact to the bit whenever they are evaluated). False if `ds` is not such a region."""
        inside = self._met(self.dsts, *tile_range(ds), ds)
        if not inside or not all(isinstance(p, Product) and not p.accumulate for p in inside):
            return False
        targets = [_submap(p.c, ds, dd) for p in inside]
        covered = sum(p.c.rows * p.c.row_bytes for p in inside)
        if None in targets or covered != ds.rows * ds.row_bytes:
            return False
        self.drop_alias(dd)
        self.touch_tile(dd, write=True)
        if any(all(p is not q for q in self.pending) for p in inside):
            return False  # the touch evaluated them: copy the ordinary way
        self._remove(*inside)
        for p, t in zip(inside, targets, strict=True):
            self._add(Product(t, p.terms, p.transposed, False, dict(p.reads)))
            self._add(Alias(p.c, t))
        return True

    def drop_alias(self, d: Desc) -> None:
        """Forget an alias whose destination is exactly `d`: `d` is about to be overwritten."""
        for _, _, dst, item in self.dsts.get(window_of(d.base)[0], ()):
            if dst == d and isinstance(item, Alias):
                self._remove(item)
                return

    def _materialise(self, alias: Alias) -> None:
        self._remove(alias)
        self.touch_tile(alias.src, write=False)  # the source may be a moved product's C
        self._view(alias.dst)[...] = self._view(alias.src)
        self.copies += 1

    def settle(self) -> None:
        """Make everything real, for a caller about to use memory arrays directly."""
        self.flush()
        for item in self.pending[:]:
            self._materialise(item)

    # -- bookkeeping ----------------------------------------------------------------------------
    def _add(self, item: Product | Alias) -> None:
        self.pending.append(item)
        name, lo, hi = tile_range(item.dst)
        if isinstance(item, Alias):
            self.sources.pop(name, None)
        self.dsts.setdefault(name, []).append([lo, hi, item.dst, item])
        if isinstance(item, Alias):
            name, lo, hi = tile_range(item.src)
            self.srcs.setdefault(name, []).append([lo, hi, item.src, item])
            return
        if item.reads:  # a product moved by a copy reads what it read before
            for name, (lo, hi, _, _) in list(item.reads.items()):
                item.reads[name] = entry = [lo, hi, None, item]
                self.srcs.setdefault(name, []).append(entry)
            return
        terms, item.terms = item.terms, []
        for a, b in terms:  # a product's reads are indexed as one span per memory
            self.extend(item, a, b)

    def _remove(self, *items: Product | Alias) -> None:
        for item in items:
            if isinstance(item, Alias):
                self.sources.pop(tile_range(item.dst)[0], None)
        gone = {id(item) for item in items}
        self.pending[:] = [other for other in self.pending if id(other) not in gone]
        for index in (self.dsts, self.srcs):
            for name, entries in index.items():
                index[name] = [entry for entry in entries if id(entry[3]) not in gone]

    def _widened(self, x: np.ndarray, slot: int) -> np.ndarray:
        """`x` as fp32, in a buffer kept between evaluations: fresh multi-MiB arrays would
        cost a page fault per 4 KiB every time."""
        buffer = self.scratch.get((slot, x.shape))
        if buffer is None:
            if len(self.scratch) >= 8:  # a program's shapes vary: keep the latest few
                self.scratch.clear()
            buffer = self.scratch[slot, x.shape] = np.empty(x.shape, np.float32)
        np.copyto(buffer, x, casting="unsafe")
        return buffer

    def _view(self, d: Desc) -> np.ndarray:
        """A view that does not touch: the invariant makes its bytes current."""
        return tiles.view(self.memory, d, touch=False)[0][0]

    def _evaluate(self, p: Product) -> None:
        c = self._view(p.c)
        accumulate = p.accumulate
        for a_desc, b_desc in p.terms:
            a, b = self._view(a_desc), self._view(b_desc)
            if a.dtype != np.float32:  # widening is exact for every input dtype
                a, b = self._widened(a, 0), self._widened(b, 1)
            float_product(c, a, b.T if p.transposed else b, accumulate)
            accumulate = True
            self.matmuls += 1
