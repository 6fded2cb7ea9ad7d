"""Translate J1 code into Python functions, one per basic block, from iss.scalar's templates.

A block runs straight-line instructions and ends after a control transfer, before a
hardware-loop end, at a length cap, or before a debugger stop address. A block whose final
branch jumps back to its own start becomes a `while` loop inside one function, which is what
makes tight scalar loops fast. Engine, sync and system instructions call out to the engine
executor. Each instruction sits on its own source line, so a trap's traceback line number
names the faulting instruction exactly, at no run-time cost.

Code is generated only from the instruction table's templates and integer operand values
decoded from the program — never from program text — and compiled with `compile`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from isa import EncodingError, Inst, decode
from isa.spec import Kind
from iss.errors import Trap
from iss.scalar import HELPERS, TEMPLATES
from iss.state import X_SINK

MAX_BLOCK = 64  #: instructions per block; bounds the work between limit checks
HALTED = -1  #: next-pc value meaning the machine stopped


@dataclass
class Block:
    """A compiled basic block."""

    start: int
    fn: Callable
    pcs: list[int]  #: address of each instruction
    line_index: dict[int, int]  #: source line of the generated code -> instruction index
    loops_back: bool = False  #: the block iterates internally (self-loop)
    code: object = field(default=None, repr=False)

    @property
    def length(self) -> int:
        """Instructions in one pass of the block."""
        return len(self.pcs)


def _operands(inst: Inst, pc: int) -> dict[str, int]:
    """Template substitutions: field values plus derived forms (targets, unsigned imms)."""
    values = inst.as_dict()
    subs: dict[str, int] = {"pc": pc, "npc": pc + 8}
    for f in inst.spec.fields:
        v = values[f.name]
        if f.kind is Kind.OFFSET:
            subs[f.name] = (pc + v) & ((1 << 64) - 1)
        elif f.kind is Kind.XREG and f.name == "rd" and v == 0:
            subs[f.name] = X_SINK  # writes to x0 vanish; reads of x0 still see 0
        else:
            subs[f.name] = v
    if "imm" in values:
        subs["imm_u"] = values["imm"] & ((1 << 64) - 1)
        subs["imm_x"] = subs["imm_u"] ^ (1 << 63)
    return subs


def _branches_to(inst: Inst | Trap, pc: int, start: int) -> bool:
    """Whether `inst` (at pc) is a branch or jump whose target is `start`."""
    if isinstance(inst, Trap) or inst.spec.mnemonic in ("loop", "loopi", "auipc"):
        return False
    return any(
        f.kind is Kind.OFFSET and (pc + v) & ((1 << 64) - 1) == start
        for f, v in zip(inst.spec.fields, inst.values, strict=True)
    )


class Translator:
    """Builds and caches blocks for one loaded program."""

    def __init__(
        self,
        fetch: Callable[[int], int],
        in_text: Callable[[int], bool],
        call_engine: Callable[[Inst, int, int], int | None],
        bindings: dict[str, object],
    ) -> None:
        self.fetch, self.in_text, self.call_engine = fetch, in_text, call_engine
        self.loop_ends: set[int] = set()  #: addresses where a hardware loop may branch back
        self.stops: frozenset[int] = frozenset()  #: addresses where blocks must start (debugger)
        #: debugger checks by block start: a block that loops back to its own start asks
        #: hooks[start]() each time round and returns when it says stop (its condition
        #: breakpoint), so a breakpoint inside a tight loop does not break the loop up
        self.hooks: dict[int, Callable[[], bool]] = {}
        self.engine_insts: list[tuple[Inst, int]] = []
        self.namespace = {
            **HELPERS, **bindings, "E": self._engine, "HALTED": HALTED, "HOOKS": self.hooks,
        }  # fmt: skip
        self.cache: dict[int, Block] = {}
        self.single: dict[int, Block] = {}

    def _engine(self, k: int, index: int) -> int | None:
        inst, pc = self.engine_insts[k]
        return self.call_engine(inst, pc, index)

    def block(self, pc: int, single: bool = False) -> Block:
        """The block starting at `pc` (one instruction long if `single`)."""
        cache = self.single if single else self.cache
        blk = cache.get(pc)
        if blk is None:
            blk = cache[pc] = self._build(pc, 1 if single else MAX_BLOCK)
        return blk

    def _decode_run(self, pc: int, limit: int) -> list[tuple[int, Inst | Trap]]:
        """Instructions from pc to the end of the block; an undecodable word ends it."""
        run: list[tuple[int, Inst | Trap]] = []
        while len(run) < limit:
            if not self.in_text(pc):
                if not run:
                    run.append((pc, Trap("out_of_bounds", f"pc {pc:#x} is outside .text")))
                break
            try:
                inst = decode(self.fetch(pc))
            except EncodingError as e:
                if not run:
                    run.append((pc, Trap("illegal_instruction", str(e))))
                break
            run.append((pc, inst))
            pc += 8
            if TEMPLATES.get(inst.spec.mnemonic, ("", None))[1] or pc in self.loop_ends:
                break
            if pc in self.stops or inst.spec.mnemonic in ("ebreak", "halt"):
                break
        return run

    def _statement(self, inst: Inst | Trap, pc: int, index: int) -> tuple[str, str | None]:
        if isinstance(inst, Trap):
            self.engine_insts.append((inst, pc))  # re-raised when executed, so it is precise
            return f"E({len(self.engine_insts) - 1}, {index})", None
        template = TEMPLATES.get(inst.spec.mnemonic)
        if template is None:  # engine, sync or system: the executor runs it
            self.engine_insts.append((inst, pc))
            return f"E({len(self.engine_insts) - 1}, {index})", None
        subs = _operands(inst, pc)
        subs["index"] = index
        effect, jump = template
        return effect.format(**subs), jump.format(**subs) if jump else None

    def _build(self, start: int, limit: int) -> Block:
        run = self._decode_run(start, limit)
        pcs = [pc for pc, _ in run]
        statements = [self._statement(inst, pc, i) for i, (pc, inst) in enumerate(run)]
        jump = statements[-1][1] or str(pcs[-1] + 8)
        loops_back = limit > 1 and _branches_to(run[-1][1], pcs[-1], start)
        lines, line_index = ["def block(X, F, D, S):"], {}
        indent = "    "
        if loops_back:
            lines += [f"{indent}it = S.budget", f"{indent}while True:"]
            indent += "    "
        for i, (effect, _) in enumerate(statements):
            line_index[len(lines) + 1] = i
            lines.append(indent + effect)
        lines.append(f"{indent}nxt = {jump}")
        line_index[len(lines)] = len(run) - 1  # the jump expression belongs to the last one
        lines.append(f"{indent}S.instret += {len(run)}")
        if loops_back:
            if start in self.hooks:
                lines.append(f"{indent}if nxt == {start} and HOOKS[{start}](): return nxt")
            lines += [
                f"{indent}it -= 1",
                f"{indent}if nxt != {start} or it <= 0:",
                f"{indent}    return nxt",
            ]
        else:
            lines.append(f"{indent}return nxt")
        code = compile("\n".join(lines), f"<j1 block {start:#x}>", "exec")
        scope: dict[str, object] = {}
        exec(code, self.namespace, scope)  # our generated code, never program text
        fn = scope["block"]
        return Block(start, fn, pcs, line_index, loops_back, fn.__code__)
