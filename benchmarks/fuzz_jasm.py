"""A longer fuzzing run of jasm than the test suite's: random bytes, random text, fragment
soup and mutated test programs, for a time budget. Prints the inputs tried, the crashes
found (each saved under --crashes; an input running longer than --hang seconds counts as one)
and the slowest input.

    python benchmarks/fuzz_jasm.py [--seconds 60] [--seed 1] [--crashes /tmp/jasm-crashes]
"""

from __future__ import annotations

import argparse
import random
import signal
import string
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "asm")]
__import__("benchmarks.common")  # pins BLAS to one thread before numpy loads

from fuzz_inputs import FRAGMENTS, mutate, run_one, seed_programs  # noqa: E402


def make_input(rng: random.Random, seeds: list[str]) -> str | bytes:
    kind = rng.randrange(4)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(2000)))
    if kind == 1:
        return "".join(rng.choice(string.printable) for _ in range(rng.randrange(2000)))
    if kind == 2:
        return "".join(rng.choice(FRAGMENTS) for _ in range(rng.randrange(40)))
    return mutate(rng.choice(seeds), rng, rounds=8)


class Hang(Exception):
    """An input took longer than --hang seconds."""


def _alarm(signum: int, frame: object) -> None:
    raise Hang


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--crashes", default="/tmp/jasm-crashes")
    parser.add_argument("--hang", type=float, default=10.0, help="seconds that count as a hang")
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    rng = random.Random(args.seed)
    seeds = seed_programs()
    tried = assembled = crashes = 0
    slowest, slowest_input = 0.0, ""
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        source = make_input(rng, seeds)
        start = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, args.hang)
        try:
            assembled += run_one(source)
            signal.setitimer(signal.ITIMER_REAL, 0)
        except Exception:  # a crash (or a Hang) is what we are looking for
            signal.setitimer(signal.ITIMER_REAL, 0)
            crashes += 1
            folder = Path(args.crashes)
            folder.mkdir(parents=True, exist_ok=True)
            data = source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source
            (folder / f"crash-{crashes}.jasm").write_bytes(data)
            print(f"crash {crashes}: {traceback.format_exc().splitlines()[-1]}", flush=True)
        elapsed = time.perf_counter() - start
        if elapsed > slowest:
            slowest, slowest_input = elapsed, repr(source[:80])
        tried += 1
    print(
        f"inputs tried: {tried} ({assembled} assembled, {tried - assembled - crashes} rejected "
        f"with diagnostics)"
    )
    print(f"crashes found: {crashes}" + (f" (saved in {args.crashes})" if crashes else ""))
    print(f"slowest input: {slowest * 1000:.0f} ms: {slowest_input}")
    sys.exit(1 if crashes else 0)


if __name__ == "__main__":
    main()
