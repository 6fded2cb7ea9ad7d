"""The MXU weight loader's view of GGUF blocks: exact dequantisation, then A's dtype.

`mm.tb` on a q4_1 / q8_0 weight tile (isa/table/engines.py, MATRIX) multiplies the weights
the loader makes of the packed blocks; `WeightCache` keeps them so that a program that
multiplies the same blocks again (every decode step of a model) does not dequantise again.
"""

from __future__ import annotations

import numpy as np

from isa import dtypes


def dequantised_weights(blocks: np.ndarray, dtype: dtypes.DType,
                        into: dtypes.DType) -> np.ndarray:  # fmt: skip
    """The weight loader's weights (N x K) of a block-quantised tile's bytes: exact GGUF
    dequantisation, then converted to A's dtype `into` as a DMA copy would (bf16: round to
    nearest even; fp32: exact)."""
    return dtypes.cast(dtypes.unpack(blocks, dtype), into)


class WeightCache:
    """The weight loader's fp32 weights by the packed bytes they come from, up to `limit`
    bytes (then it starts again). A decode step multiplies the same GGUF blocks every token:
    comparing their bytes is ten times cheaper than dequantising them again."""

    def __init__(self, limit: int = 1 << 30) -> None:
        self.limit = limit
        self.tiles: dict[tuple, np.ndarray] = {}
        self.size = 0

    def get(self, blocks: np.ndarray, dtype: dtypes.DType, into: dtypes.DType) -> np.ndarray:
        """dequantised_weights(blocks, dtype, into) widened to fp32 (read-only)."""
        key = (dtype.code, into.code, blocks.shape, blocks.tobytes())
        weights = self.tiles.get(key)
        if weights is None:
            weights = dequantised_weights(blocks, dtype, into).astype(np.float32, copy=False)
            weights.flags.writeable = False
            cost = weights.nbytes + blocks.size
            if self.size + cost > self.limit:
                self.tiles.clear()
                self.size = 0
            self.tiles[key] = weights
            self.size += cost
        return weights
