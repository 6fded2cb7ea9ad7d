"""Host side of the RoPE kernel (programs/kernels/rope.jasm): its cos/sin table.

J1's activation unit has no sine or cosine, so the table is made here, once per model (as
Hugging Face's `cos_cached`): row p holds cos(p * inv_freq) then sin(p * inv_freq) for the
head_dim / 2 frequencies inv_freq[i] = base ** (-2i / head_dim). The angles are formed in
fp32 as the references do (fp32 inv_freq times the fp32 position), the cos/sin in float64
and rounded once to fp32.
"""

from __future__ import annotations

import numpy as np


def inv_freq(head_dim: int, base: float) -> np.ndarray:
    """fp32 inverse frequencies, as Hugging Face computes them."""
    exponent = np.arange(0, head_dim, 2, dtype=np.float32) / np.float32(head_dim)
    return (1.0 / (np.float32(base) ** exponent.astype(np.float64))).astype(np.float32)


def rope_table(positions: int, head_dim: int, base: float = 10000.0) -> np.ndarray:
    """fp32 [positions, head_dim]: cos of the angles of each position, then their sin."""
    angles = np.arange(positions, dtype=np.float32)[:, None] * inv_freq(head_dim, base)[None, :]
    angles = angles.astype(np.float32).astype(np.float64)
    return np.concatenate([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
