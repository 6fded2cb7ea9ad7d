"""`python -m programs.minilm`: the text and JSON outputs, and errors without tracebacks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from programs.minilm.__main__ import main

PAIR = ["A man is eating food.", "A man is eating a piece of bread."]


def test_text(capsys):
    assert main(PAIR) == 0
    out = capsys.readouterr().out
    assert "cosine similarity" in out and "J1 report" in out
    assert "sentences/J" in out and "latency/sentence" in out and "utilisation" in out
    similarity = [line for line in out.splitlines() if line.startswith("  [1] ")][-1]
    assert 0.7 < float(similarity.split()[1]) < 0.8  # the two sentences are related: ~0.755


def test_json(capsys):
    assert main(["--json", "--precision", "bf16", *PAIR]) == 0
    data = json.loads(capsys.readouterr().out)
    vectors = np.array(data["embeddings"])
    assert data["precision"] == "bf16" and vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert data["report"]["cycles"] > 0


def test_errors(capsys):
    assert main(["--machine", "no-such-machine", "hello"]) == 1
    assert "error:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([])
