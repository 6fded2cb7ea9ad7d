"""all-MiniLM-L6-v2 on the simulated J1 against the float32 NumPy reference, in the same run.

Host wall time per sentence of 16-32 tokens: the simulator (programs/minilm, fp32 and bf16,
batched and one sentence per chip run) against tests/minilm/reference.py, the independent
NumPy model (one sentence at a time, unpadded, single-threaded BLAS), measured interleaved,
best of REPEAT. Target: simulator <= 3x the reference. Also prints the chip's simulated
latency per sentence and sentences per joule on the default j1, and the embeddings' max
|diff| to the reference.

    python benchmarks/minilm.py [--sentences N] [--repeat R]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import best_of  # noqa: E402, I001  (pins BLAS to one thread: import first)

import numpy as np  # noqa: E402
from programs.minilm.model import MiniLM  # noqa: E402
from tests.minilm.reference import ReferenceMiniLM  # noqa: E402

TARGET = 3.0
SUBJECTS = ["the old lighthouse keeper", "a young software engineer", "my neighbour's cat",
            "the city council", "an amateur astronomer", "the orchestra's first violinist",
            "a group of hikers", "the research team"]  # fmt: skip
VERBS = ["noticed", "carefully explained", "could not believe", "wrote a long report about",
         "argued for hours over", "quietly celebrated"]  # fmt: skip
OBJECTS = ["the strange lights that appeared over the harbour last night",
           "why the new bridge had been closed to traffic since Tuesday",
           "a surprising result in the quarterly budget of 2024",
           "the best way to cook rice without burning the bottom of the pot",
           "how quickly the snow melted after the warm wind arrived"]  # fmt: skip


def sentences(count: int, reference: ReferenceMiniLM) -> list[str]:
    """`count` varied sentences of 16-32 tokens ([CLS] and [SEP] included)."""
    out = []
    for i in range(count * 4):
        s = (f"{SUBJECTS[i % len(SUBJECTS)].capitalize()} {VERBS[i % len(VERBS)]} "
             f"{OBJECTS[i % len(OBJECTS)]}.")  # fmt: skip
        if 16 <= len(reference.tokenize(s)[0]) <= 32 and s not in out:
            out.append(s)
        if len(out) == count:
            return out
    raise RuntimeError("not enough sentences of 16-32 tokens")


def measure(chip: MiniLM, reference: ReferenceMiniLM, texts: list[str], batched: bool,
            repeat: int) -> None:  # fmt: skip
    """Time one configuration and the reference, interleaved; print one line."""

    def on_chip() -> np.ndarray:
        if batched:
            return chip.embed(texts)
        return np.concatenate([chip.embed([t]) for t in texts])

    on_chip()  # warm: blocks translated, memory pages mapped
    chip_s = ref_s = float("inf")
    for _ in range(repeat):
        chip_s = min(chip_s, best_of(on_chip, repeat=1))
        ref_s = min(ref_s, best_of(lambda: reference.embed(texts), repeat=1))
    got, want = on_chip(), reference.embed(texts)
    if batched:
        report = chip.report()
        latency, per_joule = report.seconds / len(texts), len(texts) / report.energy_j
    else:  # one run per sentence: the chip's figures for the last one
        report = chip.report()
        latency, per_joule = report.seconds, 1 / report.energy_j
    n = len(texts)
    ratio = chip_s / ref_s
    mode = f"batch of {n}" if batched else "one at a time"
    print(
        f"minilm {chip.precision} {mode:>13s}: host {chip_s / n * 1e3:6.1f} ms/sentence | "
        f"numpy {ref_s / n * 1e3:5.1f} ms/sentence | ratio {ratio:4.2f} "
        f"({'ok' if ratio <= TARGET else 'MISSED'}, target <= {TARGET:g}) | "
        f"J1 {latency * 1e6:6.1f} us/sentence, {per_joule:6.0f} sentences/J, "
        f"MXU {report.mxu_utilisation:.0%} | max |diff| {np.abs(got - want).max():.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    reference = ReferenceMiniLM()
    texts = sentences(args.sentences, reference)
    tokens = [len(reference.tokenize(t)[0]) for t in texts]
    print(f"{len(texts)} sentences of {min(tokens)}-{max(tokens)} tokens "
          f"(mean {np.mean(tokens):.1f}); simulator on j1")  # fmt: skip
    for precision in ("fp32", "bf16"):
        start = time.perf_counter()
        chip = MiniLM(precision)
        print(f"minilm {precision} set-up (assemble, load weights): "
              f"{time.perf_counter() - start:.2f} s, once per process")  # fmt: skip
        measure(chip, reference, texts, batched=True, repeat=args.repeat)
        measure(chip, reference, texts, batched=False, repeat=max(1, args.repeat - 1))


if __name__ == "__main__":
    main()
