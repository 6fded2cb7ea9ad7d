"""Read tensors from files for binding: `.npy`, safetensors and GGUF.

A file spec is `PATH` or `PATH:TENSOR`; without `:TENSOR`, the tensor named like the program
input is taken from safetensors and GGUF files. GGUF block-quantised tensors come back as
their raw block bytes, one row of blocks per matrix row, which is how J1 programs store them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class TensorFileError(ValueError):
    """A tensor file is missing, malformed, or lacks the named tensor."""


def split_spec(spec: str) -> tuple[Path, str | None]:
    """`model.gguf:blk.0.attn_q.weight` -> (path, tensor name); a bare path -> (path, None)."""
    path, _, tensor = spec.partition(":") if not Path(spec).exists() else (spec, "", "")
    return Path(path), tensor or None


def load_tensor(spec: str, default_name: str | None = None) -> np.ndarray:
    """The array a file spec names."""
    path, tensor = split_spec(spec)
    name = tensor or default_name
    if not path.exists():
        raise TensorFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix == ".safetensors":
            return _safetensors(path, name)
        if suffix == ".gguf":
            return _gguf(path, name)
    except TensorFileError:
        raise
    except (OSError, ValueError, KeyError) as e:
        raise TensorFileError(f"{path}: {e}") from None
    raise TensorFileError(f"{path}: unknown tensor file type (use .npy, .safetensors, .gguf)")


def _safetensors(path: Path, name: str | None) -> np.ndarray:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        names = list(f.keys())
        if name not in names:
            raise TensorFileError(
                f"{path}: no tensor {name!r} (has {len(names)}: "
                f"{', '.join(names[:8])}{', ...' if len(names) > 8 else ''})"
            )
        return f.get_tensor(name)


def _gguf(path: Path, name: str | None) -> np.ndarray:
    from gguf import GGUFReader

    reader = GGUFReader(str(path))
    for t in reader.tensors:
        if t.name == name:
            return np.asarray(t.data)
    names = [t.name for t in reader.tensors]
    raise TensorFileError(f"{path}: no tensor {name!r} ({len(names)} tensors, e.g. "
                          f"{', '.join(names[:5])})")  # fmt: skip
