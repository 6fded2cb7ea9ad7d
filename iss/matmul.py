"""The MXU's float product, shared by the matrix engine (iss.engines.matrix) and the
deferred evaluation of its products (iss.deferred), so both compute it the same way."""

from __future__ import annotations

import numpy as np


def float_product(c: np.ndarray, a: np.ndarray, b: np.ndarray, accumulate: bool) -> None:
    """C = A.B, or C += A.B, for fp32 A and B (docs/isa.md, `mm`): the host's BLAS sums in
    fp32; IEEE Inf and NaN propagate, and there are no float traps."""
    with np.errstate(all="ignore"):
        quiet_float_product(c, a, b, accumulate)


def quiet_float_product(c: np.ndarray, a: np.ndarray, b: np.ndarray, accumulate: bool) -> None:
    """float_product for a caller that holds np.errstate(all="ignore") itself (entering it
    costs as much as a tile's product: iss.plans enters it once per replayed call)."""
    if accumulate:
        c += np.matmul(a, b)
    else:
        np.matmul(a, b, out=c)
