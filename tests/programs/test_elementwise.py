"""GELU, SiLU, SwiGLU and the residual add (programs/kernels/elementwise.jasm) against
NumPy, through their entry programs.

Tolerances. The activation unit evaluates each function in float64 in a form that does not
cancel (GELU as x/2 * erfc(-x / sqrt 2)) and rounds once to fp32 (docs/isa.md, `act.*`), so
GELU and SiLU are within 1 ulp of the float64 reference (0.5 ulp of rounding plus the
reference's own float64 error, far below an fp32 ulp). SwiGLU rounds silu(g) once and the
product once: within 2 ulp. The residual add is one fp32 addition: bit-exact.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from rowkernels import COLS, ROWS, run, ulps

shapes = dict(rows=st.sampled_from(ROWS), cols=st.sampled_from(COLS), seed=st.integers(0, 2**16))
erfc = np.frompyfunc(math.erfc, 1, 1)


def gelu(x):
    x = x.astype(np.float64)
    return x / 2 * erfc(-x / math.sqrt(2)).astype(np.float64)


def silu(x):
    x = x.astype(np.float64)
    return x / (1 + np.exp(-x))


def inputs(seed, rows, cols, n=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((rows, cols)) * 4).astype(np.float32) for _ in range(n)]


@settings(max_examples=8, deadline=None)
@given(**shapes)
def test_gelu(rows, cols, seed):
    (x,) = inputs(seed, rows, cols)
    x.flat[:4] = [0.0, -0.0, -30.0, 30.0][: x.size]
    assert np.all(ulps(run("gelu", {"x": x}, ROWS=rows, COLS=cols), gelu(x)) <= 1)


@settings(max_examples=8, deadline=None)
@given(**shapes)
def test_silu(rows, cols, seed):
    (x,) = inputs(seed, rows, cols)
    assert np.all(ulps(run("silu", {"x": x}, ROWS=rows, COLS=cols), silu(x)) <= 1)


@settings(max_examples=8, deadline=None)
@given(**shapes)
def test_swiglu(rows, cols, seed):
    gate, up = inputs(seed, rows, cols, 2)
    y = run("swiglu", {"gate": gate, "up": up}, ROWS=rows, COLS=cols)
    assert np.all(ulps(y, silu(gate) * up) <= 2)


@settings(max_examples=8, deadline=None)
@given(**shapes)
def test_residual_add(rows, cols, seed):
    x, r = inputs(seed, rows, cols, 2)
    np.testing.assert_array_equal(
        run("residual_add", {"x": x, "r": r}, ROWS=rows, COLS=cols), x + r
    )
