"""Fuzzing (hypothesis): any input — random bytes, random text, mutated programs — ends in
diagnostics or a program, never an exception. benchmarks/fuzz_jasm.py runs longer."""

from __future__ import annotations

import random
import string

from fuzz_inputs import FRAGMENTS, mutate, run_one, seed_programs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SEEDS = seed_programs()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes(data: bytes) -> None:
    run_one(data)


@FUZZ
@given(st.text(alphabet=string.printable, max_size=3000))
def test_random_printable_text(text: str) -> None:
    run_one(text)


@FUZZ
@given(st.lists(st.sampled_from([*FRAGMENTS, "nop\n", "addi a0, a0, 1\n", "halt\n"]), max_size=40))
def test_random_fragment_soup(parts: list[str]) -> None:
    run_one("".join(parts))


@FUZZ
@given(st.sampled_from(SEEDS), st.integers(0, 2**32 - 1))
def test_mutated_programs(seed: str, salt: int) -> None:
    run_one(mutate(seed, random.Random(salt)))


def test_hostile_inputs_end_in_diagnostics() -> None:
    hostile = [
        b"\xff\xfe\x00junk",  # invalid UTF-8
        "nop\n" + "x" * 1_000_001,  # a million-character line
        ".byte " + "(" * 100_000 + "1" + ")" * 100_000,  # deep nesting
        ".byte " + "-" * 100_000 + "1",  # deep unary chain
        ".byte " + "+".join(["1"] * 50_000),  # long operator chain
        ".dword " + "9" * 5000,  # a huge number
        ".float 1" + "0" * 400,
        ".rept 1000000000000\nnop\n.endr\n",
        ".rept 1000\n.rept 1000\n.rept 1000\nnop\n.endr\n.endr\n.endr\n",
        ".macro m\nm\n.endm\nm\n",  # recursive macro
        ".space 0xffffffff, 1\n",
        ".input x, fp32, (65536, 65536, 65536)\n",
        "li a0, " + "1 << 100 " * 3,
        "\n".join(f"e{i}: .byte 1000" for i in range(200)),  # many errors: capped
        "\x00" * 10_000,
    ]
    for source in hostile:
        assert run_one(source) is False
