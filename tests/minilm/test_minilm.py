"""all-MiniLM-L6-v2 on the simulated J1 (programs/minilm) against the independent float32
NumPy model in reference.py, which loads the same safetensors file.

fp32: every embedding within 1e-5 (max |diff|) of the reference, batched (sentences of
different lengths padded together) and one at a time. The bound is tight enough to tell
the exact erf GELU from the tanh approximation, which test_bound_catches_tanh_gelu checks on
the reference itself. bf16: cosine >= 0.999 to the fp32 reference for every sentence.
"""

from __future__ import annotations

import numpy as np
import pytest

from programs.minilm.model import SHORT, MiniLM, ModelError, pad, plan_batches

from .cases import LONG, SENTENCES
from .reference import ReferenceMiniLM

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def reference() -> ReferenceMiniLM:
    return ReferenceMiniLM()


@pytest.fixture(scope="module")
def expected(reference) -> np.ndarray:
    return reference.embed(SENTENCES)


@pytest.fixture(scope="module")
def chip() -> MiniLM:
    return MiniLM("fp32", race="error")


def test_sentences_are_varied(reference):
    """The test set spans 4 to 242 tokens; longer text is truncated at 256."""
    lengths = [len(reference.tokenize(s)[0]) for s in SENTENCES]
    assert min(lengths) <= 5 and 230 <= max(lengths) <= 256
    assert len(reference.tokenize(LONG * 2)[0]) == 256  # truncated as sentence-transformers


def test_fp32_batched(chip, expected, record_property):
    """One call: the short sentences share a padded run, the long one takes its own."""
    got = chip.embed(SENTENCES)
    assert got.shape == (len(SENTENCES), 384) and got.dtype == np.float32
    diff = np.abs(got - expected).max(axis=1)
    print("fp32 batched max |diff| per sentence:", diff)
    record_property("fp32_max_abs_diff", float(diff.max()))
    assert diff.max() <= TOLERANCE
    assert len(chip.reports) == 2


def test_fp32_one_at_a_time(chip, expected):
    for sentence, want in zip(SENTENCES, expected, strict=True):
        got = chip.embed([sentence])[0]
        assert np.abs(got - want).max() <= TOLERANCE, sentence[:40]


def test_many_runs_keep_order(expected):
    """More sentences than one run holds: runs of two, results back in the caller's order."""
    small = MiniLM("fp32", max_batch=2)
    got = small.embed(SENTENCES[:5])
    assert len(small.reports) == 3
    assert np.abs(got - expected[:5]).max() <= TOLERANCE
    assert small.report().extra["sentences"] == 5


def test_without_deferred_evaluation(expected):
    """The simulator defers matrix products and DMA copies (iss.deferred); computing every
    instruction as it executes must give the same embeddings. (An earlier layout of the
    attention kernel's scratch buffers made the two differ: a hazard deferral missed.)"""
    immediate = MiniLM("fp32", defer=False)
    assert np.abs(immediate.embed(SENTENCES[1:5]) - expected[1:5]).max() <= TOLERANCE


def test_hidden_states(chip, reference):
    """The encoder output of every real token, before pooling, matches too (padding rows of
    the shorter sentences are not compared)."""
    sentences = SENTENCES[1:5]
    chip.embed(sentences)
    states = chip.hidden_states()
    encodings = chip.tokenizer.encode(sentences)
    order = plan_batches([len(ids) for ids, _ in encodings], 32, 2048)[0]
    for row, index in enumerate(order):
        ids, types = (np.array(v) for v in encodings[index])
        want = reference.hidden_states(ids, types)
        assert np.abs(states[row, : len(ids)] - want).max() <= 1e-5 * np.abs(want).max()


def test_bf16(expected, record_property):
    got = MiniLM("bf16", race="error").embed(SENTENCES)
    cosine = (got * expected).sum(axis=1) / np.linalg.norm(got, axis=1)
    diff = np.abs(got - expected).max()
    print(f"bf16: min cosine {cosine.min():.6f}, max |diff| {diff:.3g}")
    record_property("bf16_min_cosine", float(cosine.min()))
    record_property("bf16_max_abs_diff", float(diff))
    assert cosine.min() >= 0.999
    assert diff > TOLERANCE  # it did round: bf16 is not fp32


def test_bound_catches_tanh_gelu(reference, expected, monkeypatch):
    """The tanh approximation of GELU keeps cosines near 1 but breaks the 1e-5 bound."""
    from . import reference as reference_module

    def gelu_tanh(x):
        x64 = x.astype(np.float64)
        inner = np.sqrt(2 / np.pi) * (x64 + 0.044715 * x64**3)
        return (0.5 * x64 * (1 + np.tanh(inner))).astype(np.float32)

    monkeypatch.setattr(reference_module, "gelu", gelu_tanh)
    approx = reference.embed(SENTENCES[:3])
    assert (approx * expected[:3]).sum(axis=1).min() > 0.99999
    assert np.abs(approx - expected[:3]).max() > TOLERANCE


def test_errors(chip):
    with pytest.raises(TypeError):
        chip.embed("not a list")
    with pytest.raises(ValueError):
        chip.embed([])
    with pytest.raises(TypeError):
        chip.embed(["fine", 3])
    with pytest.raises(ValueError):
        MiniLM("fp16")


def test_program_checks_sizes(chip):
    """The program itself refuses lengths its buffers and masks cannot mean."""
    batch = pad([([101, 7592, 102], [0, 0, 0])])
    batch.lengths[0] = 4  # more than S
    with pytest.raises(ModelError, match="status 1"):
        chip.run_batch(batch)
    with pytest.raises(ModelError, match="exceeds"):
        chip.run_batch(pad([([101] * 200, [0] * 200)] * 11))  # 2200 > 2048 tokens


def test_plan_batches():
    assert plan_batches([5, 300, 7, 200, 3], max_batch=2, max_tokens=2048) == [[1, 3], [2, 0], [4]]
    assert plan_batches([100] * 5, max_batch=32, max_tokens=256) == [[0, 1], [2, 3], [4]]
    # a short sentence never joins a run padded past the short-attention limit
    assert plan_batches([200, 20], max_batch=32, max_tokens=2048) == [[0], [1]]
    assert SHORT == 128
