"""Float64 special functions NumPy lacks, vectorised: erf for the activation unit's GELU.

erf is evaluated from two classical expansions (Abramowitz & Stegun, Handbook of
Mathematical Functions, 1964), each used where it converges quickly:

* |x| < 2: the everywhere-positive series 7.1.6,
  erf(x) = 2/sqrt(pi) * exp(-x**2) * sum_n (2 x**2)**n / (1 * 3 * ... * (2n + 1)),
  30 terms by Horner's rule (the last term is below 2**-56 of the sum at |x| = 2);
* |x| >= 2: the continued fraction 7.1.14 for erfc,
  erfc(x) = exp(-x**2) / sqrt(pi) * 1 / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))),
  50 levels evaluated bottom-up, then erf = 1 - erfc (erfc underflows to 0 for large x).

This is the scheme CPython's own math.erf used before it delegated to the C library. The
coefficients are exact rationals rounded once. Measured against math.erf on 600,000 points
(tests/iss/engines/test_activation.py): at most 4 float64 ulps, and GELU results rounded to
fp32 agree bit for bit.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

_SERIES_TERMS = 30
_FRACTION_LEVELS = 50
_SPLIT = 2.0
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_ONE_OVER_SQRT_PI = 1 / math.sqrt(math.pi)


def _series_coefficients(terms: int) -> tuple[float, ...]:
    """1 / (1 * 3 * ... * (2n + 1)) for n = 0 .. terms - 1, each rounded once."""
    coefficients, product = [], 1
    for n in range(terms):
        product *= 2 * n + 1
        coefficients.append(float(Fraction(1, product)))
    return tuple(coefficients)


_SERIES = _series_coefficients(_SERIES_TERMS)


def _erf_series(x: np.ndarray) -> np.ndarray:
    y = 2.0 * x * x
    total = np.full_like(x, _SERIES[-1])
    for coefficient in _SERIES[-2::-1]:
        total *= y
        total += coefficient
    return _TWO_OVER_SQRT_PI * x * np.exp(-x * x) * total


def _erfc_fraction(x: np.ndarray) -> np.ndarray:
    """erfc(x) for x >= 2 (and +Inf, giving 0; NaN stays NaN)."""
    denominator = x.copy()
    for level in range(_FRACTION_LEVELS, 0, -1):
        np.divide(level / 2, denominator, out=denominator)
        denominator += x
    return np.exp(-x * x) * _ONE_OVER_SQRT_PI / denominator


@np.errstate(all="ignore")  # Inf / Inf in the fraction at x = Inf resolves to erfc = 0
def erf(x: np.ndarray) -> np.ndarray:
    """The error function of a float64 array, elementwise (odd; erf(±Inf) = ±1, NaN -> NaN)."""
    x = np.asarray(x, dtype=np.float64)
    magnitude = np.abs(x)
    near = magnitude < _SPLIT  # False for NaN, which the fraction passes through
    result = np.empty_like(x)
    result[near] = _erf_series(x[near])
    far = ~near
    result[far] = np.copysign(1.0 - _erfc_fraction(magnitude[far]), x[far])
    return result
