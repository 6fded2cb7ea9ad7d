"""Text generation with SmolLM2-135M-Instruct on the simulated J1.

    >>> result = generate("def fibonacci(n):", max_new_tokens=16)
    >>> result.text, result.token_ids, print(result.report.text())

The host tokenises, then the chip does the rest: one prefill step for the prompt (in chunks
of up to `max_tokens`), then one decode step per token, each running all 30 layers, the
logits and the greedy argmax on the chip (programs/smollm2/smollm2.jasm). With a
temperature the host samples from the chip's logits instead (top-k optional).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from iss.report import Report
from programs.smollm2.chip import Chip, StepResult
from programs.smollm2.gguf_model import GgufModel
from programs.smollm2.tokenizer import Tokenizer


@dataclass
class Generation:
    """The result of `generate`: the new tokens, their text and the chip's report."""

    prompt_ids: list[int]
    token_ids: list[int]  #: generated ids only (a stop token, if reached, is the last)
    text: str  #: the generated text (special tokens left out)
    report: Report  #: the J1 report of the whole run, figures per token in `report.extra`
    host_seconds: float  #: wall time of the prefill and decode steps on this host
    step_cycles: list[int] = field(default_factory=list)  #: prefill chunks, then each decode


@dataclass
class Phase:
    """Chip figures accumulated over one phase (prefill or decode)."""

    cycles: int = 0
    energy_j: float = 0.0
    dram_bytes: int = 0


class SmolLM2:
    """The model, its tokeniser and the chip settings; `generate` runs on a fresh chip."""

    def __init__(self, *, machine: str = "j1", max_seq: int = 512, max_tokens: int = 64,
                 race: str = "off", model: GgufModel | None = None) -> None:  # fmt: skip
        self.model = model or GgufModel.open()
        self.tokenizer = Tokenizer.from_gguf(self.model)
        self.machine, self.max_seq, self.max_tokens, self.race = machine, max_seq, max_tokens, race
        self.stop_ids = {self.tokenizer.eos_id, self.tokenizer.special["<|endoftext|>"]}

    def prompt_ids(self, prompt: str, chat: bool) -> list[int]:
        """Token ids of `prompt`, wrapped in the chat template when `chat`."""
        if not isinstance(prompt, str) or not prompt:
            raise ValueError("the prompt must be a non-empty string")
        return self.tokenizer.encode(self.tokenizer.chat_prompt(prompt) if chat else prompt)

    def generate(self, prompt: str, *, max_new_tokens: int, chat: bool = False,
                 temperature: float = 0.0, top_k: int = 0, seed: int | None = None,
                 on_token: Callable[[int], None] | None = None,
                 on_prefill: Callable[[int, int], None] | None = None,
                 record_events: bool = False) -> Generation:  # fmt: skip
        """Generate up to `max_new_tokens` after `prompt` (greedy unless `temperature` > 0).

        `on_token(id)` is called as each token is produced, `on_prefill(done, total)` as the
        prefill advances (in layers of all its chunks).
        """
        if max_new_tokens < 1:
            raise ValueError("max_new_tokens must be at least 1")
        if temperature < 0 or top_k < 0:
            raise ValueError("temperature and top_k must not be negative")
        ids = self.prompt_ids(prompt, chat)
        if len(ids) + max_new_tokens > self.max_seq:
            raise ValueError(f"prompt ({len(ids)} tokens) + {max_new_tokens} new tokens exceed "
                             f"the KV cache of {self.max_seq} positions")  # fmt: skip
        chip = Chip(self.model, machine=self.machine, max_seq=self.max_seq,
                    max_tokens=self.max_tokens, race=self.race,
                    record_events=record_events)  # fmt: skip
        self.chip = chip  # the last run's chip, for its trace
        rng = np.random.default_rng(seed)

        def pick(step: StepResult) -> int:
            if temperature == 0:
                return int(step.next_ids[-1])  # the chip's own argmax
            return sample(step.logits[-1], temperature, top_k, rng)

        start = time.perf_counter()
        step, prefill, cycles = self._prefill(chip, ids, on_prefill)
        out, decode = self._decode(chip, step, len(ids), max_new_tokens, pick, on_token, cycles)
        wall = time.perf_counter() - start
        report = chip.report()
        flops = sum(token_flops(self.model, p) for p in range(len(ids), len(ids) + len(out) - 1))
        report.extra = figures(report, prefill, decode, len(ids), len(out), wall,
                               weight_bytes(self.model), flops)  # fmt: skip
        text = self.tokenizer.decode(out, skip_special=True)
        return Generation(ids, out, text, report, wall, cycles)

    def _decode(self, chip: Chip, step: StepResult, prompt: int, max_new_tokens: int,
                pick, on_token, cycles: list[int]) -> tuple[list[int], Phase]:  # fmt: skip
        """The decode loop after the prefill's `step`: the new ids and the decode figures."""
        out: list[int] = []
        decode = Phase()
        while True:
            token = pick(step)
            out.append(token)
            if on_token is not None:
                on_token(token)
            if token in self.stop_ids or len(out) == max_new_tokens:
                return out, decode
            before = phase_totals(chip.report())
            step = chip.step([token], prompt + len(out) - 1)
            add_phase(decode, before, phase_totals(chip.report()))
            cycles.append(step.cycles)

    def _prefill(self, chip: Chip, ids: list[int], on_prefill):
        """The prompt in chunks of max_tokens: the last step, the prefill figures, cycles."""
        chunks = [ids[i : i + self.max_tokens] for i in range(0, len(ids), self.max_tokens)]
        layers = self.model.hparams.n_layers
        prefill, cycles, step = Phase(), [], None
        for n, chunk in enumerate(chunks):

            def progress(layer: int, n: int = n) -> None:
                if on_prefill is not None:
                    on_prefill(n * layers + layer, len(chunks) * layers)

            before = phase_totals(chip.report()) if n else Phase()
            step = chip.step(chunk, n * self.max_tokens, progress=progress)
            add_phase(prefill, before, phase_totals(chip.report()))
            cycles.append(step.cycles)
        if on_prefill is not None:
            on_prefill(len(chunks) * layers, len(chunks) * layers)
        return step, prefill, cycles


