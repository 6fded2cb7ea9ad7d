"""jdb's commands: one `do_<name>` per command, gdb's vocabulary, help from the docstrings.

Commands talk to the engine (debugger.engine: running, stopping, going back), the expression
evaluator (debugger.expr) and the views (debugger.views), and say everything through one
Output. They never print, never let an exception escape (the Session turns every failure
into one `error:` line), and describe each stop with a stable, parseable first line:
`stop <kind> pc=0x… instret=N …` (see debugger.points.Stop.line).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from debugger import views
from debugger.dispatch import CommandError, Dispatcher, aliases, help_text
from debugger.engine import Engine
from debugger.expr import Evaluator, MemRef, parse
from debugger.lexer import JasmLexer
from debugger.locations import place
from debugger.output import Output
from debugger.points import Stop
from isa.registers import DREG_NAMES, FREG_NAMES, SEM_NAMES, XREG_ABI, XREG_NAMES
from iss import tiles

_EXAMINE = re.compile(r"^/(?P<count>\d*)(?P<format>[xduotfcai]?)(?P<unit>[bhwg]?)$")
_UNITS = {"b": 1, "h": 2, "w": 4, "g": 8}
INFO_TOPICS = (
    "registers", "breakpoints", "watchpoints", "symbols", "frame", "perf", "engines",
    "display", "history",
)  # fmt: skip


class Commands(Dispatcher):
    """The commands of one debugging session over `engine`."""

    def __init__(self, engine: Engine, output: Output) -> None:
        self.engine, self.out = engine, output
        self.state, self.program = engine.state, engine.sim.program
        self.values: dict[str, object] = {}  #: `$1`, `$2`, … from print
        self.ev = Evaluator(self.state, self.program, csr=self._csr, variables=self.values)
        self.displays: dict[int, list] = {}  #: number -> [expression, previous value]
        self.next_display = 1
        self.frame = 0  #: selected frame (0: innermost)
        self.last_stop: Stop | None = None
        self.started = False
        self.quit = False
        self.perf = engine.perf_since_last_stop()
        self.list_next: tuple[str, int] | None = None
        super().__init__()

    # -- helpers ------------------------------------------------------------------------------
    def _csr(self, name: str) -> int:
        if name == "cycle":
            return self.engine.core.timing.issue_cycle(self.state.instret)
        return {"instret": self.state.instret, "scratch": self.state.scratch,
                "ldepth": len(self.state.loops),
                "lcount": self.state.loops[-1][2] if self.state.loops else 0}[name]  # fmt: skip

    def _int(self, text: str, what: str) -> int:
        try:
            return int(text, 0)
        except ValueError:
            value = self.ev.evaluate(text)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise CommandError(f"{what} must be an integer, not {text!r}") from None
            return int(value)

    def _reference(self, text: str) -> MemRef | None:
        """The memory an expression names (`sram[0x100:+64]`, `mem[a]`), if it names one."""
        return self.ev.reference(text)

    def _where(self, pc: int) -> str:
        function = self.engine.function_of(pc)
        line = self.engine.line_of(pc)
        place = f" in {function}" if function else ""
        source = f" at {line[0]}:{line[1]}" if line else ""
        return f"{pc:#x}{place}{source}"

    def _source_line(self, file: str, line: int) -> str | None:
        try:
            lines = Path(file).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None
        return lines[line - 1] if 0 < line <= len(lines) else None

    def _show_location(self, pc: int) -> None:
        line = self.engine.line_of(pc)
        text = self._source_line(*line) if line else None
        if line and text is not None:
            self.out.message([("class:dim", f"{line[1]:<6}"), ("", text.rstrip())])
        self.out.message(
            [("class:pc", f"=> {pc:#x}: "), ("", self.engine.core.instruction_text(pc))]
        )

    def report(self, stop: Stop) -> None:
        """Say why and where the machine stopped, then the displays."""
        self.last_stop, self.frame = stop, 0
        self.perf = self.engine.perf_since_last_stop()
        self.out.message(stop.line(), "class:stop")
        if stop.kind == "trap" and stop.trap is not None:
            self.out.message(f"trap: {stop.trap}")
        elif stop.kind == "halted":
            self.out.message(f"program halted: exit status {self.state.exit_code}")
        elif stop.kind in ("watchpoint", "nan") and stop.old is not None:
            self.out.message(f"old value: {_short(stop.old)}\nnew value: {_short(stop.new)}")
        elif stop.detail and stop.kind == "nan":
            self.out.message(stop.detail)
        if stop.kind != "halted":
            self.out.message(f"at {self._where(stop.pc)}")
            self._show_location(stop.pc)
        self._show_displays()

    def _run(self, action) -> None:
        self.started = True
        self.report(action())

    # -- running ------------------------------------------------------------------------------
    @aliases("r")
    def do_run(self, arg: str) -> None:
        """Start the program from its entry (again, if it has run), to the first stop."""
        if self.started:
            self.engine.restart()
        self._run(self.engine.cont)

    @aliases("c", "cont", repeat=True)
    def do_continue(self, arg: str) -> None:
        """Continue until a breakpoint, watchpoint, trap or the end. `continue N` ignores the
        breakpoint just hit N-1 more times."""
        if arg and self.last_stop is not None and self.last_stop.kind == "breakpoint":
            point = self.engine.breakpoints.get(self.last_stop.number)
            if point is not None:
                point.ignore = self._int(arg, "count") - 1
        self._run(self.engine.cont)

    @aliases("s", repeat=True)
    def do_step(self, arg: str) -> None:
        """Step to the next source line, into calls. `step N` repeats N times."""
        self._run(lambda: self.engine.step(self._count(arg)))

    @aliases("n", repeat=True)
    def do_next(self, arg: str) -> None:
        """Step to the next source line, over calls. `next N` repeats N times."""
        self._run(lambda: self.engine.next(self._count(arg)))

    @aliases("si", repeat=True)
    def do_stepi(self, arg: str) -> None:
        """Execute one instruction (`stepi N`: N instructions)."""
        self._run(lambda: self.engine.stepi(self._count(arg)))

    @aliases("ni", repeat=True)
    def do_nexti(self, arg: str) -> None:
        """Execute one instruction, running a `call` through to its return."""
        self._run(lambda: self.engine.nexti(self._count(arg)))

    @aliases("fin")
    def do_finish(self, arg: str) -> None:
        """Run until the current subroutine returns."""
        self._run(self.engine.finish)

    @aliases("u")
    def do_until(self, arg: str) -> None:
        """`until LOCATION`: run until LOCATION is reached in this frame (or it returns);
        without one, `next` that does not go back into a loop."""
        if not arg:
            self._run(lambda: self.engine.next())
            return
        self._run(lambda: self.engine.until(self._location(arg)))

    def do_advance(self, arg: str) -> None:
        """`advance LOCATION`: run until LOCATION (label, file:line, *address)."""
        if not arg:
            raise CommandError("advance needs a location")
        self._run(lambda: self.engine.advance(self._location(arg)))

    # -- reverse ------------------------------------------------------------------------------
    @aliases("rsi", repeat=True)
    def do_reverse_stepi(self, arg: str) -> None:
        """Go back one instruction (`reverse-stepi N`: N instructions)."""
        self._run(lambda: self.engine.reverse_stepi(self._count(arg)))

    @aliases("rs", repeat=True)
    def do_reverse_step(self, arg: str) -> None:
        """Go back to the start of the previous source line, into calls."""
        self._run(lambda: self.engine.reverse_step(self._count(arg)))

    @aliases("rn", repeat=True)
    def do_reverse_next(self, arg: str) -> None:
        """Go back to the previous source line of this frame, over calls."""
        self._run(lambda: self.engine.reverse_next(self._count(arg)))

    @aliases("rc")
    def do_reverse_continue(self, arg: str) -> None:
        """Run backwards to the latest breakpoint or watchpoint hit (or history's start)."""
        self._run(self.engine.reverse_continue)

    def do_reverse_finish(self, arg: str) -> None:
        """Go back to the call of the current subroutine."""
        self._run(self.engine.reverse_finish)

    def do_goto(self, arg: str) -> None:
        """`goto N`: put the machine at instruction count N (back or forward)."""
        self._run(lambda: self.engine.goto(self._int(arg, "instruction count")))

    def _count(self, arg: str) -> int:
        count = self._int(arg, "count") if arg else 1
        if count < 1:
            raise CommandError("count must be at least 1")
        return count

    # -- breakpoints and watchpoints -------------------------------------------------------
    @aliases("b", "br")
    def do_break(self, arg: str) -> None:
        """`break LOCATION [if CONDITION]`: stop before the instruction at LOCATION: a label
        (`loop`, `loop+8`), `file:line`, a line of the entry's file, or `*ADDRESS`; no
        location means the current pc."""
        self._add_break(arg, temporary=False)

    def do_tbreak(self, arg: str) -> None:
        """`tbreak LOCATION [if CONDITION]`: a breakpoint that deletes itself when hit."""
        self._add_break(arg, temporary=True)

    def _add_break(self, arg: str, temporary: bool) -> None:
        where, _, condition = arg.partition(" if ")
        address = self._location(where) if where.strip() else self.state.pc
        check = self._condition(condition) if condition.strip() else None
        bp = self.engine.add_breakpoint(address, condition=check, condition_text=condition.strip(),
                                        temporary=temporary)  # fmt: skip
        kind = "temporary breakpoint" if temporary else "breakpoint"
        self.out.message(f"{kind} {bp.number} at {self._where(address)}")

    def _location(self, text: str) -> int:
        """An address from a location as gdb takes it: a bare number is a line."""
        text = text.strip()
        if not text.isdigit():
            return self.engine.resolve(text)
        addresses = self.engine.line_addresses(None, int(text))
        if not addresses:
            raise CommandError(f"no code at line {text}")
        return addresses[0]

    def _condition(self, text: str):
        parse(text)  # a syntax error is reported now, not at the first hit
        return lambda: self.ev.truth(text)

    def do_condition(self, arg: str) -> None:
        """`condition N [CONDITION]`: stop at breakpoint N only when CONDITION holds (none:
        always)."""
        number, _, text = arg.partition(" ")
        point = self._point(number)
        point.condition = self._condition(text) if text.strip() else None
        if hasattr(point, "condition_text"):
            point.condition_text = text.strip()

    def do_ignore(self, arg: str) -> None:
        """`ignore N COUNT`: pass breakpoint N COUNT times before stopping at it."""
        number, _, count = arg.partition(" ")
        if not count.strip():
            raise CommandError("usage: ignore N COUNT")
        self._point(number).ignore = self._int(count, "count")

    def _point(self, number: str):
        n = self._int(number, "breakpoint number")
        point = self.engine.breakpoints.get(n) or self.engine.watchpoints.get(n)
        if point is None:
            raise CommandError(f"no breakpoint or watchpoint {n}")
        return point

    def _numbers(self, arg: str) -> list[int]:
        if arg:
            return [self._int(word, "number") for word in arg.split()]
        return [*self.engine.breakpoints, *self.engine.watchpoints]

    def do_enable(self, arg: str) -> None:
        """`enable [N…]`: enable breakpoints or watchpoints (all without numbers)."""
        for n in self._numbers(arg):
            self.engine.enable(n, True)

    def do_disable(self, arg: str) -> None:
        """`disable [N…]`: disable breakpoints or watchpoints (all without numbers)."""
        for n in self._numbers(arg):
            self.engine.enable(n, False)

    @aliases("d")
    def do_delete(self, arg: str) -> None:
        """`delete [N…]`: delete breakpoints or watchpoints (all without numbers)."""
        for n in self._numbers(arg):
            self.engine.delete(n)

    def do_watch(self, arg: str) -> None:
        """`watch WHAT`: stop after an instruction changes WHAT — a register (`t0`, `f3`,
        `d2`, `sem1`), memory (`sram[0x100:+64]`, `mem[ADDR:+N]`, a tensor name) or the
        bytes of a tile (`tile(d3)`)."""
        self._watch(arg, "write")

    def do_rwatch(self, arg: str) -> None:
        """`rwatch WHAT`: stop after an instruction reads WHAT (memory or a tile)."""
        self._watch(arg, "read")

    def do_awatch(self, arg: str) -> None:
        """`awatch WHAT`: stop after an instruction reads or writes WHAT (memory or a tile)."""
        self._watch(arg, "access")

    def _watch(self, arg: str, kind: str) -> None:
        text = arg.strip()
        if not text:
            raise CommandError("watch needs something to watch")
        wp = self.engine.add_watchpoint(**self._watch_target(text), kind=kind, what=text)
        label = {"write": "watchpoint", "read": "read watchpoint", "access": "access watchpoint"}
        self.out.message(f"{label[kind]} {wp.number}: {text}")

    def _watch_target(self, text: str) -> dict:
        for bank, names in (("x", XREG_NAMES), ("f", FREG_NAMES), ("d", DREG_NAMES),
                            ("sem", SEM_NAMES)):  # fmt: skip
            if text in names:
                return {"register": (bank, names[text])}
        tile = re.fullmatch(r"(?:tile\((\w+)\)|\*(\w+))", text)
        if tile:
            desc = self.ev.evaluate(tile[1] or tile[2])
            if not isinstance(desc, tiles.Desc):
                raise CommandError(f"{text} is not a tile descriptor")
            return {"desc": desc}
        entry = self.ev.io.get(text)
        if entry is not None:
            return {"address": entry.address, "nbytes": entry.nbytes}
        symbol = self.program.symbol(text)
        if symbol is not None:  # a data label: its size, or the dword there
            return {"address": symbol.value, "nbytes": symbol.size or 8}
        ref = self._reference(text)
        if ref is None:
            raise CommandError(f"cannot watch {text!r}: not a register, memory or tile")
        return {"address": ref.address, "nbytes": ref.nbytes}

    def do_catch(self, arg: str) -> None:
        """`catch nan [off]`: stop at the instruction whose engine first writes a NaN or Inf."""
        words = arg.split()
        if not words or words[0] != "nan":
            raise CommandError("usage: catch nan [off]")
        self.engine.catch_nan = words[1:] != ["off"]
        self.out.message(f"catch nan {'on' if self.engine.catch_nan else 'off'}")

    # -- looking at the machine -----------------------------------------------------------------
    @aliases("p", "inspect")
    def do_print(self, arg: str) -> None:
        """`print EXPR`: show a value — registers, symbols, tensors, arithmetic, memory
        views such as `sram[0x100:+512].bf16.reshape(8, 32)`, a descriptor `d3` or the array
        it describes `tile(d3)`. `help expressions` lists the language."""
        if not arg:
            raise CommandError("print needs an expression")
        value = self.ev.evaluate(arg)
        number = len(self.values) + 1
        self.values[str(number)] = value
        rendering = views.render(value)
        self.out.message([("", f"${number} = "), *rendering.fragments])

    def do_set(self, arg: str) -> None:
        """`set var TARGET = VALUE`: change a register, semaphore or memory view (converted
        to its dtype with round-to-nearest-even)."""
        words = arg.split(None, 1)
        if not words or words[0] not in ("var", "variable") or len(words) < 2:
            raise CommandError("usage: set var TARGET = VALUE")
        target, eq, value = words[1].partition("=")
        if not eq or not target.strip() or not value.strip():
            raise CommandError("usage: set var TARGET = VALUE")
        self._save_for_history(target.strip())  # reverse execution can undo the change
        new = self.ev.assign(target.strip(), value.strip())
        self.engine.history.checkpoint()
        self.out.message([("", f"{target.strip()} = "), *views.render(new).fragments])

    def _save_for_history(self, target: str) -> None:
        ref = self._reference(target)
        if ref is not None:
            self.engine.history.save_range(*place(ref.address, ref.nbytes))

    @aliases("x")
    def do_examine(self, arg: str) -> None:
        """`x/NFU ADDRESS`: N units of memory from ADDRESS. F: x hex, d signed, u unsigned,
        o octal, t binary, f float, c char, a address, i instructions; U: b h w g (1, 2, 4,
        8 bytes)."""
        spec, _, where = arg.partition(" ") if arg.startswith("/") else ("", "", arg)
        match = _EXAMINE.match(spec) if spec else _EXAMINE.match("/")
        if match is None:
            raise CommandError(f"bad format {spec!r}: x/NFU, e.g. x/8xw sram")
        count = int(match["count"] or 1)
        fmt = match["format"] or "x"
        address = self._address(where)
        if fmt == "i":
            for i in range(count):
                pc = address + 8 * i
                self.out.message(f"{pc:#x}: {self.engine.core.instruction_text(pc)}")
            return
        unit = _UNITS[match["unit"] or ("w" if fmt != "c" else "b")]
        if fmt == "f" and unit not in (2, 4, 8):
            unit = 4
        data = self.state.memory.read_bytes(address, count * unit)
        values = [_format_unit(data[i * unit : (i + 1) * unit], fmt) for i in range(count)]
        per_line = max(1, 16 // unit)
        for start in range(0, count, per_line):
            row = "  ".join(values[start : start + per_line])
            self.out.message(f"{address + start * unit:#x}: {row}")

    def _address(self, text: str) -> int:
        if not text.strip():
            raise CommandError("an address is needed")
        ref = self._reference(text)
        if ref is not None:
            return ref.address
        return self._int(text, "address")

    def do_display(self, arg: str) -> None:
        """`display EXPR`: show EXPR now and at every stop, changes highlighted; no
        argument: show every display now."""
        if not arg:
            self._show_displays()
            return
        parse(arg)
        number, self.next_display = self.next_display, self.next_display + 1
        self.displays[number] = [arg, None]
        self._show_displays(only=number)

    def do_undisplay(self, arg: str) -> None:
        """`undisplay [N…]`: stop showing displays (all without numbers)."""
        for n in self._numbers_of(arg, self.displays, "display"):
            del self.displays[n]

    def _numbers_of(self, arg: str, table: dict, what: str) -> list[int]:
        numbers = [self._int(w, "number") for w in arg.split()] if arg else list(table)
        for n in numbers:
            if n not in table:
                raise CommandError(f"no {what} {n}")
        return numbers

    def _show_displays(self, only: int | None = None) -> None:
        for number, entry in self.displays.items():
            if only is not None and number != only:
                continue
            text, previous = entry
            try:
                value = self.ev.evaluate(text)
            except Exception as e:  # one display failing must not hide the others
                self.out.message(f"{number}: {text} = <{e}>")
                continue
            rendering = views.render(value, previous)
            entry[1] = np.array(value, copy=True) if isinstance(value, np.ndarray) else value
            self.out.message([("", f"{number}: {text} = "), *rendering.fragments])

    def do_dump(self, arg: str) -> None:
        """`dump EXPR FILE.npy`: save a value (a tensor, a memory view, `tile(d3)`) to .npy."""
        expression, _, path = arg.rpartition(" ")
        if not expression.strip() or not path:
            raise CommandError("usage: dump EXPR FILE.npy")
        saved = views.dump(self.ev.evaluate(expression), path)
        self.out.message(f"wrote {saved}")

    @aliases("disas")
    def do_disassemble(self, arg: str) -> None:
        """`disassemble [LOCATION [COUNT]]`: instructions from LOCATION (default: around the
        pc), the pc marked `=>`."""
        words = arg.split()
        count = self._int(words[1], "count") if len(words) > 1 else 12
        start = self._location(words[0]) if words else max(
            self.engine.core.text[0], self.state.pc - 8 * (count // 3)
        )  # fmt: skip
        for i in range(count):
            pc = start + 8 * i
            if pc >= self.engine.core.text[1]:
                break
            mark = "=> " if pc == self.state.pc else "   "
            where = self.engine.function_of(pc)
            label = f" <{where}>" if where else ""
            text = self.engine.core.instruction_text(pc)
            self.out.message([("class:pc" if mark.strip() else "", f"{mark}{pc:#x}{label}: "),
                              *highlight(text)])  # fmt: skip

    @aliases("l", repeat=True)
    def do_list(self, arg: str) -> None:
        """`list [LOCATION]`: ten source lines around LOCATION (default: the pc, then on)."""
        if arg:
            place = self.engine.line_of(self._location(arg))
        elif self.list_next is not None and self.last == "list":
            place = self.list_next
        else:
            place = self.engine.line_of(self._frame_pc())
        if place is None:
            raise CommandError("no source line for that location")
        file, line = place
        first = max(1, line - 5) if arg or self.list_next is None or self.last != "list" else line
        shown = 0
        for n in range(first, first + 10):
            text = self._source_line(file, n)
            if text is None:
                break
            mark = "=>" if (file, n) == self.engine.line_of(self.state.pc) else "  "
            self.out.message([("class:dim", f"{mark}{n:<5}"), *highlight(text.rstrip())])
            shown += 1
        if not shown:
            raise CommandError(f"cannot read {file}:{first}")
        self.list_next = (file, first + shown)

    # -- frames ---------------------------------------------------------------------------------
    @aliases("bt", "where")
    def do_backtrace(self, arg: str) -> None:
        """Show the call stack, innermost first."""
        for i, (pc, _) in enumerate(self.engine.backtrace()):
            mark = "*" if i == self.frame else " "
            self.out.message(f"{mark}#{i}  {self._where(pc)}")

    @aliases("f")
    def do_frame(self, arg: str) -> None:
        """`frame [N]`: select frame N (0 is the innermost) and show where it is."""
        if arg:
            n = self._int(arg, "frame")
            if not 0 <= n < len(self.engine.backtrace()):
                raise CommandError(f"no frame {n}")
            self.frame = n
        pc = self._frame_pc()
        self.out.message(f"#{self.frame}  {self._where(pc)}")
        self._show_location(pc)

    def do_up(self, arg: str) -> None:
        """`up [N]`: select the frame N calls out (default 1)."""
        self.do_frame(str(min(self.frame + self._count(arg), len(self.engine.backtrace()) - 1)))

    def do_down(self, arg: str) -> None:
        """`down [N]`: select the frame N calls in (default 1)."""
        self.do_frame(str(max(self.frame - self._count(arg), 0)))

    def _frame_pc(self) -> int:
        return self.engine.backtrace()[self.frame][0]

    # -- info -----------------------------------------------------------------------------------
    @aliases("i")
    def do_info(self, arg: str) -> None:
        """`info TOPIC`: registers [NAME…] | breakpoints | watchpoints | symbols [REGEX] |
        frame | perf | engines | display | history."""
        topic, _, rest = arg.partition(" ")
        if not topic:
            raise CommandError(f"info what? {', '.join(INFO_TOPICS)}")
        matches = [t for t in INFO_TOPICS if t.startswith(topic)]
        if len(matches) != 1:
            raise CommandError(f"unknown info topic {topic!r}: {', '.join(INFO_TOPICS)}")
        getattr(self, f"_info_{matches[0]}")(rest.strip())

    def _info_registers(self, rest: str) -> None:
        state = self.state
        if rest:
            for name in rest.split():
                self.out.message(f"{name:<8}{views.scalar_text(self.ev.evaluate(name))}")
            return
        for i in range(32):
            value = state.X[i]
            signed = value - (1 << 64) if value >> 63 else value
            self.out.message(f"{XREG_ABI[i]:<6}x{i:<3}{value:#018x}  {signed}")
        self.out.message(f"pc        {state.pc:#018x}  {self._where(state.pc)}")
        for i in range(32):
            if state.F[i]:
                value = np.uint32(state.F[i]).view(np.float32)
                self.out.message(f"f{i:<8}{state.F[i]:#010x}  {value!r}")
        for i, desc in enumerate(state.D):
            if desc != tiles.EMPTY:
                self.out.message(f"d{i:<8}{desc.describe()}")
        sems = "  ".join(f"sem{i}={v}" for i, v in enumerate(state.sems) if v)
        self.out.message(f"sems     {sems or 'all 0'}")

    def _info_breakpoints(self, rest: str) -> None:
        self._info_watchpoints(rest, breakpoints=True)

    def _info_watchpoints(self, rest: str, breakpoints: bool = False) -> None:
        points = self.engine.breakpoints if breakpoints else self.engine.watchpoints
        if not points:
            self.out.message(f"no {'breakpoints' if breakpoints else 'watchpoints'}")
            return
        for number, p in sorted(points.items()):
            state = "y" if p.enabled else "n"
            if breakpoints:
                what = ("tbreak " if p.temporary else "break ") + self._where(p.address)
                extra = f" if {p.condition_text}" if p.condition_text else ""
            else:
                what, extra = f"{p.kind} {p.what}", ""
            ignore = f" ignore {p.ignore}" if getattr(p, "ignore", 0) else ""
            self.out.message(f"{number:<4}{state}  {what}{extra}  hits {p.hits}{ignore}")

    def _info_symbols(self, rest: str) -> None:
        pattern = re.compile(rest) if rest else None
        for symbol in sorted(self.program.symbols, key=lambda s: (s.value, s.name)):
            if pattern is None or pattern.search(symbol.name):
                self.out.message(
                    f"{symbol.value:#014x}  {symbol.name}  ({symbol.section or 'abs'})"
                )
        for entry in self.program.io:
            if pattern is None or pattern.search(entry.name):
                shape = "x".join(map(str, entry.shape))
                self.out.message(f"{entry.address:#014x}  {entry.name}  {entry.role} "
                                 f"{entry.dtype}[{shape}]")  # fmt: skip

    def _info_frame(self, rest: str) -> None:
        trace = self.engine.backtrace()
        pc, frame = trace[self.frame]
        self.out.message(f"frame #{self.frame} at {self._where(pc)}")
        if frame is not None:
            self.out.message(f"  called from {self._where(frame.call_pc)} (instret "
                             f"{frame.call_instret}), returns to {frame.return_address:#x}, "
                             f"sp at call {frame.sp:#x}")  # fmt: skip
        self.out.message(f"  instret {self.state.instret}, hardware loops {len(self.state.loops)}")

    def _info_perf(self, rest: str) -> None:
        machine = self.engine.sim.machine
        total = self.engine.perf_sample()
        for label, perf in (("since the last stop", self.perf), ("since the start", total)):
            if label.endswith("stop") and perf.instret < 0:  # the last move went backwards
                self.out.message(f"since the last stop: went back {-perf.instret} instructions")
                continue
            self.out.message(f"{label}: {perf.instret} instructions, {perf.cycles:,} cycles "
                             f"({machine.seconds(perf.cycles) * 1e6:.3f} us), "
                             f"{perf.energy_j * 1e6:.3f} uJ")  # fmt: skip
            used = "  ".join(f"{k} {v:.1%}" for k, v in perf.utilisation().items())
            self.out.message(f"  utilisation  {used}")
        for region in self.engine.regions:
            total = region.total
            where = f"{self._where(region.start)} .. {self._where(region.end)}"
            if total is None:
                self.out.message(f"region {where}: not completed yet")
                continue
            self.out.message(f"region {where}: {region.entries} times, {total.instret} "
                             f"instructions, {total.cycles:,} cycles, "
                             f"{total.energy_j * 1e6:.3f} uJ")  # fmt: skip

    def _info_engines(self, rest: str) -> None:
        for info in self.engine.engines_info():
            flying = info.in_flight
            self.out.message(f"{info.name:<11} {info.ops} ops, busy {info.busy:,} cycles, "
                             f"free at {info.free_at:,}, done at {info.done_at:,} "
                             f"(now {info.now:,}): {len(flying)} in flight")  # fmt: skip
            for op in flying:
                self.out.message(f"    {op.pc:#x}: {op.text}  cycles {op.start:,}..{op.done_by:,}")

    def _info_display(self, rest: str) -> None:
        if not self.displays:
            self.out.message("no displays")
        for number, (text, _) in self.displays.items():
            self.out.message(f"{number}: {text}")

    def _info_history(self, rest: str) -> None:
        h = self.engine.history_info()
        self.out.message(
            f"history: {h['steps']:,} steps back to instret {h['start']:,}, "
            f"{h['checkpoints']} checkpoints every ~{h['interval']:,} steps, "
            f"{h['bytes'] / 2**20:.1f} MiB of {h['budget'] / 2**20:.0f} MiB"
        )

    def do_perf(self, arg: str) -> None:
        """`perf region A B`: from now on, add up instructions, cycles, engine busy time and
        energy between locations A and B (shown by `info perf`)."""
        words = arg.split()
        if len(words) != 3 or words[0] != "region":
            raise CommandError("usage: perf region A B")
        region = self.engine.add_perf_region(self._location(words[1]), self._location(words[2]))
        self.out.message(f"perf region {self._where(region.start)} .. {self._where(region.end)}")

    # -- the session ----------------------------------------------------------------------------
    @aliases("h")
    def do_help(self, arg: str) -> None:
        """`help [COMMAND]`: list the commands, or one command's help."""
        if not arg:
            for names, summary in self.summaries():
                self.out.message(f"{names:<28} {summary}")
            return
        if arg in ("expressions", "expr"):
            from debugger import expr

            self.out.message(expr.__doc__ or "")
            return
        self.out.message(help_text(self.commands[self.resolve(arg)]))

    @aliases("q", "exit")
    def do_quit(self, arg: str) -> None:
        """Leave jdb."""
        self.quit = True


def highlight(text: str) -> list[tuple[str, str]]:
    """J1 assembly as styled fragments, through the Pygments lexer (debugger.lexer)."""
    from prompt_toolkit.formatted_text import PygmentsTokens, to_formatted_text
    from pygments import lex

    fragments = to_formatted_text(PygmentsTokens(list(lex(text, _LEXER))))
    if fragments and fragments[-1][1].endswith("\n"):  # Pygments ends every text with one
        style, last = fragments[-1]
        fragments[-1] = (style, last[:-1])
    return [(style, part) for style, part, *_ in fragments]


_LEXER = JasmLexer()


def _short(value) -> str:
    if isinstance(value, bytes):
        return value.hex(" ") if len(value) <= 32 else value[:32].hex(" ") + " …"
    if isinstance(value, int):
        return f"{value} ({value & (2**64 - 1):#x})"
    return str(value)


def _format_unit(data: bytes, fmt: str) -> str:
    n = len(data)
    unsigned = int.from_bytes(data, "little")
    signed = int.from_bytes(data, "little", signed=True)
    if fmt == "x" or fmt == "a":
        return f"{unsigned:#0{2 * n + 2}x}"
    if fmt == "d":
        return str(signed)
    if fmt == "u":
        return str(unsigned)
    if fmt == "o":
        return f"{unsigned:#o}"
    if fmt == "t":
        return f"{unsigned:0{8 * n}b}"
    if fmt == "c":
        return repr(chr(data[0]))
    float_type = {2: np.float16, 4: np.float32, 8: np.float64}[n]
    return repr(np.frombuffer(data, float_type)[0].item())


__all__ = ["Commands", "MemRef"]
