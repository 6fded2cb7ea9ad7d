"""The end-of-run report (text and JSON) and the Chrome / Perfetto trace of engine timelines."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from isa.machine import Machine
from isa.registers import ENGINES
from iss.timing import TimingModel


@dataclass
class Report:
    """What a run did on the modelled chip."""

    machine: str
    instructions: int
    cycles: int
    seconds: float
    clock_hz: int
    flops: float  #: 2 x MACs
    tflops: float  #: achieved
    mxu_utilisation: float  #: MXU work at peak rate / total cycles
    peak_tflops: dict[str, float]
    macs: dict[str, int]
    bytes_read: dict[str, int]
    bytes_written: dict[str, int]
    dma_bytes: int
    utilisation: dict[str, float]  #: busy cycles / total cycles per engine
    energy_j: float
    average_w: float
    tflops_per_w: float
    extra: dict[str, float] = field(default_factory=dict)  #: e.g. tokens/s for models

    @classmethod
    def build(cls, machine: Machine, timing: TimingModel, instret: int) -> Report:
        """Summarise a timing model after `instret` instructions."""
        cycles = max(1, timing.total_cycles(instret))
        seconds = machine.seconds(cycles)
        s = timing.stats
        flops = 2.0 * sum(s.macs.values())
        energy = timing.energy_j(instret)
        tflops, watts, per_watt = _rates(flops, seconds, energy)
        utilisation = {name: line.busy / cycles for name, line in timing.engines.items()}
        utilisation["scalar"] = instret / cycles
        return cls(
            machine=machine.name, instructions=instret, cycles=cycles, seconds=seconds,
            clock_hz=machine.clock_hz, flops=flops, tflops=tflops,
            mxu_utilisation=s.mxu_peak_cycles / cycles,
            peak_tflops={k: v / 1e12 for k, v in machine.peak_flops_by_dtype.items()},
            macs=dict(s.macs), bytes_read=dict(s.bytes_read),
            bytes_written=dict(s.bytes_written), dma_bytes=s.dma_bytes,
            utilisation={e: utilisation[e] for e in ENGINES}, energy_j=energy,
            average_w=watts, tflops_per_w=per_watt,
        )  # fmt: skip

    @classmethod
    def combined(cls, reports: list[Report]) -> Report:
        """One report for runs done one after another on one machine: counts summed, rates
        and utilisations over the total time."""
        if len(reports) == 1:
            return reports[0]
        first = reports[0]
        cycles = sum(r.cycles for r in reports)
        seconds = sum(r.seconds for r in reports)
        flops = sum(r.flops for r in reports)
        energy = sum(r.energy_j for r in reports)

        def total(name: str) -> dict:
            keys = {k for r in reports for k in getattr(r, name)}
            return {k: sum(getattr(r, name).get(k, 0) for r in reports) for k in keys}

        def weighted(value) -> float:  # a per-cycle figure over all the runs' cycles
            return sum(value(r) * r.cycles for r in reports) / cycles

        tflops, watts, per_watt = _rates(flops, seconds, energy)
        return cls(
            machine=first.machine, instructions=sum(r.instructions for r in reports),
            cycles=cycles, seconds=seconds, clock_hz=first.clock_hz, flops=flops,
            tflops=tflops, mxu_utilisation=weighted(lambda r: r.mxu_utilisation),
            peak_tflops=first.peak_tflops, macs=total("macs"), bytes_read=total("bytes_read"),
            bytes_written=total("bytes_written"), dma_bytes=sum(r.dma_bytes for r in reports),
            utilisation={e: weighted(lambda r, e=e: r.utilisation[e]) for e in first.utilisation},
            energy_j=energy, average_w=watts, tflops_per_w=per_watt,
        )  # fmt: skip

    def as_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)

    def json(self) -> str:
        """The report as JSON text."""
        return json.dumps(self.as_dict(), indent=2)

    def text(self) -> str:
        """The human summary `jrun` prints."""
        if self.macs:
            peaks = ", ".join(f"{k} {self.peak_tflops[k]:.1f}" for k in self.macs)
            compute = (
                f"{self.tflops:.3f} TFLOP/s achieved, MXU at {self.mxu_utilisation:.1%} "
                f"of peak ({peaks} TFLOP/s peak)"
            )
        else:
            compute = f"{self.tflops:.3f} TFLOP/s (no MXU work)"
        lines = [
            f"J1 report ({self.machine} at {self.clock_hz / 1e9:g} GHz)",
            f"  instructions      {self.instructions:,}",
            f"  cycles            {self.cycles:,}  ({self.seconds * 1e6:,.3f} us)",
            f"  compute           {compute}",
        ]
        for memory in self.bytes_read:
            lines.append(f"  {memory:5s} bytes       read {self.bytes_read[memory]:,}  written "
                         f"{self.bytes_written[memory]:,}")  # fmt: skip
        lines.append("  utilisation       " + "  ".join(
            f"{e} {u:.1%}" for e, u in self.utilisation.items()))  # fmt: skip
        lines += [
            f"  energy            {self.energy_j * 1e6:,.3f} uJ, average {self.average_w:.2f} W",
            f"  efficiency        {self.tflops_per_w:.4f} TFLOP/s per W",
        ]
        lines += [f"  {k:17s} {v:,.4g}" for k, v in self.extra.items()]
        return "\n".join(lines)


def _rates(flops: float, seconds: float, energy_j: float) -> tuple[float, float, float]:
    """(TFLOP/s, average W, TFLOP/s per W) of `flops` done in `seconds` for `energy_j`."""
    tflops, watts = flops / seconds / 1e12, energy_j / seconds
    return tflops, watts, tflops / watts if watts else 0.0


def chrome_trace(timing: TimingModel, clock_hz: int) -> str:
    """Chrome trace-event JSON with one track per engine (open in Perfetto or chrome://tracing)."""
    if timing.events is None:
        raise ValueError("the run did not record engine events")
    us = 1e6 / clock_hz
    tids = {name: i + 1 for i, name in enumerate(ENGINES)}
    events: list[dict] = [
        {"name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "args": {"name": name}}
        for name, tid in tids.items()
    ]
    events.append({"name": "process_name", "ph": "M", "pid": 1, "args": {"name": "J1 core"}})
    events += [
        {"name": e.text or e.engine, "cat": e.engine, "ph": "X", "pid": 1, "tid": tids[e.engine],
         "ts": e.start * us, "dur": max(e.end - e.start, 1) * us,
         "args": {"pc": f"{e.pc:#x}", "start_cycle": e.start, "end_cycle": e.end}}
        for e in timing.events
    ]  # fmt: skip
    return json.dumps({"traceEvents": events, "displayTimeUnit": "ns"})
