"""`python -m programs.minilm "sentence" ...`: all-MiniLM-L6-v2 embeddings on the simulated J1.

Prints the first values of each embedding, the pairwise cosine similarities and the chip's
report (simulated latency per sentence, sentences per joule, utilisation); `--json` prints
the embeddings (and the report) as JSON instead.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from programs.minilm.model import PRECISIONS, MiniLM, ModelError

SHOWN = 6  #: leading values printed per embedding


def main(argv: list[str] | None = None) -> int:
    """Embed the sentences given on the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m programs.minilm",
                                     description=__doc__.splitlines()[0])  # fmt: skip
    parser.add_argument("sentences", nargs="+", metavar="SENTENCE")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="fp32",
        help="fp32, or bf16 matrix weights and matmul inputs (default fp32)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON: embeddings, report")
    parser.add_argument("--machine", default="j1", help="machine description (default j1)")
    args = parser.parse_args(argv)
    try:
        chip = MiniLM(args.precision, machine=args.machine)
        vectors = chip.embed(args.sentences)
        report = chip.report()
    except (ModelError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"model": "sentence-transformers/all-MiniLM-L6-v2",
                          "precision": args.precision, "sentences": args.sentences,
                          "embeddings": vectors.tolist(), "report": report.as_dict()}))  # fmt: skip
    else:
        print(text(args.sentences, vectors, args.precision))
        print(report.text())
    return 0


def text(sentences: list[str], vectors: np.ndarray, precision: str) -> str:
    """Embedding heads and the cosine similarity matrix, for a terminal."""
    lines = [f"all-MiniLM-L6-v2 on J1 ({precision}): {len(sentences)} sentence(s), 384 dims"]
    for i, (sentence, vector) in enumerate(zip(sentences, vectors, strict=True)):
        head = " ".join(f"{v:+.4f}" for v in vector[:SHOWN])
        lines.append(f"  [{i}] {head} ...  {shorten(sentence)}")
    similarity = vectors @ vectors.T  # rows are unit vectors: dot products are cosines
    lines.append("cosine similarity")
    lines.append("      " + " ".join(f"{f'[{j}]':>7s}" for j in range(len(sentences))))
    for i, row in enumerate(similarity):
        lines.append(f"  [{i}] " + " ".join(f"{v:7.4f}" for v in row))
    return "\n".join(lines)


def shorten(sentence: str, width: int = 50) -> str:
    """One line of at most `width` characters."""
    flat = " ".join(sentence.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


if __name__ == "__main__":
    sys.exit(main())
