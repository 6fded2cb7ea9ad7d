"""The GGUF reader: hyper-parameters, raw block tensors, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from gguf.quants import dequantize

from programs.smollm2.gguf_model import GgufModel, ModelFileError


def test_hyper_parameters_are_smollm2_135m(model):
    hp = model.hparams
    assert (hp.n_layers, hp.d_model, hp.d_ffn) == (30, 576, 1536)
    assert (hp.n_heads, hp.n_kv_heads, hp.head_dim) == (9, 3, 64)
    assert hp.rope_base == 100000.0
    assert abs(hp.rms_eps - 1e-5) < 1e-9
    assert hp.vocab_size == 49152


@pytest.mark.parametrize(
    ("part", "kind", "shape"),
    [("attn_q", "q4_1", (576, 576)), ("attn_k", "q4_1", (192, 576)),
     ("attn_v", "q4_1", (192, 576)), ("attn_output", "q4_1", (576, 576)),
     ("ffn_gate", "q4_1", (1536, 576)), ("ffn_up", "q4_1", (1536, 576)),
     ("ffn_down", "q4_1", (576, 1536)), ("attn_norm", "fp32", (576,)),
     ("ffn_norm", "fp32", (576,))],
)  # fmt: skip
def test_every_layer_has_its_tensors_in_block_layout(model, part, kind, shape):
    for i in range(model.hparams.n_layers):
        t = model.layer(i, part)
        assert (t.kind, t.shape) == (kind, shape)
        if kind == "q4_1":  # 32 weights per 20-byte block: d, m (fp16), 16 bytes of nibbles
            assert t.data.dtype == np.uint8
            assert t.data.shape == (shape[0], shape[1] // 32 * 20)
        else:
            assert t.data.dtype == np.float32 and t.data.shape == shape


def test_embedding_is_q8_0_and_tied(model):
    emb = model.token_embedding
    assert (emb.kind, emb.shape, emb.data.shape) == ("q8_0", (49152, 576), (49152, 576 // 32 * 34))
    assert model.output_weight.name == "token_embd.weight"
    assert model.output_norm.shape == (576,)


def test_raw_rows_dequantise_to_the_matrix_rows(model):
    # the row-major shape is right: row n of the blocks is output n of W[N, K]
    t = model.layer(3, "attn_k")
    w = dequantize(t.data, t.qtype)
    assert w.shape == t.shape
    row = dequantize(t.data[7:8], t.qtype)
    assert np.array_equal(row[0], w[7])


def test_tensors_are_read_only_views(model):
    with pytest.raises(ValueError):
        model.layer(0, "attn_q").data[0, 0] = 1


def test_unknown_names_and_layers_are_clear_errors(model):
    with pytest.raises(ModelFileError, match="no tensor"):
        model.tensor("blk.0.nope.weight")
    with pytest.raises(ModelFileError, match="layer 30 out of range"):
        model.layer(30, "attn_q")


def test_a_file_that_is_not_gguf_is_rejected(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file at all" * 10)
    with pytest.raises(ModelFileError, match="cannot read GGUF"):
        GgufModel.open(bad)
    with pytest.raises(ModelFileError):
        GgufModel.open(tmp_path / "missing.gguf")
