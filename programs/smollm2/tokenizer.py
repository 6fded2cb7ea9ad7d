"""The model's tokeniser and chat template, built from the GGUF metadata alone.

    >>> tok = Tokenizer.from_gguf(model)
    >>> tok.encode("def fibonacci(n):")
    [1604, 3987, 46477, 24, 94, 727]
    >>> tok.chat_prompt("What is 2+2?")          # the ChatML prompt, generation turn opened

Byte-level BPE (`tokenizer.ggml.model` "gpt2") over `tokenizer.ggml.tokens` and `.merges`,
run by the `tokenizers` library. The pre-tokenizer is the one `tokenizer.ggml.pre` names, as
llama.cpp defines it (llama-vocab.cpp): for "smollm" (and starcoder, refact, command-r,
codeshell, exaone, minerva) first every digit on its own (`\\p{N}`), then the GPT-2 regex —
in `tokenizers` terms Digits(individual_digits) then ByteLevel(use_regex). The ids agree
with llama.cpp's tokeniser for this file (tests/smollm2/test_tokenizer.py). Tokens of type
3 (control: <|endoftext|>, <|im_start|>, <|im_end|>, <repo_name>, ...) are special: matched
whole in the text, never split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tokenizers import AddedToken, decoders, models, pre_tokenizers
from tokenizers import Tokenizer as HfTokenizer

from programs.smollm2.gguf_model import GgufModel, ModelFileError

# tokenizer.ggml.pre names whose pre-tokenizer is "digits one by one, then GPT-2's regex"
_DIGITS_THEN_GPT2 = {"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone",
                     "minerva"}  # fmt: skip
_GPT2_ONLY = {"gpt2", "default", "mpt", "olmo", "jais"}
CONTROL = 3  # llama.cpp's LLAMA_TOKEN_TYPE_CONTROL

_CHATML_TURN = re.compile(r"'<\|im_start\|>'\s*\+\s*message\['role'\]\s*\+\s*'\n'")
# the template's own default system turn, when the conversation has none
_DEFAULT_SYSTEM = re.compile(r"""['"]<\|im_start\|>system\n(.*?)<\|im_end\|>\n['"]""", re.DOTALL)


def pre_tokenizer_for(name: str) -> pre_tokenizers.PreTokenizer:
    """The `tokenizers` pre-tokenizer that llama.cpp's pre-tokenizer `name` amounts to."""
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if name in _DIGITS_THEN_GPT2:
        digits = pre_tokenizers.Digits(individual_digits=True)
        return pre_tokenizers.Sequence([digits, byte_level])
    if name in _GPT2_ONLY:
        return byte_level
    raise ModelFileError(f"unsupported tokenizer.ggml.pre {name!r}")


@dataclass(frozen=True)
class ChatTemplate:
    """The model's ChatML template (`tokenizer.chat_template`), rendered without jinja.

    SmolLM2's template writes each message as `<|im_start|>{role}\\n{content}<|im_end|>\\n`,
    prepends a default system turn when the first message is not a system one, and opens
    the assistant's turn when asked. The default system text is taken from the template.
    tests/smollm2/test_tokenizer.py checks this against jinja2 rendering the template itself.
    """

    source: str
    default_system: str | None

    @classmethod
    def parse(cls, source: str) -> ChatTemplate:
        """Check that `source` is a ChatML template and read its default system message."""
        text = source.replace("\\n", "\n")  # jinja's string escape
        if not _CHATML_TURN.search(text.replace('"', "'")):
            raise ModelFileError("chat template is not ChatML; cannot render it")
        found = _DEFAULT_SYSTEM.search(text)
        return cls(source, found.group(1) if found else None)

    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        """The prompt text for `messages` ([{"role": ..., "content": ...}, ...])."""
        if not messages:
            raise ValueError("a chat needs at least one message")
        parts = []
        if messages[0].get("role") != "system" and self.default_system is not None:
            parts.append(f"<|im_start|>system\n{self.default_system}<|im_end|>\n")
        for message in messages:
            role, content = message.get("role"), message.get("content")
            if role not in ("system", "user", "assistant") or not isinstance(content, str):
                raise ValueError(f"bad chat message {message!r}")
            parts.append(f"<|im_start|>{role}\n{content}<|im_end|>\n")
        if add_generation_prompt:
            parts.append("<|im_start|>assistant\n")
        return "".join(parts)


class Tokenizer:
    """Text <-> token ids for the GGUF's vocabulary, plus its chat template."""

    def __init__(self, tokens: list[str], merges: list[str], token_types: list[int],
                 pre: str, chat_template: ChatTemplate | None, eos_id: int) -> None:  # fmt: skip
        vocab = {token: i for i, token in enumerate(tokens)}
        pairs = [tuple(m.split(" ", 1)) for m in merges]
        self.hf = HfTokenizer(models.BPE(vocab=vocab, merges=pairs, fuse_unk=False))
        self.hf.pre_tokenizer = pre_tokenizer_for(pre)
        self.hf.decoder = decoders.ByteLevel()
        control = [tokens[i] for i, kind in enumerate(token_types) if kind == CONTROL]
        self.hf.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in control])
        self.special = {t: vocab[t] for t in control}
        self.chat_template = chat_template
        self.eos_id = eos_id
        self.vocab_size = len(tokens)

    @classmethod
    def from_gguf(cls, model: GgufModel) -> Tokenizer:
        """Build the tokeniser from the `tokenizer.*` metadata of `model`."""
        kind = model.meta("tokenizer.ggml.model")
        if kind != "gpt2":
            raise ModelFileError(f"tokenizer.ggml.model {kind!r}: only byte-level BPE (gpt2)")
        template = model.meta("tokenizer.chat_template")
        return cls(
            tokens=model.require("tokenizer.ggml.tokens"),
            merges=model.require("tokenizer.ggml.merges"),
            token_types=model.require("tokenizer.ggml.token_type"),
            pre=model.meta("tokenizer.ggml.pre", "default"),
            chat_template=ChatTemplate.parse(template) if template else None,
            eos_id=int(model.require("tokenizer.ggml.eos_token_id")),
        )

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`; special tokens written in it become their ids."""
        if not isinstance(text, str):
            raise TypeError(f"encode takes str, not {type(text).__name__}")
        return self.hf.encode(text, add_special_tokens=False).ids

    def decode(self, ids, skip_special: bool = False) -> str:
        """The text of `ids` (invalid UTF-8 from a partial character becomes U+FFFD)."""
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(f"token ids out of range 0..{self.vocab_size - 1}: {bad[:5]}")
        return self.hf.decode(ids, skip_special_tokens=skip_special)

    def chat_prompt(self, user: str, system: str | None = None) -> str:
        """The chat-template prompt for one user message, assistant turn opened."""
        if self.chat_template is None:
            raise ModelFileError("the model has no chat template")
        messages = [{"role": "system", "content": system}] if system is not None else []
        messages.append({"role": "user", "content": user})
        return self.chat_template.render(messages, add_generation_prompt=True)
