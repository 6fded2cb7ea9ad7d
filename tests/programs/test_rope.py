"""RoPE (programs/kernels/rope.jasm) in both pairing conventions, through rope_main.jasm,
and its host-side cos/sin table (programs/kernels/rope.py).

The references are written independently of the kernel's E/O split: the interleaved
convention (GPT-J, GGUF "normal") as a complex multiplication of consecutive pairs by
e^(i angle), the half-split one (GPT-NeoX, Hugging Face) as HF writes it, x * cos +
rotate_half(x) * sin. Both use the same fp32 table and are evaluated in float64; the kernel
rounds two products and their sum (3 roundings), so |y - ref| <= 2u (|x0 c| + |x1 s|) per
output, taken with a factor 2: 4u (|x0| + |x1|).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from rowkernels import U, run

from programs.kernels.rope import inv_freq, rope_table


def reference(x, pos, table, heads, head_dim, half):
    tokens = x.shape[0]
    x = x.astype(np.float64).reshape(tokens, heads, head_dim)
    cos = table[pos, : head_dim // 2].astype(np.float64)[:, None, :]
    sin = table[pos, head_dim // 2 :].astype(np.float64)[:, None, :]
    if half:
        cos2, sin2 = np.concatenate([cos, cos], -1), np.concatenate([sin, sin], -1)
        rotated = np.concatenate([-x[..., head_dim // 2 :], x[..., : head_dim // 2]], -1)
        y = x * cos2 + rotated * sin2
        bound = np.abs(x) + np.abs(rotated)
    else:
        z = (x[..., 0::2] + 1j * x[..., 1::2]) * (cos + 1j * sin)
        y = np.stack([z.real, z.imag], -1).reshape(x.shape)
        pair = np.abs(x[..., 0::2]) + np.abs(x[..., 1::2])
        bound = np.repeat(pair, 2, axis=-1)
    return y.reshape(tokens, -1), 4 * U * bound.reshape(tokens, -1)


@settings(max_examples=12, deadline=None)
@given(tokens=st.sampled_from([1, 2, 127, 128, 129, 200]), heads=st.sampled_from([1, 3, 9, 12]),
       head_dim=st.sampled_from([32, 64]), half=st.booleans(),
       base=st.sampled_from([1e4, 1e5]), seed=st.integers(0, 2**16))  # fmt: skip
def test_rope(tokens, heads, head_dim, half, base, seed):
    rng = np.random.default_rng(seed)
    positions = 2048
    x = rng.standard_normal((tokens, heads * head_dim)).astype(np.float32)
    pos = rng.integers(0, positions, tokens).astype(np.int32)
    pos[0] = positions - 1
    table = rope_table(positions, head_dim, base)
    defines = dict(TOKENS=tokens, HEADS=heads, HEAD_DIM=head_dim, TABLE=positions)
    if half:
        defines["HALF"] = 1
    y = run("rope", {"x": x, "pos": pos, "table": table}, **defines)
    ref, tol = reference(x, pos, table, heads, head_dim, half)
    assert np.all(np.abs(y - ref) <= tol)


def test_position_zero_is_identity():
    x = np.random.default_rng(1).standard_normal((3, 64)).astype(np.float32)
    pos = np.zeros(3, dtype=np.int32)
    y = run("rope", {"x": x, "pos": pos, "table": rope_table(4, 64)}, TOKENS=3, HEADS=1,
            HEAD_DIM=64, TABLE=4)  # fmt: skip
    np.testing.assert_array_equal(y, x)


def test_table():
    """cos/sin of fp32 angles pos * inv_freq, inv_freq = base ** (-2i/d) (Hugging Face's
    formula), each rounded once from float64: within 0.5 ulp + the angle's own rounding."""
    table = rope_table(1000, 64, 1e5)
    np.testing.assert_allclose(inv_freq(64, 1e5), 1e5 ** (-np.arange(0, 64, 2) / 64), rtol=2 * U)
    angles = np.arange(1000, dtype=np.float32)[:, None] * inv_freq(64, 1e5)[None, :]
    np.testing.assert_allclose(table[:, :32], np.cos(angles.astype(np.float64)), atol=U)
    np.testing.assert_allclose(table[:, 32:], np.sin(angles.astype(np.float64)), atol=U)
    assert np.all(table[0, :32] == 1) and np.all(table[0, 32:] == 0)


def test_row_too_long_is_reported():
    """A token row that does not fit kscratch's slots (with its table row) makes the kernel
    return 1 instead of trapping; a grown kscratch takes it."""
    heads, head_dim = 200, 128
    x = np.random.default_rng(2).standard_normal((2, heads * head_dim)).astype(np.float32)
    pos = np.array([3, 1], dtype=np.int32)
    table = rope_table(4, head_dim)
    inputs = {"x": x, "pos": pos, "table": table}
    defines = dict(TOKENS=2, HEADS=heads, HEAD_DIM=head_dim, TABLE=4)
    run("rope", inputs, status=1, **defines)
    y = run("rope", inputs, KSCRATCH=2 << 20, **defines)
    ref, tol = reference(x, pos, table, heads, head_dim, half=False)
    assert np.all(np.abs(y - ref) <= tol)
