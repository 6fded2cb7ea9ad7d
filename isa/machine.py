"""Machine descriptions: how big, how fast and how power-hungry one J1 core is.

The ISA fixes what a J1 core *is* (a scalar front end, the dma / matrix / vector / activation
engines with in-order queues, DRAM / SRAM / ACC memories, the data types).  A machine
description is a TOML file that fixes the numbers the timing and energy model needs.  The
built-in ones live in ``isa/machines/``: ``j1`` (the default) and ``j1-mini`` (small memories,
same engines, for fast tests).

Schema (every key is required, no other key is allowed)::

    name, description          string; description is one line
    clock_hz                   integer   core clock, Hz
    queue_depth                integer   entries in each engine's instruction queue
    static_power_w             number    leakage + uncore power, W, drawn whenever the core runs

    [dram]  size_bytes, bytes_per_cycle, latency_cycles, read_pj_per_byte, write_pj_per_byte
    [sram]  size_bytes, read_pj_per_byte, write_pj_per_byte
    [acc]   size_bytes, read_pj_per_byte, write_pj_per_byte
    [dma]   bytes_per_cycle, latency_cycles, pj_per_byte
    [matrix]                  rows, cols, fill_latency_cycles
    [matrix.macs_per_cycle]   int8, fp8e4m3, fp8e5m2, bf16, fp16, fp32    integers
    [matrix.pj_per_mac]       int8, fp8e4m3, fp8e5m2, bf16, fp16, fp32    numbers
    [vector]      elements_per_cycle, latency_cycles, pj_per_element
    [activation]  elements_per_cycle, latency_cycles, pj_per_element
    [scalar]      pj_per_instruction

    [sources]     one string per numeric figure, at the figure's dotted key:
                  ``[sources.dram] size_bytes = "..."`` cites ``dram.size_bytes``.

Rules the loader enforces:

* ``size_bytes``, ``*_cycles``, ``*_per_cycle``, ``rows``, ``cols``, ``clock_hz`` and
  ``queue_depth`` are TOML integers; the other figures may be integers or floats.  A boolean
  is never a number.  Every figure is finite and greater than zero.
* Every ``size_bytes`` is a multiple of 4 KiB (4096 bytes), the DMA and allocation granule.
* Every numeric figure has a non-empty citation or derivation under ``[sources]``, and every
  source belongs to a figure.

What the figures mean to the timing and energy model:

* A DMA transfer moves the larger of its bytes read and written at ``dma.bytes_per_cycle``,
  and every byte it reads from or writes to DRAM at ``dram.bytes_per_cycle``; the slower of
  the two sets its duration (:meth:`Machine.dma_cycles`). It costs ``dma.latency_cycles``
  plus ``dram.latency_cycles`` when it touches DRAM.
* Each byte read or written at a memory level costs that level's ``read/write_pj_per_byte``;
  each byte a DMA moves also costs ``dma.pj_per_byte``.
* The MXU does ``matrix.macs_per_cycle[dtype]`` MACs per cycle for input ``dtype`` at
  ``matrix.pj_per_mac[dtype]`` each, plus ``fill_latency_cycles`` to fill the array. Like the
  NeuronCore Tensor Engine's row and column tiling modes (AWS Neuron docs, ``nki.isa.nc_matmul``,
  'Tiling mode'), a product whose K fits half the rows, or whose N fits half the columns, uses
  only that half, and products that fit disjoint quarters run side by side (iss/timing.py).
* Vector and activation rates are per element and the same for every dtype: the units widen
  inputs to fp32 internally.  ``pj_per_element`` is per element per operation.
* Every instruction the front end fetches costs ``scalar.pj_per_instruction``.
* A unit's latency (``latency_cycles``, the DMA's and DRAM's, the MXU's fill) overlaps
  independent work; an instruction that reads what an earlier one of the same unit writes
  waits for it (except `mm.acc` adding into the MXU's own accumulators).
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

MACHINES_DIR = Path(__file__).parent / "machines"
BUILTIN_MACHINES: tuple[str, ...] = ("j1", "j1-mini")
MATRIX_DTYPES: tuple[str, ...] = ("int8", "fp8e4m3", "fp8e5m2", "bf16", "fp16", "fp32")
SIZE_GRANULE = 4096

# Kinds of leaf value in the schema.
TEXT = "string"
INTEGER = "integer"
NUMBER = "number"
SIZE = "size"

_MEMORY = {"size_bytes": SIZE, "read_pj_per_byte": NUMBER, "write_pj_per_byte": NUMBER}
_ELEMENT_UNIT = {"elements_per_cycle": INTEGER, "latency_cycles": INTEGER, "pj_per_element": NUMBER}

SCHEMA: Mapping[str, object] = {
    "name": TEXT,
    "description": TEXT,
    "clock_hz": INTEGER,
    "queue_depth": INTEGER,
    "static_power_w": NUMBER,
    "dram": {**_MEMORY, "bytes_per_cycle": INTEGER, "latency_cycles": INTEGER},
    "sram": _MEMORY,
    "acc": _MEMORY,
    "dma": {"bytes_per_cycle": INTEGER, "latency_cycles": INTEGER, "pj_per_byte": NUMBER},
    "matrix": {
        "rows": INTEGER,
        "cols": INTEGER,
        "fill_latency_cycles": INTEGER,
        "macs_per_cycle": dict.fromkeys(MATRIX_DTYPES, INTEGER),
        "pj_per_mac": dict.fromkeys(MATRIX_DTYPES, NUMBER),
    },
    "vector": _ELEMENT_UNIT,
    "activation": _ELEMENT_UNIT,
    "scalar": {"pj_per_instruction": NUMBER},
}
"""The description's keys: a leaf is its kind, a dict is a TOML table."""


