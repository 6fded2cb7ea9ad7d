"""Machine descriptions: the built-ins load and are fully cited; bad descriptions are rejected."""

import dataclasses
import json
import math
import tomllib
from pathlib import Path

import pytest

from isa.machine import (
    BUILTIN_MACHINES,
    MACHINES_DIR,
    MATRIX_DTYPES,
    SCHEMA,
    Dma,
    Dram,
    ElementUnit,
    Machine,
    MachineError,
    Memory,
    Scalar,
    load_machine,
)

MIB = 1 << 20
SAME_IN_MINI = (
    "clock_hz",
    "queue_depth",
    "static_power_w",
    "dma",
    "matrix",
    "vector",
    "activation",
    "scalar",
)


def _dump(table: dict, prefix: str = "") -> str:
    """Write a dict of strings, numbers, booleans and tables as TOML (enough for these tests)."""
    lines, subtables = [], []
    for key, value in table.items():
        if isinstance(value, dict):
            subtables.append((key, value))
        else:
            lines.append(f"{json.dumps(key)} = {_toml_value(value)}")
    text = "\n".join(lines) + "\n"
    for key, value in subtables:
        name = f"{prefix}{json.dumps(key)}"
        text += f"\n[{name}]\n" + _dump(value, name + ".")
    return text


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


@pytest.fixture
def mini_doc() -> dict:
    """The j1-mini description as a dict, for tests to break one key at a time."""
    return tomllib.loads((MACHINES_DIR / "j1-mini.toml").read_text())


