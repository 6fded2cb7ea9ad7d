"""Row softmax (programs/kernels/softmax.jasm) against NumPy, through softmax_main.jasm.

Tolerance. The reference is the float64 softmax of the same fp32 logits t = fp32(scale * x)
(+ mask in fp32), as the kernel forms them. The kernel then rounds: t - max once (relative
error of exp(t - max) <= |t - max| * u), exp once (0.5 ulp, the activation unit evaluates in
float64), the row sum in NumPy's pairwise fp32 order (sum_error(cols) * u relative, all terms
positive) and the division once (0.5 ulp). So |y - ref| <= 2u (|t - max| + sum_error + 2) ref,
with a factor 2 of slack, plus 1e-40 absolute for results that underflow to subnormals.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from rowkernels import COLS, ROWS, U, bits, run, sum_error


def reference(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = t.astype(np.float64)
    shifted = t - t.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True), shifted


def check(y, t, cols):
    ref, shifted = reference(t)
    tol = 2 * U * (np.abs(shifted) + sum_error(cols) + 2) * ref + 1e-40
    assert np.all(np.abs(y - ref) <= tol), np.max(np.abs(y - ref) / tol)


@settings(max_examples=12, deadline=None)
@given(rows=st.sampled_from(ROWS), cols=st.sampled_from(COLS), seed=st.integers(0, 2**16))
def test_plain(rows, cols, seed):
    x = (np.random.default_rng(seed).standard_normal((rows, cols)) * 4).astype(np.float32)
    check(run("softmax", {"x": x}, ROWS=rows, COLS=cols), x, cols)


@settings(max_examples=8, deadline=None)
@given(rows=st.sampled_from(ROWS), cols=st.sampled_from(COLS), seed=st.integers(0, 2**16),
       scale=st.sampled_from([0.125, 0.17677669, 1.0, 3.0]))  # fmt: skip
def test_scale(rows, cols, seed, scale):
    x = (np.random.default_rng(seed).standard_normal((rows, cols)) * 4).astype(np.float32)
    y = run("softmax", {"x": x}, ROWS=rows, COLS=cols, SCALE_BITS=bits(scale))
    check(y, np.float32(scale) * x, cols)


@settings(max_examples=10, deadline=None)
@given(rows=st.sampled_from(ROWS), cols=st.sampled_from(COLS), seed=st.integers(0, 2**16),
       broadcast=st.booleans())  # fmt: skip
def test_mask(rows, cols, seed, broadcast):
    """Additive masks: a full [rows, cols] one, or one row broadcast to every row (key
    padding); -10000 on masked positions, as BERT does, plus small finite values."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, cols)) * 4).astype(np.float32)
    shape = (1, cols) if broadcast else (rows, cols)
    mask = rng.standard_normal(shape).astype(np.float32)
    mask[rng.random(shape) < 0.3] = -10000.0
    scale = np.float32(0.125)
    y = run("softmax", {"x": x, "mask": mask}, ROWS=rows, COLS=cols, SCALE_BITS=bits(0.125),
            MASK=2 if broadcast else 1)  # fmt: skip
    check(y, (scale * x) + mask, cols)


def test_large_logits_are_stable():
    """Logits near the fp32 exp overflow (88.7) only work with the row max subtracted."""
    x = np.array([[1000.0, 999.0, -1000.0], [88.0, 89.0, 90.0]], dtype=np.float32)
    check(run("softmax", {"x": x}, ROWS=2, COLS=3), x, 3)


def test_row_too_long_is_reported():
    """A row wider than kscratch allows makes the kernel return 1 instead of trapping."""
    x = np.zeros((1, 40000), dtype=np.float32)
    run("softmax", {"x": x}, status=1, ROWS=1, COLS=40000)


def test_wide_rows_fit_a_grown_kscratch():
    """The same row fits once the program grows kscratch (programs/ABI.md: -D KSCRATCH)."""
    x = np.random.default_rng(2).standard_normal((3, 40000)).astype(np.float32)
    check(run("softmax", {"x": x}, ROWS=3, COLS=40000, KSCRATCH=4 << 20), x, 40000)


def test_small_machine():
    """The default scratch regions fit j1-mini (1 MiB SRAM): the kernel runs there too."""
    x = np.random.default_rng(3).standard_normal((129, 1000)).astype(np.float32)
    check(run("softmax", {"x": x}, machine="j1-mini", ROWS=129, COLS=1000), x, 1000)
