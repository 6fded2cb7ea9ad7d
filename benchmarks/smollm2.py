"""SmolLM2-135M decode on the simulated J1 against the float32 NumPy reference, in one run.

Host wall seconds per generated token (greedy, the KV cache on chip) against
tests/smollm2/reference.py (the independent NumPy model with a KV cache, single-threaded
BLAS) decoding the same tokens after the same prompt:

* steady state — the chip kept loaded, as a server keeps it, generating on: each round
  decodes the next `--tokens` tokens at new positions, the kernel calls it replays
  (iss.plans) recorded by the rounds before; the reference decodes the same tokens at the
  same positions, interleaved with the chip's rounds; the fastest round of each counts (the
  machine is shared; the least disturbed round is the measure). Target: simulator <= 3x
  the reference.
* first request — a freshly loaded chip decoding the first `--tokens` tokens (the calls it
  records on the way).

Also prints the chip's simulated decode tokens/s and tokens/J on the default j1 and the
share of its DRAM traffic that is weights.

    python benchmarks/smollm2.py [--tokens N] [--rounds R] [--machine j1]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import benchmarks.common  # noqa: E402, F401, I001  (pins BLAS to one thread: import first)

from programs.smollm2.chip import Chip  # noqa: E402
from programs.smollm2.generate import SmolLM2  # noqa: E402

TARGET = 3.0
PROMPT = "def fibonacci(n):"


def load_reference():
    """tests/smollm2/reference.py by path (tests/minilm has a module of the same name)."""
    path = ROOT / "tests" / "smollm2" / "reference.py"
    spec = importlib.util.spec_from_file_location("smollm2_reference", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def reference_decode(reference, prefix: list[int], tokens: list[int]) -> float:
    """Seconds for the reference to decode `tokens` one at a time after `prefix`."""
    cache = reference.new_cache(len(prefix) + len(tokens))
    reference.forward(prefix, cache)
    start = time.perf_counter()
    for token in tokens:
        reference.forward([token], cache)
    return time.perf_counter() - start


def chip_decode(chip: Chip, prompt: list[int], tokens: list[int], pos: int) -> float:
    """Seconds for `chip` to decode `tokens` one at a time from position `pos` (the prompt
    prefilled first when the chip is fresh)."""
    if chip.cycles == 0:
        chip.step(prompt, 0)
    start = time.perf_counter()
    for i, token in enumerate(tokens):
        chip.step([token], pos + i)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=8, help="decode steps timed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--machine", default="j1")
    args = parser.parse_args()
    runner = SmolLM2(machine=args.machine, max_seq=128)
    reference = load_reference().Reference(runner.model.reader)
    n = args.tokens
    result = runner.generate(PROMPT, max_new_tokens=n * (args.rounds + 1) + 1)
    prompt, generated = result.prompt_ids, result.token_ids
    chip = Chip(runner.model, machine=args.machine, max_seq=runner.max_seq)
    first = chip_decode(chip, prompt, generated[:n], len(prompt))  # records as it goes
    chip_s = ref_s = float("inf")
    for r in range(1, args.rounds + 1):
        prefix, tokens = prompt + generated[: r * n], generated[r * n : (r + 1) * n]
        chip_s = min(chip_s, chip_decode(chip, prompt, tokens, len(prefix)))
        ref_s = min(ref_s, reference_decode(reference, prefix, tokens))
    ratio = chip_s / ref_s
    extra = result.report.extra
    print(f"smollm2 decode, {n} tokens a round at new positions ({args.rounds} rounds) after "
          f"the {len(prompt)}-token prompt {PROMPT!r}")  # fmt: skip
    print(f"  host    simulator {chip_s / n * 1e3:8.1f} ms/token | numpy fp32 reference "
          f"{ref_s / n * 1e3:6.1f} ms/token | ratio {ratio:5.2f} "
          f"({'ok' if ratio <= TARGET else 'MISSED'}, target <= {TARGET:g})")  # fmt: skip
    print(f"  first request on a fresh chip: {first / n * 1e3:.1f} ms/token "
          f"({first / ref_s:.1f}x the reference)")  # fmt: skip
    print(f"  J1 ({args.machine}) {extra['decode tokens/s']:,.0f} tokens/s, "
          f"{extra['decode tokens/J']:,.1f} tokens/J ({extra['decode J/token'] * 1e3:.2f} "
          f"mJ/token), {extra['DRAM bytes/token'] / 1e6:.1f} MB DRAM/token, weights "
          f"{extra['weight share DRAM']:.1%} of DRAM traffic")  # fmt: skip
    print("  (H100 at batch 1, from the brief: 345 tokens/s, 0.47 J/token = 2.1 tokens/J)")


if __name__ == "__main__":
    main()
