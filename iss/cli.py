"""`jrun`: run a J1 program on the simulator and report what the chip did.

Exit status: the program's (a0 & 255) after `halt`; 1 if the program or a tensor cannot be
loaded; 2 for usage errors; 3 on a trap, a race (with --race error) or a limit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import numpy as np

from isa import __version__
from isa.machine import MachineError
from iss.errors import LimitReached, Trap
from iss.race import RaceError
from iss.runtime import BindError, Simulator
from iss.tensors import TensorFileError, load_tensor
from iss.trace import trace_run


def name_value_pairs(values: tuple[str, ...], option: str) -> list[tuple[str, str]]:
    """NAME=VALUE option values as pairs; a malformed one is a usage error naming `option`."""
    pairs = []
    for value in values:
        name, sep, spec = value.partition("=")
        if not sep or not name or not spec:
            raise click.BadParameter(f"expected NAME=FILE, got {value!r}", param_hint=option)
        pairs.append((name, spec))
    return pairs


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("program", type=click.Path(dir_okay=False))
@click.option(
    "--in",
    "inputs",
    multiple=True,
    metavar="NAME=FILE",
    help="bind a tensor from .npy, .safetensors[:TENSOR] or .gguf[:TENSOR]",
)
@click.option(
    "--out",
    "outputs",
    multiple=True,
    metavar="NAME=FILE",
    help="write a tensor to a .npy file after the run",
)
@click.option(
    "--machine",
    default="j1",
    show_default=True,
    help="built-in machine (j1, j1-mini) or a .toml description",
)
@click.option("--max-steps", type=click.IntRange(min=1), help="stop after N instructions")
@click.option("--timeout", type=click.FloatRange(min=0), help="stop after N wall-clock seconds")
@click.option(
    "--race",
    type=click.Choice(["off", "warn", "error"]),
    default="warn",
    show_default=True,
    help="race detector mode",
)
@click.option(
    "--report",
    "report_format",
    type=click.Choice(["text", "json", "none"]),
    default="text",
    show_default=True,
    help="summary printed at the end",
)
@click.option("--trace", is_flag=True, help="print every executed instruction")
@click.option(
    "--trace-json",
    type=click.Path(dir_okay=False),
    help="write engine timelines as Chrome trace-event JSON (Perfetto)",
)
@click.option("-I", "include", multiple=True, help="include directory for .jasm sources")
@click.option("-D", "defines", multiple=True, metavar="NAME=VALUE", help="assembler symbol")
@click.version_option(__version__, prog_name="jrun")
def main(program, inputs, outputs, machine, max_steps, timeout, race, report_format, trace,
         trace_json, include, defines) -> None:  # fmt: skip
    """Run PROGRAM (.elf, or .jasm assembled on the fly) on the J1 simulator."""
    try:
        sim = Simulator.load(
            program,
            machine=machine,
            race=race,
            record_events=trace_json is not None,
            include=list(include),
            defines=dict(name_value_pairs(defines, "-D")),
        )
        for name, spec in name_value_pairs(inputs, "--in"):
            sim.bind(name, load_tensor(spec, default_name=name))
        out_pairs = name_value_pairs(outputs, "--out")
        for name, _ in out_pairs:
            sim.entry(name)
    except (BindError, TensorFileError, MachineError) as e:
        click.echo(f"jrun: {e}", err=True)
        sys.exit(1)
    status = 0
    try:
        if trace:
            trace_run(sim.core, click.echo, max_steps=max_steps)
        else:
            sim.run(max_steps=max_steps, timeout=timeout)
        status = (sim.state.exit_code or 0) & 255
        if report_format == "text":
            click.echo(f"halted: exit status {sim.state.exit_code}")
    except (Trap, RaceError, LimitReached) as e:
        click.echo(f"jrun: {e}", err=True)
        status = 3
    for name, path in out_pairs:
        np.save(Path(path), sim.read(name), allow_pickle=False)
    if report_format == "text":
        click.echo(sim.report().text())
    elif report_format == "json":
        click.echo(sim.report().json())
    if trace_json:
        Path(trace_json).write_text(sim.chrome_trace(), encoding="utf-8")
    sys.exit(status)
