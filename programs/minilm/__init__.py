"""all-MiniLM-L6-v2 sentence embeddings computed end to end on the simulated J1.

    >>> from programs.minilm import embed
    >>> vectors = embed(["A sentence.", "Another one."])   # (2, 384) float32, unit rows

The host tokenises (the model's tokenizer.json, as sentence-transformers does) and binds
weights and token ids; the J1 program (programs/minilm/minilm.jasm, built from the kernel
library) does the embedding gather, the six encoder layers, mean pooling and L2
normalisation. `MiniLM` keeps one loaded simulator and reports the chip's figures.
"""

from __future__ import annotations

import numpy as np

from programs.minilm.model import PRECISIONS, MiniLM, ModelError

__all__ = ["PRECISIONS", "MiniLM", "ModelError", "embed", "load"]

_models: dict[str, MiniLM] = {}


def load(precision: str = "fp32") -> MiniLM:
    """The process-wide MiniLM for `precision`, loaded on first use (assembling the program
    and binding the weights takes about a second)."""
    if precision not in _models:
        _models[precision] = MiniLM(precision)
    return _models[precision]


def embed(sentences: list[str], *, precision: str = "fp32") -> np.ndarray:
    """Sentence embeddings [len(sentences), 384], float32, L2-normalised, computed on the
    simulated J1. `precision`: "fp32" (fp32 weights and activations) or "bf16" (bf16 matrix
    weights and matmul inputs, fp32 accumulation and normalisation)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    return load(precision).embed(sentences)
