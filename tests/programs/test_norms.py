"""LayerNorm, RMSNorm and L2 row normalisation (programs/kernels/{layernorm,rmsnorm,l2norm}
.jasm) against float64 NumPy references, through their entry programs.

Tolerances, in units of u = 2**-24, from the kernels' roundings:
- the row sums (sum of x, of (x - mean)^2, of x^2) are NumPy pairwise fp32 sums of the
  activation unit's `.sum` output: relative error <= sum_error(cols) u of the sum of |terms|;
- every other step (scale by 1/cols, rsqrt or sqrt evaluated in float64 and rounded once, the
  products and sums of the vector unit) adds at most one rounding.
LayerNorm: the mean's error e_m <= sum_error u mean(|x|) shifts every centred value by e_m,
i.e. the output by e_m * rstd * |gamma|; the variance's relative error (sum_error + 3) u moves
rstd by half that. So |y - ref| <= 2 [(sum_error + 4) u (|xhat| + mean|x| rstd) |gamma| +
4u |beta|]. RMSNorm and L2: |y - ref| <= 2 (sum_error / 2 + 4) u |ref|.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from rowkernels import COLS, ROWS, U, bits, run, sum_error

shapes = dict(rows=st.sampled_from(ROWS), cols=st.sampled_from(COLS), seed=st.integers(0, 2**16))


def data(seed, rows, cols, offset=0.0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, cols)) * 3 + offset).astype(np.float32)
    return rng, x


def check_layernorm(y, x, gamma, beta, eps):
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=1, keepdims=True)
    rstd = 1 / np.sqrt(((x64 - mean) ** 2).mean(axis=1, keepdims=True) + np.float32(eps))
    xhat = (x64 - mean) * rstd
    ref = xhat * gamma + beta
    s = sum_error(x.shape[1])
    spread = np.abs(x64).mean(axis=1, keepdims=True) * rstd
    tol = 2 * ((s + 4) * U * (np.abs(xhat) + spread) * np.abs(gamma) + 4 * U * np.abs(beta))
    assert np.all(np.abs(y - ref) <= tol + 1e-30), np.max(np.abs(y - ref) / (tol + 1e-30))


@settings(max_examples=12, deadline=None)
@given(**shapes, offset=st.sampled_from([0.0, 50.0]))
def test_layernorm(rows, cols, seed, offset):
    """BERT's post-LN eps 1e-12; rows far from zero mean show the variance is two-pass."""
    rng, x = data(seed, rows, cols, offset)
    gamma = rng.standard_normal(cols).astype(np.float32)
    beta = rng.standard_normal(cols).astype(np.float32)
    if cols == 1:
        x[:] = 1.0  # a one-element row has variance 0: any offset would be cancelled exactly
    y = run("layernorm", {"x": x, "gamma": gamma, "beta": beta}, ROWS=rows, COLS=cols)
    check_layernorm(y, x, gamma, beta, 1e-12)


@settings(max_examples=8, deadline=None)
@given(**shapes)
def test_layernorm_residual(rows, cols, seed):
    """BERT's fused LayerNorm(x + sublayer(x)): the reference normalises the fp32 sum (one
    rounding, as the kernel's vector add)."""
    rng, x = data(seed, rows, cols)
    r = (rng.standard_normal((rows, cols)) * 3).astype(np.float32)
    gamma = rng.standard_normal(cols).astype(np.float32)
    beta = rng.standard_normal(cols).astype(np.float32)
    if cols == 1:
        r[:] = 0.0
        x[:] = 1.0
    inputs = {"x": x, "r": r, "gamma": gamma, "beta": beta}
    y = run("layernorm", inputs, ROWS=rows, COLS=cols, RESIDUAL=1)
    check_layernorm(y, x + r, gamma, beta, 1e-12)


@settings(max_examples=6, deadline=None)
@given(**shapes)
def test_layernorm_no_affine(rows, cols, seed):
    _, x = data(seed, rows, cols)
    y = run("layernorm", {"x": x}, ROWS=rows, COLS=cols, NOAFFINE=1, EPS_BITS=bits(1e-5))
    check_layernorm(y, x, np.float32(1), np.float32(0), 1e-5)


def rms_reference(x, weight, eps):
    x64 = x.astype(np.float64)
    return x64 / np.sqrt((x64**2).mean(axis=1, keepdims=True) + np.float32(eps)) * weight


@settings(max_examples=12, deadline=None)
@given(**shapes)
def test_rmsnorm(rows, cols, seed):
    """Llama's eps 1e-5."""
    rng, x = data(seed, rows, cols)
    weight = rng.standard_normal(cols).astype(np.float32)
    y = run("rmsnorm", {"x": x, "weight": weight}, ROWS=rows, COLS=cols)
    ref = rms_reference(x, weight, 1e-5)
    tol = 2 * (sum_error(cols) / 2 + 4) * U * np.abs(ref) + 1e-30
    assert np.all(np.abs(y - ref) <= tol)


@settings(max_examples=6, deadline=None)
@given(**shapes)
def test_rmsnorm_no_weight(rows, cols, seed):
    _, x = data(seed, rows, cols)
    y = run("rmsnorm", {"x": x}, ROWS=rows, COLS=cols, NOWEIGHT=1, EPS_BITS=bits(1e-6))
    ref = rms_reference(x, 1.0, 1e-6)
    assert np.all(np.abs(y - ref) <= 2 * (sum_error(cols) / 2 + 4) * U * np.abs(ref) + 1e-30)


@settings(max_examples=10, deadline=None)
@given(**shapes)
def test_l2norm(rows, cols, seed):
    _, x = data(seed, rows, cols)
    x[0] = 0.0  # an all-zero row stays zero (the norm is clamped to eps, not divided by 0)
    y = run("l2norm", {"x": x}, ROWS=rows, COLS=cols)
    x64 = x.astype(np.float64)
    ref = x64 / np.maximum(np.linalg.norm(x64, axis=1, keepdims=True), 1e-12)
    assert np.all(np.abs(y - ref) <= 2 * (sum_error(cols) / 2 + 4) * U * np.abs(ref) + 1e-30)
