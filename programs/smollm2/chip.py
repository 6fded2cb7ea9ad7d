"""The host side of programs/smollm2/smollm2.jasm: load the model onto a simulated J1, run steps.

    >>> chip = Chip(GgufModel.open())
    >>> chip.step([1604, 3987, 46477], pos=0)           # prefill: logits of the last token
    >>> chip.step([24], pos=3)                          # one decode step

Weights are bound once, as their GGUF blocks (layers stacked along a leading axis). Each
step binds `step` and `ids`, runs the program to its halt and reads the logits and argmax
back. The KV cache lives in the program's `kcache` / `vcache` buffers in simulated DRAM, so
the program is restarted at its entry point between steps without a core reset (which would
zero every buffer); the timing model then keeps counting across steps, so `report()` covers
the whole generation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from iss.report import Report
from iss.runtime import Simulator
from programs.kernels.rope import rope_table
from programs.smollm2.gguf_model import ROPE_INTERLEAVED, GgufModel, ModelFileError

SOURCE = Path(__file__).with_name("smollm2.jasm")
KERNELS = Path(__file__).parents[1] / "kernels"
MATRICES = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")
NORMS = ("attn_norm", "ffn_norm")
FUSED = {"attn_qkv": ("attn_q", "attn_k", "attn_v"), "ffn_gate_up": ("ffn_gate", "ffn_up")}
_LAYER_PRINT = re.compile(r": s2 = (\d+) ")  # the program's `print.x s2` at each layer
# what the program's constants (.equ) assume about the model
PROGRAM_SHAPE = {"n_layers": 30, "d_model": 576, "d_ffn": 1536, "n_heads": 9,
                 "n_kv_heads": 3, "head_dim": 64, "vocab_size": 49152}  # fmt: skip


class ChipError(RuntimeError):
    """The J1 program failed or was asked for something it cannot do."""


@dataclass
class StepResult:
    """One chip step: logits [rows, vocab] of the last `rows` new tokens and their argmax."""

    logits: np.ndarray
    next_ids: np.ndarray
    cycles: int  #: chip cycles of this step


def stacked_weights(model: GgufModel, max_seq: int) -> dict[str, np.ndarray]:
    """The program's weight tensors by name: raw GGUF blocks, layers stacked."""
    hp = model.hparams
    weights = {
        "token_embd": model.token_embedding.data,
        "output_norm": model.output_norm.data,
        "rope_table": rope_table(max_seq, hp.head_dim, hp.rope_base),
    }
    layers = range(hp.n_layers)
    for name, parts in FUSED.items():  # GGUF rows of several matrices, one after another
        weights[name] = np.stack([np.concatenate([model.layer(i, p).data for p in parts])
                                  for i in layers])  # fmt: skip
    for part in ("attn_output", "ffn_down", *NORMS):
        weights[part] = np.stack([model.layer(i, part).data for i in layers])
    return weights


def check_model(model: GgufModel) -> None:
    """Refuse a model whose shape or conventions differ from the program's constants."""
    hp = model.hparams
    wrong = {k: getattr(hp, k) for k, v in PROGRAM_SHAPE.items() if getattr(hp, k) != v}
    if wrong:
        raise ModelFileError(f"the J1 program is built for SmolLM2-135M; this model has {wrong}")
    tied = model.output_weight.name == model.token_embedding.name
    if not tied or model.token_embedding.kind != "q8_0" or not ROPE_INTERLEAVED:
        raise ModelFileError("the J1 program expects a tied Q8_0 embedding, interleaved RoPE")
    if abs(hp.rms_eps - 1e-5) > 1e-9:  # the program's `fli f0, 1e-5`
        raise ModelFileError(f"the J1 program uses RMSNorm eps 1e-5, not {hp.rms_eps}")
    kinds = {model.layer(i, part).kind for part in MATRICES for i in range(hp.n_layers)}
    if kinds != {"q4_1"}:
        raise ModelFileError(f"the J1 program expects Q4_1 matrices, not {sorted(kinds)}")


