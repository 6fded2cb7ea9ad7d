"""How jdb shows values: tensors with dtype, shape and statistics, scalars in decimal and hex,
descriptors as their geometry, and the elements that changed since the last stop.

`render` returns both a list of (style, text) fragments, which the prompt_toolkit UI colours
(styles `class:header`, `class:stats`, `class:changed`, `class:warning`), and a plain-text
form for batch output and pipes, where every changed element carries a trailing `*`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np

from isa import dtypes
from iss import tiles

THRESHOLD = 256  #: arrays with more elements than this are summarised ...
EDGEITEMS = 3  #: ... to this many items at each end of every long axis
LINEWIDTH = 100

_NAMES = {t.storage: t.name for t in dtypes.DTYPES if not t.is_quant}
_TOKEN = re.compile(r"[^\s\[\],]+")  # one printed element in NumPy's array text
_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


class ViewError(ValueError):
    """A value that cannot be shown or saved as asked (e.g. `dump` to a non-.npy path)."""


@dataclass
class Rendering:
    """A value ready to show: styled fragments for the UI and the same text for plain output
    (where changed elements end in `*`). `changed` counts the elements that differ from the
    previous value (None when there was nothing to compare with)."""

    fragments: list[tuple[str, str]]
    text: str
    changed: int | None = None


def dtype_name(dtype: np.dtype) -> str:
    """The J1 name of a NumPy dtype where there is one (bf16, fp32, …), else NumPy's."""
    return _NAMES.get(np.dtype(dtype), np.dtype(dtype).name)


def is_float(dtype: np.dtype) -> bool:
    """True for every floating-point dtype, ml_dtypes' bf16 and fp8 included."""
    dtype = np.dtype(dtype)
    return dtype.kind == "f" or dtype in (ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn,
                                          ml_dtypes.float8_e5m2)  # fmt: skip


def stats(array: np.ndarray) -> str:
    """`min … max … mean …` (of the finite values, widened to float64) and, for floats, the
    NaN and Inf counts; empty for an empty array."""
    array = np.asarray(array)
    if array.size == 0:
        return "empty"
    if array.dtype == np.bool_:
        return f"true {int(np.count_nonzero(array))} of {array.size}"
    wide = array.astype(np.float64)
    parts = []
    finite = wide[np.isfinite(wide)]
    if finite.size:
        parts.append(f"min {_short(finite.min())}  max {_short(finite.max())}  "
                     f"mean {_short(finite.mean())}")  # fmt: skip
    if is_float(array.dtype):
        nan = int(np.count_nonzero(np.isnan(wide)))
        inf = int(np.count_nonzero(np.isinf(wide)))
        parts.append(f"nan {nan}  inf {inf}")
    return "  ".join(parts)


def _short(value: float) -> str:
    return f"{value:.6g}"


def changed_mask(value: np.ndarray, previous: Any) -> np.ndarray | None:
    """Which elements of `value` differ bit-for-bit from `previous` (NaN equals the same NaN,
    -0 differs from 0); None when the two cannot be compared (other shape or dtype)."""
    if not isinstance(previous, np.ndarray):
        return None
    if previous.shape != value.shape or previous.dtype != value.dtype:
        return None
    unsigned = _UNSIGNED.get(value.dtype.itemsize)
    if unsigned is None or (value.dtype.kind not in "biuf" and not is_float(value.dtype)):
        return value != previous
    return np.ascontiguousarray(value).view(unsigned) != np.ascontiguousarray(previous).view(
        unsigned
    )


def render(value: Any, previous: Any = None, *, threshold: int = THRESHOLD,
           edgeitems: int = EDGEITEMS, linewidth: int = LINEWIDTH) -> Rendering:  # fmt: skip
    """Show `value` (array, scalar, descriptor or other); with `previous`, the value of the
    same expression at the last stop, mark what changed."""
    if isinstance(value, tiles.Desc):
        return _plain(value.describe(), _changed_scalar(value, previous))
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return _render_array(value, previous, threshold, edgeitems, linewidth)
    if isinstance(value, np.ndarray):
        value = value[()]
    return _plain(scalar_text(value), _changed_scalar(value, previous))


