"""The MXU loader's weight cache returns exactly what dequantising again would, for any
bytes, and stays within its limit."""

from __future__ import annotations

import numpy as np

from isa import dtypes
from iss.weights import WeightCache, dequantised_weights

Q4_1, BF16, FP32 = (dtypes.by_name(n) for n in ("q4_1", "bf16", "fp32"))


def blocks(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return dtypes.pack_q4_1(rng.standard_normal((8, 64)).astype(np.float32))


def test_a_hit_needs_the_same_bytes_and_the_same_target_dtype():
    cache = WeightCache()
    a, b = blocks(0), blocks(1)
    for data in (a, b, a.copy()):
        for into in (BF16, FP32):
            want = dequantised_weights(data, Q4_1, into).astype(np.float32)
            np.testing.assert_array_equal(cache.get(data, Q4_1, into), want)
    assert len(cache.tiles) == 4  # a's copy hit; two blocks x two dtypes
    changed = a.copy()
    changed[3, 5] ^= 0x10  # one nibble of one weight
    assert not np.array_equal(cache.get(changed, Q4_1, FP32), cache.get(a, Q4_1, FP32))


def test_strided_views_key_on_their_elements_not_their_buffer():
    cache = WeightCache()
    wide = np.zeros((8, 80), np.uint8)
    wide[:, :40] = blocks(2)
    view = wide[:, :40]
    np.testing.assert_array_equal(cache.get(view, Q4_1, FP32), cache.get(blocks(2), Q4_1, FP32))
    assert len(cache.tiles) == 1


def test_the_cache_starts_again_past_its_limit():
    cache = WeightCache(limit=3000)  # one entry: 8 x 64 fp32 + 320 bytes = 2368
    cache.get(blocks(0), Q4_1, FP32)
    cache.get(blocks(1), Q4_1, FP32)
    assert len(cache.tiles) == 1 and cache.size <= cache.limit