class Chip:
    """SmolLM2 loaded onto one simulated J1 core, with a KV cache of `max_seq` positions.

    `max_tokens` new tokens at most per step (a longer prompt is prefilled in chunks);
    `race` is the race detector's mode; `record_events` keeps engine events for a trace.
    """

    def __init__(self, model: GgufModel, *, machine: str = "j1", max_seq: int = 512,
                 max_tokens: int = 64, race: str = "off",
                 record_events: bool = False) -> None:  # fmt: skip
        check_model(model)
        if not 2 <= max_tokens <= 128 or max_seq < max_tokens:
            raise ValueError("max_tokens must be 2..128 and max_seq at least max_tokens")
        self.max_seq, self.max_tokens = max_seq, max_tokens
        defines = {"MAXSEQ": str(max_seq), "TMAX": str(max_tokens)}
        self.sim = Simulator.load(SOURCE, include=[str(KERNELS)], defines=defines,
                                  machine=machine, race=race, record_events=record_events,
                                  output=self._on_output, plans=True)  # fmt: skip
        for name, value in stacked_weights(model, max_seq).items():
            self.sim.bind(name, value)
        self._started = False
        self._progress: Callable[[int], None] | None = None

    def step(self, ids, pos: int, *, all_logits: bool = False,
             progress: Callable[[int], None] | None = None) -> StepResult:  # fmt: skip
        """Run `ids` (new tokens at positions pos, pos+1, ...) through the model on the chip.

        The cache must hold positions 0..pos-1 from earlier steps. Returns the logits of the
        last token, or of every new token with `all_logits`. `progress(layer)` is called as
        each layer starts.
        """
        ids = self._checked(ids, pos)
        count = ids.size
        first_row = 0 if all_logits else count - 1
        padded = np.zeros(self.max_tokens, dtype=np.int32)
        padded[:count] = ids
        self.sim.bind("ids", padded)
        self._progress = progress
        flag = int(progress is not None)
        self.sim.bind("step", np.array([count, pos, first_row, flag], dtype=np.int32))
        before = self.cycles
        self._restart()
        try:
            status = self.sim.run()
        finally:
            self._progress = None
        if status != 0:
            raise ChipError(f"the J1 program stopped with status {status} "
                            f"({count} tokens at position {pos})")  # fmt: skip
        rows = count - first_row
        logits = self.sim.read("logits")[:rows]
        return StepResult(logits, self.sim.read("next")[:rows], self.cycles - before)

    def _checked(self, ids, pos: int) -> np.ndarray:
        """`ids` as int32, after checking the step fits the program's buffers and cache."""
        ids = np.asarray(ids, dtype=np.int32).reshape(-1)
        if not 1 <= ids.size <= self.max_tokens:
            raise ChipError(f"a step takes 1..{self.max_tokens} tokens, not {ids.size}")
        if pos < 0 or pos + ids.size > self.max_seq:
            raise ChipError(f"positions {pos}..{pos + ids.size - 1} exceed the cache "
                            f"({self.max_seq} positions)")  # fmt: skip
        if ids.min() < 0 or ids.max() >= PROGRAM_SHAPE["vocab_size"]:
            raise ChipError(f"token ids must be in 0..{PROGRAM_SHAPE['vocab_size'] - 1}")
        return ids

    def _on_output(self, text: str) -> None:
        found = _LAYER_PRINT.search(text)
        if found and self._progress is not None:
            self._progress(int(found.group(1)))

    def _restart(self) -> None:
        # not Simulator.reset(), which would zero the KV cache: the chip keeps its memory and
        # its report across steps
        if self._started:
            self.sim.restart()
        self._started = True

    @property
    def cycles(self) -> int:
        """Chip cycles since loading (all steps)."""
        return self.sim.report().cycles if self._started else 0

    def report(self) -> Report:
        """The J1 report of every step so far."""
        return self.sim.report()
