"""The NumPy reference itself: its erfc, and (where sentence-transformers and torch happen to
be installed) the original model's embeddings. CI installs neither; these checks were also
run when the reference was written (max |diff| 1.7e-7 to sentence-transformers 6.2)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from .cases import SENTENCES
from .reference import ReferenceMiniLM, erfc, model_dir


def test_erfc_matches_math():
    x = np.linspace(-12.0, 12.0, 48001)
    want = np.array([math.erfc(v) for v in x])
    assert np.all(np.abs(erfc(x) - want) <= 1e-13 * want)


def test_matches_sentence_transformers(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    st = pytest.importorskip("sentence_transformers")
    original = st.SentenceTransformer(str(model_dir()), device="cpu")
    want = original.encode(SENTENCES, convert_to_numpy=True)
    got = ReferenceMiniLM().embed(SENTENCES)
    assert np.abs(got - want).max() <= 1e-6