def sample(logits: np.ndarray, temperature: float, top_k: int, rng) -> int:
    """A token drawn from softmax(logits / temperature), over the top_k largest if top_k."""
    scaled = logits.astype(np.float64) / temperature
    if top_k and top_k < scaled.size:
        cut = np.partition(scaled, -top_k)[-top_k]
        scaled = np.where(scaled >= cut, scaled, -np.inf)
    p = np.exp(scaled - scaled.max())
    return int(rng.choice(scaled.size, p=p / p.sum()))


def phase_totals(report: Report) -> Phase:
    """Cumulative cycles, energy and DRAM bytes of a report."""
    dram = report.bytes_read.get("dram", 0) + report.bytes_written.get("dram", 0)
    return Phase(report.cycles, report.energy_j, dram)


def add_phase(phase: Phase, before: Phase, after: Phase) -> None:
    """Add the difference `after - before` to `phase`."""
    phase.cycles += after.cycles - before.cycles
    phase.energy_j += after.energy_j - before.energy_j
    phase.dram_bytes += after.dram_bytes - before.dram_bytes


def weight_bytes(model: GgufModel) -> int:
    """Bytes of weights a decode step streams: every matrix and norm once, and the tied
    embedding once for the logits (the gather of one embedding row is left out)."""
    hp = model.hparams
    parts = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down",
             "attn_norm", "ffn_norm")  # fmt: skip
    layers = sum(model.layer(i, p).data.nbytes for i in range(hp.n_layers) for p in parts)
    return layers + model.output_weight.data.nbytes + model.output_norm.data.nbytes


def token_flops(model: GgufModel, position: int) -> int:
    """FLOPs of the model for one token at `position` (2 per multiply-add): every weight
    matrix and the logits once, and attention over `position + 1` cached keys and values."""
    hp = model.hparams
    weights = hp.n_layers * hp.d_model * (hp.d_model * 2 + 2 * hp.n_kv_heads * hp.head_dim
                                          + 3 * hp.d_ffn) + hp.vocab_size * hp.d_model  # fmt: skip
    attention = hp.n_layers * 2 * hp.n_heads * hp.head_dim * (position + 1)
    return 2 * (weights + attention)


def figures(report: Report, prefill: Phase, decode: Phase, prompt: int, new: int,
            wall: float, weights: int, decode_flops: int) -> dict[str, float]:  # fmt: skip
    """Per-token figures of a generation for the report."""
    clock = report.clock_hz
    steps = max(new - 1, 0)  # the first new token comes out of the prefill
    out = {
        "prompt tokens": prompt,
        "new tokens": new,
        "prefill tokens/s": prompt * clock / prefill.cycles if prefill.cycles else 0.0,
        "time to 1st tok s": prefill.cycles / clock,
    }
    if steps:
        out |= {
            "decode tokens/s": steps * clock / decode.cycles,
            "decode tokens/J": steps / decode.energy_j,
            "decode J/token": decode.energy_j / steps,
            # the model's FLOPs (the report's own count is the MXU's alone)
            "model TFLOP/s": decode_flops * clock / decode.cycles / 1e12,
            "model TFLOP/s/W": decode_flops / decode.energy_j / 1e12,
            "DRAM bytes/token": decode.dram_bytes / steps,
            "weight share DRAM": weights / (decode.dram_bytes / steps),
        }
    out |= {"host wall s": wall, "host s/new token": wall / new}
    return out


_DEFAULT: dict[tuple, SmolLM2] = {}


def generate(prompt: str, *, max_new_tokens: int, chat: bool = False, **options) -> Generation:
    """Generate text after `prompt` on the simulated J1 (greedy by default).

    `chat` wraps the prompt in the model's chat template (with its default system turn).
    Other options: temperature, top_k, seed, on_token, on_prefill, record_events (as
    SmolLM2.generate), and machine, max_seq, max_tokens, race (as SmolLM2). Returns a
    Generation: `token_ids` (generated only), `text` and `report`.
    """
    settings = {k: options.pop(k) for k in ("machine", "max_seq", "max_tokens", "race")
                if k in options}  # fmt: skip
    key = tuple(sorted(settings.items()))
    if key not in _DEFAULT:
        _DEFAULT[key] = SmolLM2(**settings)
    return _DEFAULT[key].generate(prompt, max_new_tokens=max_new_tokens, chat=chat, **options)
