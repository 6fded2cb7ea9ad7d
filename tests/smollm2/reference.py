"""An independent float32 NumPy reference of SmolLM2 (Llama) with a KV cache.

Written from the Llama architecture, not from the chip program: it reads the GGUF with the
`gguf` package's reader, dequantises every matrix once with `gguf.quants.dequantize`, and
runs the model in fp32. Used by the tests (logits at every prefill and decode step, greedy
token ids) and by benchmarks/smollm2.py as the host baseline.

    >>> ref = Reference(GGUFReader(path))
    >>> cache = ref.new_cache(256)
    >>> logits = ref.forward([1, 2, 3], cache)      # prefill: [3, vocab]
    >>> logits = ref.forward([4], cache)            # one decode step: [1, vocab]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
from threadpoolctl import threadpool_limits


def _meta(reader: GGUFReader, key: str):
    return reader.fields[key].contents()


@dataclass
class KVCache:
    """Keys and values of every layer: [layers, max_seq, kv_heads * head_dim] fp32."""

    k: np.ndarray
    v: np.ndarray
    length: int = 0


@dataclass
class Layer:
    """One decoder layer's weights, dequantised to fp32, W[N, K] (y = x . W^T)."""

    attn_norm: np.ndarray
    wq: np.ndarray
    wk: np.ndarray
    wv: np.ndarray
    wo: np.ndarray
    ffn_norm: np.ndarray
    w_gate: np.ndarray
    w_up: np.ndarray
    w_down: np.ndarray


