"""Tensor and scalar formatting for `print`/`display`: stats, NaN/Inf counts, summaries,
changed-element marking, and `dump` to .npy."""

from __future__ import annotations

import re

import ml_dtypes
import numpy as np
import pytest

from debugger.views import ViewError, changed_mask, dump, render, scalar_text, stats
from isa import dtypes
from iss import tiles


def test_array_header_and_stats():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    a[1, 2] = np.nan
    a[0, 0] = np.inf
    text = render(a).text
    header, *body = text.splitlines()
    assert header.startswith("fp32[3, 4]")
    assert "min 1" in header and "max 11" in header and "mean 6" in header
    assert "nan 1" in header and "inf 1" in header
    assert body == np.array2string(a).splitlines()  # the values as NumPy prints them


def test_narrow_floats_are_widened_for_stats():
    a = np.array([0.5, 1.5, -2, np.nan], dtype=ml_dtypes.bfloat16)
    header = render(a).text.splitlines()[0]
    assert header.startswith("bf16[4]")
    assert "min -2" in header and "max 1.5" in header and "nan 1" in header
    f8 = np.array([448, -448], dtype=ml_dtypes.float8_e4m3fn)
    assert "fp8e4m3[2]" in render(f8).text and "mean 0" in stats(f8)


def test_integer_arrays_have_no_nan_counts():
    header = render(np.array([1, -2, 3], dtype=np.int8)).text.splitlines()[0]
    assert header == "int8[3]  min -2  max 3  mean 0.666667"


def test_big_tensors_are_summarised():
    a = np.arange(40 * 100, dtype=np.float32).reshape(40, 100)
    text = render(a, threshold=100, edgeitems=2).text
    assert "..." in text
    assert len(text.splitlines()) == 1 + 5  # header, two rows, "...", two rows


def test_changed_elements_are_marked():
    before = np.arange(12, dtype=np.float32).reshape(3, 4)
    after = before.copy()
    after[1, 2] = 100
    after[2, 3] = -11
    rendering = render(after, before)
    assert rendering.changed == 2
    assert "(2 changed)" in rendering.text.splitlines()[0]
    assert re.findall(r"([^\s\[\]]+)\*", rendering.text) == ["100.", "-11."]
    styled = [text for style, text in rendering.fragments if style == "class:changed"]
    assert "100." in styled and "-11." in styled


def test_changes_are_marked_in_summarised_tensors():
    before = np.zeros((50, 50), dtype=np.float32)
    after = before.copy()
    after[0, 1] = 1  # shown
    after[25, 25] = 2  # elided: counted, not shown
    after[49, 49] = 3  # shown
    rendering = render(after, before, threshold=100, edgeitems=3)
    assert rendering.changed == 3
    body = rendering.text.splitlines()[1:]
    assert body[0].split()[1] == "1.*"
    assert body[-1].endswith("3.*]]")
    assert sum(line.count("*") for line in body) == 2


def test_unchanged_and_incomparable_previous_values():
    a = np.arange(4, dtype=np.int32)
    assert render(a, a.copy()).changed == 0
    assert "*" not in render(a, a.copy()).text
    assert render(a, a.astype(np.int8)).changed is None
    assert "shape or dtype changed" in render(a, np.arange(5, dtype=np.int32)).text
    nan = np.array([np.nan], dtype=np.float32)
    assert render(nan, nan.copy()).changed == 0  # the same NaN is no change
    assert changed_mask(np.array([0.0]), np.array([-0.0])).tolist() == [True]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (5, "5 (0x5)"),
        (-1, "-1 (0xffffffffffffffff)"),
        (np.int32(-2), "-2 (0xfffffffe)"),
        (np.int8(-1), "-1 (0xff)"),
        (1.5, "1.5 (fp32 0x3fc00000)"),
        (np.float32(0.1), "0.1 (fp32 0x3dcccccd)"),
        (ml_dtypes.bfloat16(1.5), "1.5 (bf16 0x3fc0)"),
        (np.float16(-2), "-2.0 (fp16 0xc000)"),
        (True, "true"),
        ("bf16", "bf16"),
        ((4, 8), "(4, 8)"),
    ],
)
def test_scalars(value, text):
    assert scalar_text(value) == text
    assert render(value).text == text


def test_scalar_changes():
    assert render(7, 6).text == "7 (0x7) *"
    assert render(7, 7).changed == 0
    assert render(np.float32(np.nan), np.float32(np.nan)).changed == 0
    assert ("class:changed", "7 (0x7)") in render(7, 6).fragments


def test_descriptor():
    desc = tiles.dense(0x1_0000_0000, 4, 8, dtypes.by_name("bf16").code)
    assert render(desc).text == "4x8 bf16 at 0x100000000 stride 16"
    assert render(desc, desc).changed == 0
    assert render(desc, tiles.EMPTY).text.endswith(" *")


def test_dump_round_trip(tmp_path):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    path = dump(a, tmp_path / "a.npy")
    back = np.load(path, allow_pickle=False)
    np.testing.assert_array_equal(back, a)
    assert back.dtype == np.float32
    b = np.array([1.5, -0.25], dtype=ml_dtypes.bfloat16)  # widened exactly: loadable anywhere
    back = np.load(dump(b, tmp_path / "b.npy"), allow_pickle=False)
    assert back.dtype == np.float32 and back.tolist() == [1.5, -0.25]


def test_dump_refuses_other_paths(tmp_path):
    with pytest.raises(ViewError, match=r"\.npy"):
        dump(np.zeros(2), tmp_path / "a.txt")
    with pytest.raises(ViewError, match="cannot write"):
        dump(np.zeros(2), tmp_path / "missing" / "a.npy")
    assert not (tmp_path / "a.txt").exists()