class MachineError(ValueError):
    """A machine description is missing, malformed, or has a figure without a source."""


@dataclass(frozen=True)
class Memory:
    """One on-chip memory level: capacity and access energy."""

    size_bytes: int
    read_pj_per_byte: float
    write_pj_per_byte: float


@dataclass(frozen=True)
class Dram(Memory):
    """Off-chip DRAM (HBM): a memory level with a bandwidth and an access latency."""

    bytes_per_cycle: int
    latency_cycles: int


@dataclass(frozen=True)
class Dma:
    """The DMA engine: peak rate, fixed cost per transfer, energy per byte moved."""

    bytes_per_cycle: int
    latency_cycles: int
    pj_per_byte: float


@dataclass(frozen=True)
class MatrixUnit:
    """The systolic matrix unit (MXU); rates and energies are keyed by input dtype."""

    rows: int
    cols: int
    fill_latency_cycles: int
    macs_per_cycle: Mapping[str, int]
    pj_per_mac: Mapping[str, float]


@dataclass(frozen=True)
class ElementUnit:
    """An elementwise engine (vector or activation): same rate for every dtype."""

    elements_per_cycle: int
    latency_cycles: int
    pj_per_element: float


@dataclass(frozen=True)
class Scalar:
    """The scalar front end, which fetches and issues every instruction."""

    pj_per_instruction: float