def scalar_text(value: Any) -> str:
    """One scalar: ints in decimal and hex (two's complement at their width: 64 bits for
    Python ints), floats with their bit pattern (fp32 bits for Python floats)."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        bits = 64 if isinstance(value, int) else np.dtype(type(value)).itemsize * 8
        number = int(value)
        if -(1 << (bits - 1)) <= number < (1 << bits):
            pattern = number & ((1 << bits) - 1)
            return f"{number} ({pattern:#x})"
        return f"{number} ({number:#x})"  # beyond 64 bits: Python's own hex
    if isinstance(value, float):
        return f"{value!r} (fp32 {_bits(np.float32(value))})"
    if isinstance(value, np.generic) and is_float(value.dtype):
        return f"{value!s} ({dtype_name(value.dtype)} {_bits(value)})"
    if isinstance(value, str):
        return value
    return str(value)


def _bits(value: np.generic) -> str:
    width = value.dtype.itemsize
    raw = np.array(value).view(_UNSIGNED[width])
    return f"{int(raw):#0{2 + 2 * width}x}"


def _changed_scalar(value: Any, previous: Any) -> bool | None:
    if previous is None:
        return None
    if isinstance(value, np.generic) and isinstance(previous, np.generic):
        mask = changed_mask(np.array(value), np.array(previous))
        if mask is not None:
            return bool(mask)
    try:
        same = type(value) is type(previous) and bool(value == previous)
    except (TypeError, ValueError):
        same = False
    nan_both = isinstance(value, float) and value != value and previous != previous
    return not (same or nan_both)


def _plain(text: str, changed: bool | None) -> Rendering:
    if changed:
        return Rendering([("class:changed", text), ("class:changed", " *")], text + " *", 1)
    return Rendering([("", text)], text, None if changed is None else 0)


def _render_array(array: np.ndarray, previous: Any, threshold: int, edgeitems: int,
                  linewidth: int) -> Rendering:  # fmt: skip
    header = f"{dtype_name(array.dtype)}{list(array.shape)}"
    summary = stats(array)
    mask = changed_mask(array, previous) if previous is not None else None
    changed = None if mask is None else int(np.count_nonzero(mask))
    note = ""
    if previous is not None and mask is None:
        note = "  (shape or dtype changed)"
    elif changed:
        note = f"  ({changed} changed)"
    body = np.array2string(array, threshold=threshold, edgeitems=edgeitems,
                           max_line_width=linewidth, separator=" ")  # fmt: skip
    fragments: list[tuple[str, str]] = [("class:header", header), ("class:stats", "  " + summary)]
    if note:
        fragments.append(("class:changed" if changed else "class:warning", note))
    fragments.append(("", "\n"))
    text = f"{header}  {summary}{note}\n"
    if not changed:
        fragments.append(("", body))
        return Rendering(fragments, text + body, changed)
    shown = _shown_changes(mask, threshold, edgeitems)
    pos = 0
    marked = []
    tokens = (m for m in _TOKEN.finditer(body) if m.group() != "...")
    for flag, match in zip(shown, tokens, strict=False):
        fragments.append(("", body[pos : match.start()]))
        marked.append(body[pos : match.start()])
        if flag:
            fragments.append(("class:changed", match.group()))
            fragments.append(("class:changed", "*"))
            marked.append(match.group() + "*")
        else:
            fragments.append(("", match.group() + " "))
            marked.append(match.group() + " ")
        pos = match.end()
    fragments.append(("", body[pos:]))
    marked.append(body[pos:])
    return Rendering(fragments, text + "".join(marked), changed)


def _shown_changes(mask: np.ndarray, threshold: int, edgeitems: int) -> np.ndarray:
    """The change flags of the elements NumPy prints, in print order (summarised the same way
    as np.array2string: every axis longer than 2 * edgeitems keeps only its two ends)."""
    if mask.size > threshold:
        for axis, length in enumerate(mask.shape):
            if length > 2 * edgeitems:
                keep = np.r_[0:edgeitems, length - edgeitems : length]
                mask = np.take(mask, keep, axis=axis)
    return mask.reshape(-1)


def dump(array: Any, path: str | Path) -> Path:
    """Save `array` as a `.npy` file (no pickle); bf16 and fp8 are widened to float32 (exact),
    since NumPy cannot load ml_dtypes' types without them. ViewError for other paths."""
    path = Path(path)
    if path.suffix != ".npy":
        raise ViewError(f"dump writes .npy files only, not {path.name!r}")
    data = np.asarray(array)
    if data.dtype == object:
        raise ViewError("only numeric values can be dumped")
    if is_float(data.dtype) and data.dtype.kind != "f":
        data = data.astype(np.float32)
    try:
        np.save(path, data, allow_pickle=False)
    except OSError as e:
        raise ViewError(f"cannot write {path}: {e.strerror}") from None
    return path


__all__ = ["Rendering", "ViewError", "changed_mask", "dump", "render", "scalar_text", "stats"]
