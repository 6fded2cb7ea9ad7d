"""Matrix unit (MXU): `mm`, C[M, N] (+)= A[M, K] . B[K, N] (isa/table/engines.py, MATRIX).

Float inputs are widened to fp32 and multiplied by the host's BLAS (np.matmul on the views,
with the product written straight into the accumulator tile when there is nothing to add).
int8 products also go through float32 BLAS: with K <= 128 every partial sum is an integer
below 128 * 128 * 128 = 2**21 < 2**24, so float32 holds it exactly in any summation order,
and BLAS is ~60x faster than NumPy's integer matmul. The int32 add into C wraps modulo 2**32.

Block-quantised weights (`mm.tb` with a q4_1 / q8_0 B and a bf16 or fp32 A): the weight
loader dequantises each GGUF block exactly as the DMA engine does and converts the weight to
A's dtype, so the product equals the one on weights a dequantising DMA copy put in SRAM.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from iss.deferred import Deferred, Product
from iss.engines.base import Access, EngineOp, Semantics
from iss.errors import Trap
from iss.matmul import float_product
from iss.tiles import Desc

MAX_M = 128
MAX_K = 128
MAX_N = 512
MAX_N_TRANSPOSED = 128  #: with `.tb`, N is B's row count, bounded like every tile's rows

#: input dtype -> the accumulator dtype C must have
ACCUMULATOR = {
    "int8": "int32",
    "fp8e4m3": "fp32",
    "fp8e5m2": "fp32",
    "bf16": "fp32",
    "fp16": "fp32",
    "fp32": "fp32",
}


def _claim(op: EngineOp, name: str, desc: Desc, memory: str, write: bool = False) -> Access:
    """Check and record tile `name` without settling deferred work; it must lie in `memory`
    (bad_memory otherwise)."""
    access = op.claim(name, desc=desc, write=write, touch=False)
    if access.memory != memory:
        raise Trap("bad_memory", f"mm: {name} ({desc.describe()}) is in {access.memory}; it "
                   f"must be in {memory}")  # fmt: skip
    return access


#: the A dtypes block-quantised weights multiply: the loader rounds them to bf16 for a bf16
#: A and keeps them exact for an fp32 A
QUANT_INPUTS = ("bf16", "fp32")


def _input_dtype(da: Desc, db: Desc, dc: Desc, transposed: bool) -> str:
    """The common input dtype name, after checking A, B and C's dtypes (bad_dtype)."""
    a, b, c = da.type.name, db.type.name, dc.type.name
    if a not in ACCUMULATOR:
        raise Trap("bad_dtype", f"mm: da is {a}; inputs are {', '.join(ACCUMULATOR)}")
    if db.type.is_quant:
        if a not in QUANT_INPUTS or not transposed:
            raise Trap("bad_dtype", f"mm: db is {b}; block-quantised weights need `.tb` (W "
                       f"stored N x K) and a bf16 or fp32 da, not {a}")  # fmt: skip
    elif b != a:
        raise Trap("bad_dtype", f"mm: da is {a} but db is {b}; both inputs need one dtype")
    if c != ACCUMULATOR[a]:
        raise Trap("bad_dtype", f"mm: dc is {c}; {a} inputs accumulate into {ACCUMULATOR[a]}")
    return a


def _dimensions(da: Desc, db: Desc, dc: Desc, transposed: bool) -> tuple[int, int, int]:
    """(M, K, N) after the MXU's limits (tile_too_large) and shape agreement (shape_mismatch)."""
    m, k = da.rows, da.cols
    k_b, n = (db.cols, db.rows) if transposed else (db.rows, db.cols)
    n_max = MAX_N_TRANSPOSED if transposed else MAX_N
    if m > MAX_M:
        raise Trap("tile_too_large", f"mm: M = {m} (da rows) exceeds {MAX_M}")
    if k > MAX_K:
        raise Trap("tile_too_large", f"mm: K = {k} (da cols) exceeds {MAX_K}")
    if n > n_max:
        raise Trap("tile_too_large", f"mm: N = {n} exceeds {n_max}" + " with .tb" * transposed)
    if k_b != k:
        layout = "N x K with .tb" if transposed else "K x N"
        raise Trap("shape_mismatch", f"mm: da is {m}x{k} but db is {db.rows}x{db.cols} "
                   f"({layout}): K differs")  # fmt: skip
    if dc.shape != (m, n):
        raise Trap("shape_mismatch", f"mm: dc is {dc.rows}x{dc.cols}, must be M x N = {m}x{n}")
    return m, k, n


