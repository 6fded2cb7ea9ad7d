"""The runtime API: load a program, bind tensors by name, run, read results and the report.

    >>> sim = Simulator.load("programs/examples/axpy.jasm", machine="j1-mini")
    >>> sim.bind("x", np.arange(8, dtype=np.float32))
    >>> sim.run()
    >>> sim.read("y")

Used by `jrun`, the debugger, the tests and the model programs. Tensors are checked against
the program's I/O table (name, dtype, shape); quantised tensors are bound as their raw GGUF
block bytes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from isa import dtypes
from isa.elf import ElfError, IoEntry, Program, read_elf
from isa.machine import Machine, load_machine
from iss.core import Core, LoadError
from iss.errors import LimitReached, Trap
from iss.race import RaceDetector, RaceError
from iss.report import Report, chrome_trace


class BindError(ValueError):
    """A tensor does not match the program, or a file cannot be used."""


def storage_shape(entry: IoEntry) -> tuple[int, ...]:
    """Shape of the array that holds `entry` in memory (quantised: raw bytes per row)."""
    dtype = dtypes.by_name(entry.dtype)
    if dtype.is_quant:
        return (*entry.shape[:-1], dtypes.row_bytes(dtype, entry.shape[-1]))
    return entry.shape


class Simulator:
    """One program on one simulated J1 core.

    `race` is the race detector's mode (error, warn or off); `defer=False` computes every
    engine instruction as it executes instead of letting matrix products and DMA copies wait
    to be done together (iss.deferred) — the same results up to the fp32 summation order
    the ISA leaves open, far slower on large GEMMs. `plans=True` records kernel calls and
    replays them when the program calls them again with the same arguments (iss.plans): a
    model run step after step on the same weights.
    """

    def __init__(self, program: Program, *, machine: str | Machine = "j1",
                 race: str = "off", record_events: bool = False,
                 output: Callable[[str], None] | None = None,
                 defer: bool = True, plans: bool = False) -> None:  # fmt: skip
        self.machine = machine if isinstance(machine, Machine) else load_machine(machine)
        self.program = program
        self.io = {entry.name: entry for entry in program.io}
        detector = None
        if race != "off":
            detector = RaceDetector(race, describe=self.describe)
        self.race = detector
        try:
            self.core = Core(self.machine, program, record_events=record_events,
                             output=output, race=detector, defer=defer,
                             plans=plans)  # fmt: skip
        except LoadError as e:
            raise BindError(str(e)) from None  # fmt: skip

    # -- loading ------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike[str], *, include: list[str] | None = None,
             defines: dict[str, str] | None = None, **kw) -> Simulator:  # fmt: skip
        """Load an ELF file, or assemble a `.jasm` source on the fly (with -I / -D)."""
        path = Path(path)
        if path.suffix in (".jasm", ".s", ".asm"):
            return cls.from_source([path], include=include, defines=defines, **kw)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise BindError(f"{path}: {e.strerror}") from None
        try:
            program = read_elf(data)
        except ElfError as e:
            raise BindError(f"{path}: not a J1 program: {e}") from None
        return cls(program, **kw)

    @classmethod
    def from_source(cls, paths: list[Path], include: list[str] | None = None,
                    defines: dict[str, str] | None = None, **kw) -> Simulator:  # fmt: skip
        """Assemble sources with jasm and load the result."""
        from asm import AssemblyError, assemble_files  # the only use of the assembler here

        try:
            program = assemble_files([str(p) for p in paths], include=include or [],
                                     defines=defines or {})  # fmt: skip
        except AssemblyError as e:
            raise BindError(str(e)) from None
        return cls(program, **kw)

    # -- tensors ------------------------------------------------------------------------------
    def entry(self, name: str) -> IoEntry:
        """The I/O table entry `name`."""
        if name not in self.io:
            known = ", ".join(sorted(self.io)) or "none"
            raise BindError(f"program has no tensor named {name!r} (it has: {known})")
        return self.io[name]

    def bind(self, name: str, value: np.ndarray, *, convert: bool = False) -> None:
        """Copy `value` into the tensor `name`, checking dtype and shape.

        With `convert`, a plain-typed array is converted to the tensor's dtype (RNE) instead
        of being rejected.
        """
        entry = self.entry(name)
        dtype = dtypes.by_name(entry.dtype)
        value = np.asarray(value)
        expected = storage_shape(entry)
        if dtype.is_quant:
            if value.dtype != np.uint8:
                raise BindError(f"{name} is {entry.dtype}: bind its raw GGUF block bytes "
                                f"(uint8), not {value.dtype}")  # fmt: skip
        elif value.dtype.kind == "V" and value.dtype.itemsize == dtype.storage.itemsize:
            # NumPy saves ml_dtypes' bf16 / fp8 arrays as raw void bytes ('|V2', '|V1'); read
            # from a .npy they are exactly the tensor's bit patterns
            value = value.view(dtype.storage)
        elif value.dtype != dtype.storage:
            if not convert:
                raise BindError(f"{name} is {entry.dtype}{list(entry.shape)}; got {value.dtype} "
                                "(pass convert=True to round it)")  # fmt: skip
            value = dtypes.cast(value, dtype)
        if tuple(value.shape) != tuple(expected):
            raise BindError(f"{name} has shape {list(expected)}; got {list(value.shape)}")
        flat = np.ascontiguousarray(value).reshape(-1).view(np.uint8)
        self.core.state.memory.write_bytes(entry.address, flat)

    def read(self, name: str) -> np.ndarray:
        """A copy of the tensor `name` as it is in simulated memory now."""
        entry = self.entry(name)
        dtype = dtypes.by_name(entry.dtype)
        data = self.core.state.memory.read_bytes(entry.address, entry.nbytes)
        return np.frombuffer(data, dtype=dtype.storage).reshape(storage_shape(entry)).copy()

    # -- running ------------------------------------------------------------------------------
    def run(self, max_steps: int | None = None, timeout: float | None = None) -> int | None:
        """Run to `halt`; returns the exit status (a0). Trap, RaceError, LimitReached escape."""
        self.core.run(max_steps=max_steps, timeout=timeout)
        return self.core.state.exit_code

    def reset(self, *, keep: Iterable[str] = ()) -> None:
        """Start the program again from its entry point (see Core.reset): registers, report
        and sections as after loading; bind the inputs again before the next run, except
        the tensors named in `keep`, whose bytes survive (weights bound once for a program
        run again on new inputs)."""
        self.core.reset(keep=[(e.address, e.nbytes) for e in map(self.entry, keep)])

    def restart(self) -> None:
        """Run the program again from its entry point, keeping everything else: memory (so
        bound tensors, caches and results), registers and the report (see Core.restart)."""
        self.core.restart()

    @property
    def state(self):
        """The machine state (registers, memories)."""
        return self.core.state

    def report(self) -> Report:
        """The performance and energy report of the run so far."""
        return Report.build(self.machine, self.core.timing, self.core.state.instret)

    def chrome_trace(self) -> str:
        """Engine timelines as Chrome trace-event JSON (needs record_events=True)."""
        return chrome_trace(self.core.timing, self.machine.clock_hz)

    def describe(self, pc: int) -> str:
        """`pc (file:line)` for messages."""
        where = self.core.location(pc)
        return f"{pc:#x} ({where})" if where else f"{pc:#x}"


__all__ = ["BindError", "LimitReached", "RaceError", "Simulator", "Trap"]