@dataclass(frozen=True)
class Machine:
    """One validated machine description; see the module docstring for the meaning of each figure.

    ``figures`` maps every numeric figure's dotted key (``"dram.size_bytes"``) to its value and
    ``figure_sources`` maps the same keys to their citation, both in file order.
    """

    name: str
    description: str
    clock_hz: int
    queue_depth: int
    static_power_w: float
    dram: Dram
    sram: Memory
    acc: Memory
    dma: Dma
    matrix: MatrixUnit
    vector: ElementUnit
    activation: ElementUnit
    scalar: Scalar
    figures: Mapping[str, int | float]
    figure_sources: Mapping[str, str]
    path: str

    def seconds(self, cycles: float) -> float:
        """Wall-clock time of ``cycles`` core cycles."""
        return cycles / self.clock_hz

    def peak_flops(self, dtype: str) -> float:
        """Peak MXU rate for input ``dtype`` in FLOP/s (OP/s for int8): 2 · MACs/cycle · clock."""
        if dtype not in self.matrix.macs_per_cycle:
            raise MachineError(
                f"{self.name}: no matrix dtype {dtype!r}{_suggest(dtype, MATRIX_DTYPES)}"
            )
        return 2.0 * self.matrix.macs_per_cycle[dtype] * self.clock_hz

    @property
    def peak_flops_by_dtype(self) -> dict[str, float]:
        """Peak MXU FLOP/s for every input dtype."""
        return {dtype: self.peak_flops(dtype) for dtype in MATRIX_DTYPES}

    @property
    def dram_bytes_per_s(self) -> float:
        """Peak DRAM bandwidth in bytes per second."""
        return float(self.dram.bytes_per_cycle * self.clock_hz)

    def dma_cycles(self, moved: int, dram: int) -> int:
        """Cycles one DMA transfer occupies the engine: `moved` bytes (the larger of read and
        written) through its datapath, of which `dram` bytes cross the DRAM interface (a
        DRAM-to-DRAM copy counts both sides)."""
        return max(-(-moved // self.dma.bytes_per_cycle), -(-dram // self.dram.bytes_per_cycle))


def load_machine(name_or_path: str | os.PathLike[str] = "j1") -> Machine:
    """Load and validate a built-in machine (``"j1"``, ``"j1-mini"``) or a ``.toml`` file.

    Raises :class:`MachineError` with a one-line message naming the file and the offending key.
    """
    path = _resolve(name_or_path)
    return parse_machine(_read_text(path), str(path))


def parse_machine(text: str, where: str = "<string>") -> Machine:
    """Validate the TOML ``text`` of a machine description; ``where`` names it in errors."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MachineError(f"{where}: TOML syntax error: {exc}") from None
    sources_table = doc.pop("sources", None)
    values = _check_table(doc, SCHEMA, "", where)
    if sources_table is None:
        raise _error(where, "sources", "missing: every figure needs a citation or derivation")
    if not isinstance(sources_table, dict):
        raise _error(where, "sources", f"expected a table, got {_describe(sources_table)}")
    figures = dict(_numeric_figures(values, SCHEMA, ""))
    sources = _flatten_sources(sources_table, "", where)
    _check_sources(figures, sources, where)
    return _build(values, figures, {key: sources[key] for key in figures}, where)


def _resolve(name_or_path: str | os.PathLike[str]) -> Path:
    """The file behind a built-in name or a path; MachineError when there is none."""
    name = os.fspath(name_or_path)
    if name in BUILTIN_MACHINES:
        return MACHINES_DIR / f"{name}.toml"
    path = Path(name)
    if path.is_file():
        return path
    if path.suffix or os.sep in name or "/" in name:
        problem = "not a file" if path.exists() else "no such file"
        raise MachineError(f"{name}: {problem}")
    builtins = ", ".join(BUILTIN_MACHINES)
    raise MachineError(
        f"unknown machine {name!r}: not a built-in ({builtins}) and no such file"
        f"{_suggest(name, BUILTIN_MACHINES)}"
    )


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MachineError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MachineError(f"{path}: not UTF-8 text (bad byte at offset {exc.start})") from None


def _check_table(table: dict, schema: Mapping[str, object], prefix: str, where: str) -> dict:
    """Check ``table`` against ``schema``; return it with numbers normalised."""
    for key in table:
        if key not in schema:
            raise _error(where, prefix + key, f"unknown key{_suggest(key, schema)}")
    checked = {}
    for key, kind in schema.items():
        dotted = prefix + key
        if key not in table:
            raise _error(where, dotted, "missing")
        value = table[key]
        if isinstance(kind, Mapping):
            if not isinstance(value, dict):
                raise _error(where, dotted, f"expected a table, got {_describe(value)}")
            checked[key] = _check_table(value, kind, dotted + ".", where)
        else:
            checked[key] = _check_value(value, str(kind), dotted, where)
    return checked


def _check_value(value: object, kind: str, key: str, where: str) -> object:
    """Check one leaf: a non-empty string, or a positive finite number of the right kind."""
    if kind == TEXT:
        if not isinstance(value, str) or not value.strip():
            raise _error(where, key, f"expected a non-empty string, got {_describe(value)}")
        if "\n" in value:
            raise _error(where, key, "must be one line")
        return value
    wanted = "a number" if kind == NUMBER else "an integer"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _error(where, key, f"expected {wanted}, got {_describe(value)}")
    if kind != NUMBER and not isinstance(value, int):
        raise _error(where, key, f"expected {wanted}, got {_describe(value)}")
    if not math.isfinite(value):
        raise _error(where, key, f"must be finite, got {value}")
    if value <= 0:
        raise _error(where, key, f"must be positive, got {value}")
    if kind == SIZE and value % SIZE_GRANULE:
        raise _error(where, key, f"must be a multiple of {SIZE_GRANULE} bytes (4 KiB), got {value}")
    return float(value) if kind == NUMBER else value


def _numeric_figures(
    values: dict, schema: Mapping[str, object], prefix: str
) -> Iterator[tuple[str, int | float]]:
    """Yield (dotted key, value) for every numeric leaf, in schema order."""
    for key, kind in schema.items():
        if isinstance(kind, Mapping):
            yield from _numeric_figures(values[key], kind, f"{prefix}{key}.")
        elif kind != TEXT:
            yield prefix + key, values[key]


def _flatten_sources(table: dict, prefix: str, where: str) -> dict[str, str]:
    """Map dotted figure keys to their citation, whitespace collapsed."""
    flat = {}
    for key, value in table.items():
        dotted = prefix + key
        if isinstance(value, dict):
            flat.update(_flatten_sources(value, dotted + ".", where))
        elif isinstance(value, str) and value.strip():
            flat[dotted] = " ".join(value.split())
        else:
            raise _error(
                where, f"sources.{dotted}", f"expected a non-empty citation, got {_describe(value)}"
            )
    return flat


def _check_sources(figures: Mapping[str, object], sources: Mapping[str, str], where: str) -> None:
    for key in sources:
        if key not in figures:
            raise _error(where, f"sources.{key}", f"not a numeric figure{_suggest(key, figures)}")
    for key in figures:
        if key not in sources:
            raise _error(where, key, f'has no source: add sources.{key} = "citation or derivation"')


def _build(values: dict, figures: dict, sources: dict, where: str) -> Machine:
    matrix = values["matrix"]
    return Machine(
        name=values["name"],
        description=values["description"],
        clock_hz=values["clock_hz"],
        queue_depth=values["queue_depth"],
        static_power_w=values["static_power_w"],
        dram=Dram(**values["dram"]),
        sram=Memory(**values["sram"]),
        acc=Memory(**values["acc"]),
        dma=Dma(**values["dma"]),
        matrix=MatrixUnit(
            rows=matrix["rows"],
            cols=matrix["cols"],
            fill_latency_cycles=matrix["fill_latency_cycles"],
            macs_per_cycle=MappingProxyType(matrix["macs_per_cycle"]),
            pj_per_mac=MappingProxyType(matrix["pj_per_mac"]),
        ),
        vector=ElementUnit(**values["vector"]),
        activation=ElementUnit(**values["activation"]),
        scalar=Scalar(**values["scalar"]),
        figures=MappingProxyType(figures),
        figure_sources=MappingProxyType(sources),
        path=where,
    )


def _error(where: str, key: str, problem: str) -> MachineError:
    return MachineError(f"{where}: {key}: {problem}")


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _describe(value: object) -> str:
    """A value as the TOML author wrote it, for error messages."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, int | float):
        return f"{type(value).__name__} {value!r}"
    return type(value).__name__