@dataclass
class Reference:
    """The float32 model. `rope` is "interleaved" (pairs 2i, 2i+1) or "half" (i, i + d/2)."""

    reader: GGUFReader
    rope: str = "interleaved"
    layers: list[Layer] = field(init=False)

    def __post_init__(self) -> None:
        if self.rope not in ("interleaved", "half"):
            raise ValueError(f"rope must be 'interleaved' or 'half', not {self.rope!r}")
        r = self.reader
        self.n_layers = int(_meta(r, "llama.block_count"))
        self.n_heads = int(_meta(r, "llama.attention.head_count"))
        self.n_kv = int(_meta(r, "llama.attention.head_count_kv"))
        self.d_model = int(_meta(r, "llama.embedding_length"))
        self.head_dim = self.d_model // self.n_heads
        self.eps = np.float32(_meta(r, "llama.attention.layer_norm_rms_epsilon"))
        self.base = float(_meta(r, "llama.rope.freq_base"))
        tensors = {t.name: t for t in r.tensors}
        self._tensors = tensors
        self.embedding = self._weight("token_embd.weight")
        names = [t for t in tensors if t == "output.weight"]
        self.output = self._weight(names[0]) if names else self.embedding
        self.output_norm = self._weight("output_norm.weight")
        self.layers = [self._layer(i) for i in range(self.n_layers)]

    def _weight(self, name: str) -> np.ndarray:
        t = self._tensors[name]
        w = dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        return w.reshape([int(n) for n in reversed(t.shape)])

    def _layer(self, i: int) -> Layer:
        def w(part: str) -> np.ndarray:
            return self._weight(f"blk.{i}.{part}.weight")

        return Layer(w("attn_norm"), w("attn_q"), w("attn_k"), w("attn_v"), w("attn_output"),
                     w("ffn_norm"), w("ffn_gate"), w("ffn_up"), w("ffn_down"))  # fmt: skip

    # -- pieces -------------------------------------------------------------------------------
    def new_cache(self, max_seq: int) -> KVCache:
        """An empty cache for `max_seq` positions."""
        shape = (self.n_layers, max_seq, self.n_kv * self.head_dim)
        return KVCache(np.zeros(shape, np.float32), np.zeros(shape, np.float32))

    def rmsnorm(self, x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """x / sqrt(mean(x^2) + eps) * weight, per row, fp32."""
        ms = np.mean(x * x, axis=-1, keepdims=True, dtype=np.float32)
        return (x / np.sqrt(ms + self.eps)) * weight

    def apply_rope(self, x: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """Rotate each head of x [T, heads * head_dim] by its position (fp32 angles)."""
        d = self.head_dim
        inv = (1.0 / self.base ** (np.arange(0, d, 2, dtype=np.float64) / d)).astype(np.float32)
        angle = positions.astype(np.float32)[:, None] * inv[None, :]
        cos = np.cos(angle)[:, None, :]
        sin = np.sin(angle)[:, None, :]
        h = x.reshape(x.shape[0], -1, d)
        if self.rope == "interleaved":
            x0, x1 = h[..., 0::2], h[..., 1::2]
        else:
            x0, x1 = h[..., : d // 2], h[..., d // 2 :]
        r0 = x0 * cos - x1 * sin
        r1 = x0 * sin + x1 * cos
        out = np.empty_like(h)
        if self.rope == "interleaved":
            out[..., 0::2], out[..., 1::2] = r0, r1
        else:
            out[..., : d // 2], out[..., d // 2 :] = r0, r1
        return out.reshape(x.shape)

    def attention(self, q: np.ndarray, keys: np.ndarray, values: np.ndarray,
                  start: int) -> np.ndarray:  # fmt: skip
        """Causal grouped-query attention of T queries at positions start.. over the cache."""
        t, d = q.shape[0], self.head_dim
        group = self.n_heads // self.n_kv
        qh = q.reshape(t, self.n_heads, d)
        kh = keys.reshape(keys.shape[0], self.n_kv, d)
        vh = values.reshape(values.shape[0], self.n_kv, d)
        out = np.empty_like(qh)
        visible = np.arange(keys.shape[0])[None, :] <= (start + np.arange(t))[:, None]
        scale = np.float32(1.0 / np.sqrt(d))
        for h in range(self.n_heads):
            g = h // group
            scores = (qh[:, h, :] @ kh[:, g, :].T) * scale
            scores = np.where(visible, scores, -np.inf)
            p = np.exp(scores - scores.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            out[:, h, :] = p @ vh[:, g, :]
        return out.reshape(t, -1)

    # -- the model ----------------------------------------------------------------------------
    def forward(self, ids, cache: KVCache) -> np.ndarray:
        """Run tokens `ids` after the cache's contents; returns fp32 logits [len(ids), vocab]."""
        # one BLAS thread: these matrix-vector products gain nothing from two, and on a busy
        # 2-core host two threads make them many times slower
        with threadpool_limits(1, user_api="blas"):
            return self._forward(ids, cache)

    def _forward(self, ids, cache: KVCache) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        start, t = cache.length, ids.size
        if start + t > cache.k.shape[1]:
            raise ValueError(f"cache holds {cache.k.shape[1]} positions; need {start + t}")
        positions = np.arange(start, start + t)
        x = self.embedding[ids]
        for i, layer in enumerate(self.layers):
            h = self.rmsnorm(x, layer.attn_norm)
            q = self.apply_rope(h @ layer.wq.T, positions)
            cache.k[i, start : start + t] = self.apply_rope(h @ layer.wk.T, positions)
            cache.v[i, start : start + t] = h @ layer.wv.T
            end = start + t
            a = self.attention(q, cache.k[i, :end], cache.v[i, :end], start)
            x = x + a @ layer.wo.T
            h = self.rmsnorm(x, layer.ffn_norm)
            gate = h @ layer.w_gate.T
            up = h @ layer.w_up.T
            silu = gate / (np.float32(1.0) + np.exp(-gate))
            x = x + (silu * up) @ layer.w_down.T
        cache.length = start + t
        return self.rmsnorm(x, self.output_norm) @ self.output.T

    def greedy(self, prompt_ids, max_new_tokens: int, stop_ids=()) -> list[int]:
        """Greedy decoding: the generated ids (stops after a stop id, which is included)."""
        cache = self.new_cache(len(prompt_ids) + max_new_tokens)
        logits = self.forward(prompt_ids, cache)[-1]
        out: list[int] = []
        for _ in range(max_new_tokens):
            token = int(np.argmax(logits))
            out.append(token)
            if token in stop_ids or len(out) == max_new_tokens:
                break
            logits = self.forward([token], cache)[-1]
        return out
