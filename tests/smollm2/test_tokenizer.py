"""The tokeniser built from the GGUF metadata against ground-truth ids.

The expected ids were produced by llama.cpp's own tokeniser for this file
(llama-cpp-python 0.3.x, `Llama(model_path, vocab_only=True).tokenize(text, add_bos=False,
special=True)`), which implements the "smollm" pre-tokenizer natively; several of them
(the fibonacci prompt, the digits) also follow by hand from the rules in tokenizer.py.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from programs.smollm2.gguf_model import ModelFileError
from programs.smollm2.tokenizer import ChatTemplate, pre_tokenizer_for

GROUND_TRUTH = {
    "def fibonacci(n):": [1604, 3987, 46477, 24, 94, 727],
    "Hello, world! 12345 apples cost $3.50.": [
        19556, 28, 905, 17, 216, 33, 34, 35, 36, 37, 13855, 1708, 1885, 35, 30, 37, 32, 30],
    "  leading spaces\n\n\ttabs and\r\nCRLF   ": [
        216, 2899, 5600, 1116, 197, 100, 7366, 284, 201, 198, 9088, 60, 54, 333],
    "Ünïcödé: 日本語のテキスト, emoji 🚀🔥, Ελληνικά, русский": [
        142, 246, 94, 25972, 83, 7466, 84, 2756, 42, 17097, 241, 115, 40993, 179, 120, 248,
        26453, 11100, 224, 10391, 251, 10391, 134, 11100, 226, 28, 649, 33777, 15107, 244,
        218, 10813, 238, 115, 28, 5664, 239, 17162, 17162, 25723, 11517, 12001, 21118, 26112,
        28, 216, 9175, 14714, 9382, 39511, 7872, 24958],
    "x = [i**2 for i in range(10)]  # squares": [
        104, 446, 933, 89, 828, 34, 327, 2056, 281, 1845, 24, 33, 32, 8307, 216, 907, 16207],
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n": [1, 4093, 198, 1780, 314, 216, 34, 27, 34,
                                                   47, 2, 198],
    "it's they're we've I'm you'll he'd": [
        269, 506, 502, 2316, 392, 3543, 339, 5248, 346, 3060, 384, 6737],
    "1234567890 3.14159 -42 1e-5": [
        33, 34, 35, 36, 37, 38, 39, 40, 41, 32, 216, 35, 30, 33, 36, 33, 37, 41, 731, 36, 34,
        216, 33, 85, 29, 37],
    "<|endoftext|><repo_name>foo<file_sep>": [0, 3, 15236, 5],
    "The quick brown fox jumps over the lazy dog.": [
        504, 2365, 6354, 16438, 27003, 690, 260, 23790, 2767, 30],
}  # fmt: skip


@pytest.mark.parametrize("text", list(GROUND_TRUTH))
def test_ids_match_llama_cpp(tokenizer, text):
    assert tokenizer.encode(text) == GROUND_TRUTH[text]


@pytest.mark.parametrize("text", list(GROUND_TRUTH))
def test_decode_inverts_encode(tokenizer, text):
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_every_digit_is_its_own_token(tokenizer):
    ids = tokenizer.encode("2024 and 31415926")
    digit_ids = [tokenizer.encode(d)[0] for d in "0123456789"]
    assert all(len(tokenizer.encode(d)) == 1 for d in "0123456789")
    assert ids[:4] == [digit_ids[int(c)] for c in "2024"]
    assert ids[-8:] == [digit_ids[int(c)] for c in "31415926"]


def test_special_tokens_map_to_their_ids(tokenizer):
    assert tokenizer.special["<|endoftext|>"] == 0
    assert tokenizer.special["<|im_start|>"] == 1
    assert tokenizer.special["<|im_end|>"] == 2
    assert tokenizer.eos_id == 2
    assert len(tokenizer.special) == 17
    for text, token_id in tokenizer.special.items():
        assert tokenizer.encode(text) == [token_id]
        assert tokenizer.decode([token_id]) == text
    assert tokenizer.decode([1, 4093, 2], skip_special=True) == "user"


def test_a_special_token_inside_a_word_is_still_special(tokenizer):
    assert tokenizer.encode("ab<|im_end|>cd") == [
        *tokenizer.encode("ab"), 2, *tokenizer.encode("cd")]  # fmt: skip


def gpt2_byte_chars() -> dict[int, str]:
    """GPT-2's byte -> printable character map that byte-level BPE vocabularies are written in."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0x100)]
    extra = (b for b in range(256) if b not in printable)
    return {**{b: chr(b) for b in printable}, **{b: chr(256 + n) for n, b in enumerate(extra)}}


def missing_bytes(tokenizer) -> set[int]:
    vocab = tokenizer.hf.get_vocab()
    return {b for b, c in gpt2_byte_chars().items() if c not in vocab}


def test_vocabulary_lacks_21_byte_tokens(tokenizer):
    # control bytes the training data never had, and UTF-8 lead bytes of planes 4-16
    missing = missing_bytes(tokenizer)
    assert len(missing) == 21
    assert {0x06, 0xC0, 0xC1, 0xF1, 0xF5, 0xFF} <= missing


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40))
def test_any_unicode_text_round_trips(tokenizer, text):
    assume(not set(text.encode()) & missing_bytes(tokenizer))
    ids = tokenizer.encode(text)
    assert all(0 <= i < tokenizer.vocab_size for i in ids)
    assert tokenizer.decode(ids) == text


def test_bytes_missing_from_the_vocabulary_are_dropped_as_llama_cpp_does(tokenizer):
    # no byte token for lead byte 0xF1 (planes 4-16): the character loses that byte, in
    # llama.cpp and in Hugging Face alike
    assert tokenizer.encode("\U00040000") == [218, 218, 218]


def test_bad_input_is_a_clear_error(tokenizer):
    with pytest.raises(TypeError, match="takes str"):
        tokenizer.encode(b"bytes")
    with pytest.raises(ValueError, match="out of range"):
        tokenizer.decode([5, 49152])
    with pytest.raises(ModelFileError, match="unsupported"):
        pre_tokenizer_for("no-such-pre")


def test_chat_prompt_adds_the_default_system_turn(tokenizer):
    assert tokenizer.chat_prompt("Hi!") == (
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
        "Face<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"
    )
    custom = tokenizer.chat_prompt("Hi!", system="Be brief.")
    assert custom.startswith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n")


@pytest.mark.parametrize(
    "messages",
    [[{"role": "user", "content": "What is 2+2?"}],
     [{"role": "system", "content": "You answer in French."},
      {"role": "user", "content": "Hello"}],
     [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
      {"role": "user", "content": "c\nd"}]],
)  # fmt: skip
def test_chat_template_matches_jinja(tokenizer, messages):
    jinja2 = pytest.importorskip("jinja2.sandbox")
    template = jinja2.ImmutableSandboxedEnvironment().from_string(tokenizer.chat_template.source)
    for generation in (True, False):
        expected = template.render(messages=messages, add_generation_prompt=generation)
        assert tokenizer.chat_template.render(messages, generation) == expected


def test_chat_template_rejects_what_it_cannot_render(tokenizer):
    with pytest.raises(ModelFileError, match="not ChatML"):
        ChatTemplate.parse("{{ messages[0]['content'] }}")
    with pytest.raises(ValueError, match="bad chat message"):
        tokenizer.chat_template.render([{"role": "robot", "content": "x"}])
    with pytest.raises(ValueError, match="at least one"):
        tokenizer.chat_template.render([])