def mm(op: EngineOp) -> None:
    """C = A.B, or C += A.B with `.acc`; B is stored N x K with `.tb`."""
    transposed, accumulate = op.flag("tb"), op.flag("acc")
    da, db, dc = op.desc("da"), op.desc("db"), op.desc("dc")
    dtype, shape, accesses = _checked(op, da, db, dc, transposed)
    op.count(shape[0] * shape[1] * shape[2], dtype)
    op.shape = shape
    quantised = db.type.is_quant
    if quantised:
        op.weight_bytes = accesses[1].nbytes
    deferred = op.state.memory.deferred
    if deferred is not None and dtype != "int8" and not quantised:
        _defer(deferred, dc, da, db, transposed, accumulate)
        return
    tiles_ = (da, db, dc)
    if deferred is not None:  # make real whatever these tiles meet
        for d, x in zip(tiles_, accesses, strict=True):
            deferred.touch(x.memory, x.lo, x.hi, x.write, d)
    a, b, c = (x.view[0] for x in accesses)
    if quantised:
        b = op.state.memory.weights.get(b, db.type, da.type)
    product(a, b, c, dtype, transposed, accumulate)


def product(a: np.ndarray, b: np.ndarray, c: np.ndarray, dtype: str, transposed: bool,
            accumulate: bool, floats=float_product) -> None:  # fmt: skip
    """C (+)= A.B on the tiles' arrays, `dtype` the input dtype (B already the weight
    loader's weights when quantised): the eager path of `mm`, and iss.plans' replay of it
    (which passes `floats=quiet_float_product`)."""
    if a.dtype != np.float32:  # widening is exact for every input dtype
        a = a.astype(np.float32)
    if b.dtype != np.float32:
        b = b.astype(np.float32)
    if transposed:
        b = b.T  # a strided view: BLAS takes the transposed layout without a copy
    if dtype != "int8":
        floats(c, a, b, accumulate)
        return
    exact = np.matmul(a, b).astype(np.int32)  # exact, |values| < 2**21
    if accumulate:
        c += exact  # int32 in-place add wraps modulo 2**32
    else:
        c[...] = exact


def bound_call(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, dtype: str, transposed: bool,
    accumulate: bool, floats=float_product,
) -> Callable[[], None]:  # fmt: skip
    """`product` on these three tiles as a call, its decisions taken once (iss.plans replays
    an `mm` with it; B a view of memory, or weights a plan keeps): for fp32 tiles, straight
    to `floats`."""
    if dtype == "int8" or a.dtype != np.float32 or b.dtype != np.float32:
        return functools.partial(product, a, b, c, dtype, transposed, accumulate, floats)
    return functools.partial(floats, c, a, b.T if transposed else b, accumulate)


def _checked(op: EngineOp, da: Desc, db: Desc, dc: Desc, transposed: bool):
    """(input dtype, (M, K, N), the three accesses) after every check, recorded on `op`.

    The result depends only on the descriptors, so it is kept with the memory's other
    checked accesses: a kernel's loops multiply the same tiles again and again."""
    key = ("mm", transposed, da, db, dc)
    known = op.state.memory.claims.get(key)
    if known is not None:
        observer = op.state.memory.observer
        if observer is not None:  # the claims are skipped: tell the debugger about them
            for access, desc in zip(known[2], (da, db, dc), strict=True):
                observer(access, desc)
        op.accesses += known[2]
        return known
    dtype = _input_dtype(da, db, dc, transposed)
    shape = _dimensions(da, db, dc, transposed)
    _claim(op, "da", da, "sram")
    _claim(op, "db", db, "sram")
    _claim(op, "dc", dc, "acc", write=True)
    known = op.state.memory.claims[key] = (dtype, shape, tuple(op.accesses[-3:]))
    return known


def _defer(deferred: Deferred, dc: Desc, da: Desc, db: Desc, transposed: bool,
           accumulate: bool) -> None:  # fmt: skip
    """Record the product on C instead of computing it (iss.deferred). Operands copied by a
    deferred DMA are read where the copy came from; an `mm.acc` onto a pending product of
    the same C tile extends its chain; a plain `mm` replaces whatever C held."""
    operands = []
    for desc in (da, db):
        found = deferred.source(desc)
        if found is desc:  # in SRAM itself: settle what overlaps it first
            deferred.touch_tile(desc, write=False)
        operands.append(found)  # else inside a pending copy's source, which is current
    chain = deferred.product_at(dc)
    if accumulate and chain is not None and chain.transposed == transposed:
        deferred.extend(chain, *operands)
        return
    if not accumulate:  # C is overwritten whole: what it held is never needed
        if chain is not None:
            deferred.discard(chain)
        deferred.drop_alias(dc)
    deferred.touch_tile(dc, write=True)  # makes real anything C overlaps (an `.acc` reads it)
    deferred.add_product(Product(dc, [tuple(operands)], transposed, accumulate))


SEMANTICS: dict[str, Semantics] = {"mm": mm}


def semantics(mnemonic: str) -> Semantics:
    """The semantics function of matrix mnemonic `mnemonic`; KeyError if there is none."""
    return SEMANTICS[mnemonic]