def _reject(tmp_path: Path, doc: dict, *fragments: str) -> str:
    """Write ``doc``, check that loading it fails naming the file and ``fragments``."""
    path = tmp_path / "bad.toml"
    path.write_text(_dump(doc))
    with pytest.raises(MachineError) as info:
        load_machine(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    return message


# --- the built-in machines ------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILTIN_MACHINES)
def test_builtin_loads(name: str) -> None:
    machine = load_machine(name)
    assert machine.name == name
    assert set(machine.matrix.macs_per_cycle) == set(MATRIX_DTYPES)


def test_default_is_j1() -> None:
    assert load_machine().name == "j1"


def test_loading_by_path_equals_loading_by_name() -> None:
    assert load_machine(MACHINES_DIR / "j1.toml") == load_machine("j1")


def test_j1_design_point() -> None:
    j1 = load_machine("j1")
    assert j1.dram.size_bytes == 1024 * MIB
    assert j1.sram.size_bytes == 24 * MIB
    assert j1.acc.size_bytes == 2 * MIB
    assert (j1.matrix.rows, j1.matrix.cols) == (128, 128)
    assert 1.0e9 <= j1.clock_hz <= 1.5e9
    assert 100e9 <= j1.dram_bytes_per_s <= 1.2e12


def test_j1_peak_rates_follow_from_the_file() -> None:
    j1 = load_machine("j1")
    macs = j1.matrix.macs_per_cycle
    assert j1.peak_flops("bf16") == 2 * macs["bf16"] * j1.clock_hz == 2 * 16384 * 1.5e9
    assert 40e12 <= j1.peak_flops("bf16") <= 50e12
    assert j1.peak_flops("int8") == 2 * j1.peak_flops("bf16")
    assert j1.peak_flops("fp32") == j1.peak_flops("bf16") / 4
    assert j1.peak_flops_by_dtype["fp16"] == j1.peak_flops("bf16")
    assert j1.dram_bytes_per_s == j1.dram.bytes_per_cycle * j1.clock_hz
    assert j1.seconds(j1.clock_hz) == 1.0


def test_unknown_dtype_for_peak_is_an_error() -> None:
    with pytest.raises(MachineError, match="did you mean 'bf16'"):
        load_machine().peak_flops("bf61")


def test_dma_time_is_bounded_by_its_datapath_and_by_dram() -> None:
    j1 = load_machine()
    dma, dram = j1.dma.bytes_per_cycle, j1.dram.bytes_per_cycle
    assert j1.dma_cycles(4096, 0) == -(-4096 // dma)  # SRAM to accumulator: datapath only
    assert j1.dma_cycles(4096, 4096) == max(-(-4096 // dma), -(-4096 // dram))
    assert j1.dma_cycles(4096, 8192) == -(-8192 // dram)  # DRAM to DRAM: both sides count
    # a dequantising load reads 20 bytes per 32 weights and writes 64: the datapath bounds it
    assert j1.dma_cycles(64 * 1000, 20 * 1000) == -(-64000 // dma)


def test_mini_has_small_memories_and_the_same_engines() -> None:
    j1, mini = load_machine("j1"), load_machine("j1-mini")
    assert mini.dram.size_bytes < j1.dram.size_bytes
    assert mini.sram.size_bytes < j1.sram.size_bytes
    assert mini.acc.size_bytes < j1.acc.size_bytes
    for part in SAME_IN_MINI:
        assert getattr(mini, part) == getattr(j1, part), part
    for field in ("bytes_per_cycle", "latency_cycles", "read_pj_per_byte", "write_pj_per_byte"):
        assert getattr(mini.dram, field) == getattr(j1.dram, field), field


@pytest.mark.parametrize("name", BUILTIN_MACHINES)
def test_every_figure_has_a_source(name: str) -> None:
    machine = load_machine(name)
    assert list(machine.figure_sources) == list(machine.figures)
    assert len(machine.figures) == 39
    assert all(text.strip() for text in machine.figure_sources.values())
    assert machine.figures["matrix.macs_per_cycle.bf16"] == machine.matrix.macs_per_cycle["bf16"]


def test_j1_sources_show_their_derivation() -> None:
    sources = load_machine("j1").figure_sources
    assert "Horowitz" in sources["matrix.pj_per_mac.bf16"]
    assert "O'Connor" in sources["dram.read_pj_per_byte"]
    assert "197" in sources["clock_hz"]


def test_schema_matches_the_dataclasses() -> None:
    names = {f.name for f in dataclasses.fields(Machine)}
    assert set(SCHEMA) <= names
    for section, cls in (
        ("dram", Dram),
        ("sram", Memory),
        ("acc", Memory),
        ("dma", Dma),
        ("vector", ElementUnit),
        ("activation", ElementUnit),
        ("scalar", Scalar),
    ):
        assert set(SCHEMA[section]) == {f.name for f in dataclasses.fields(cls)}, section


def test_machine_is_immutable() -> None:
    j1 = load_machine()
    with pytest.raises(dataclasses.FrozenInstanceError):
        j1.clock_hz = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        j1.matrix.macs_per_cycle["bf16"] = 1  # type: ignore[index]


# --- malformed descriptions -----------------------------------------------------------------


def test_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\nclock_hz = = 3\n')
    with pytest.raises(MachineError, match=r"bad\.toml: TOML syntax error: .*line 2, column"):
        load_machine(path)


def test_missing_key(tmp_path: Path, mini_doc: dict) -> None:
    del mini_doc["dram"]["latency_cycles"]
    _reject(tmp_path, mini_doc, "dram.latency_cycles: missing")


def test_missing_section(tmp_path: Path, mini_doc: dict) -> None:
    del mini_doc["vector"]
    _reject(tmp_path, mini_doc, "vector: missing")


def test_missing_matrix_dtype(tmp_path: Path, mini_doc: dict) -> None:
    del mini_doc["matrix"]["macs_per_cycle"]["fp16"]
    _reject(tmp_path, mini_doc, "matrix.macs_per_cycle.fp16: missing")


def test_unknown_key_suggests_the_right_one(tmp_path: Path, mini_doc: dict) -> None:
    mini_doc["dram"]["latncy_cycles"] = mini_doc["dram"].pop("latency_cycles")
    _reject(tmp_path, mini_doc, "dram.latncy_cycles: unknown key", "did you mean 'latency_cycles'")


def test_unknown_matrix_dtype(tmp_path: Path, mini_doc: dict) -> None:
    mini_doc["matrix"]["pj_per_mac"]["bf32"] = 1.0
    _reject(tmp_path, mini_doc, "matrix.pj_per_mac.bf32: unknown key", "did you mean")


@pytest.mark.parametrize("key", ["clock_hz", "static_power_w"])
def test_bool_is_not_a_number(tmp_path: Path, mini_doc: dict, key: str) -> None:
    mini_doc[key] = True
    _reject(tmp_path, mini_doc, f"{key}: expected", "boolean true")


def test_float_where_integer_expected(tmp_path: Path, mini_doc: dict) -> None:
    mini_doc["matrix"]["rows"] = 128.0
    _reject(tmp_path, mini_doc, "matrix.rows: expected an integer, got float 128.0")


def test_string_where_number_expected(tmp_path: Path, mini_doc: dict) -> None:
    mini_doc["scalar"]["pj_per_instruction"] = "25"
    _reject(tmp_path, mini_doc, "scalar.pj_per_instruction: expected a number, got string '25'")


def test_value_where_table_expected(tmp_path: Path, mini_doc: dict) -> None:
    mini_doc["dma"] = 3
    _reject(tmp_path, mini_doc, "dma: expected a table, got int 3")


@pytest.mark.parametrize("value", [-1.0, 0, -256])
def test_non_positive_figures(tmp_path: Path, mini_doc: dict, value: float) -> None:
    mini_doc["dram"]["read_pj_per_byte"] = value
    _reject(tmp_path, mini_doc, "dram.read_pj_per_byte: must be positive")


def test_negative_integer_figure(tmp_path: Path, mini_doc: dict) -> None:
    mini_doc["queue_depth"] = -16
    _reject(tmp_path, mini_doc, "queue_depth: must be positive, got -16")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_figures(tmp_path: Path, mini_doc: dict, value: float) -> None:
    mini_doc["activation"]["pj_per_element"] = value
    _reject(tmp_path, mini_doc, "activation.pj_per_element: must be finite")


@pytest.mark.parametrize("size", [1000, 4096 + 512, 6 * MIB + 1])
def test_size_not_a_multiple_of_4k(tmp_path: Path, mini_doc: dict, size: int) -> None:
    mini_doc["sram"]["size_bytes"] = size
    _reject(tmp_path, mini_doc, "sram.size_bytes: must be a multiple of 4096 bytes")


def test_size_that_is_a_multiple_of_4k_is_accepted(tmp_path: Path, mini_doc: dict) -> None:
    mini_doc["sram"]["size_bytes"] = 3 * MIB
    path = tmp_path / "ok.toml"
    path.write_text(_dump(mini_doc))
    assert load_machine(path).sram.size_bytes == 3 * MIB


def test_empty_name(tmp_path: Path, mini_doc: dict) -> None:
    mini_doc["name"] = " "
    _reject(tmp_path, mini_doc, "name: expected a non-empty string")


def test_missing_source(tmp_path: Path, mini_doc: dict) -> None:
    del mini_doc["sources"]["dram"]["latency_cycles"]
    _reject(tmp_path, mini_doc, "dram.latency_cycles: has no source")


def test_missing_source_for_a_matrix_dtype(tmp_path: Path, mini_doc: dict) -> None:
    del mini_doc["sources"]["matrix"]["pj_per_mac"]["fp8e5m2"]
    _reject(tmp_path, mini_doc, "matrix.pj_per_mac.fp8e5m2: has no source")


def test_empty_source(tmp_path: Path, mini_doc: dict) -> None:
    mini_doc["sources"]["clock_hz"] = "  "
    _reject(tmp_path, mini_doc, "sources.clock_hz: expected a non-empty citation")


def test_source_for_an_unknown_figure(tmp_path: Path, mini_doc: dict) -> None:
    mini_doc["sources"]["dram"]["latncy_cycles"] = "made up"
    _reject(
        tmp_path,
        mini_doc,
        "sources.dram.latncy_cycles: not a numeric figure",
        "did you mean 'dram.latency_cycles'",
    )


def test_no_sources_table(tmp_path: Path, mini_doc: dict) -> None:
    del mini_doc["sources"]
    _reject(tmp_path, mini_doc, "sources: missing")


def test_flat_dotted_source_keys_are_accepted(tmp_path: Path, mini_doc: dict) -> None:
    text = mini_doc["sources"]["dram"].pop("latency_cycles")
    mini_doc["sources"]["dram.latency_cycles"] = text
    path = tmp_path / "ok.toml"
    path.write_text(_dump(mini_doc))
    assert load_machine(path).figure_sources["dram.latency_cycles"] == text


def test_nonexistent_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(MachineError, match=r"nope\.toml: no such file"):
        load_machine(missing)


def test_directory_is_not_a_description(tmp_path: Path) -> None:
    with pytest.raises(MachineError, match="not a file"):
        load_machine(str(tmp_path) + "/")


def test_unknown_builtin_name_suggests_one() -> None:
    with pytest.raises(MachineError, match=r"unknown machine 'j1-mni'.*did you mean 'j1-mini'"):
        load_machine("j1-mni")


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(b'name = "\xff"\n')
    with pytest.raises(MachineError, match="not UTF-8"):
        load_machine(path)
