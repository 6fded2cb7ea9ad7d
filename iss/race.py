"""The race detector: engines touching the same bytes with no semaphore ordering them.

Happens-before is tracked with vector clocks over the five agents (the front end and the
four engines), so a race is found whatever the timing model happened to schedule: two
accesses conflict when they may share a byte (Access.meets: exact for tiles of one row stride,
by address range otherwise), at least one writes, they come from different agents,
and the later one's clock does not include the earlier one. Engines are in order, so one
agent never races with itself. `signal` publishes the signalling engine's clock in a token,
`wait` merges the oldest token into the waiting engine, `barrier` gives the front end
everything; an engine instruction also inherits the front end's clock when it is issued.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from isa.registers import ENGINES, N_SEMS
from iss.engines.base import Access, EngineOp

_AGENT = {name: i for i, name in enumerate(ENGINES)}
_FE = _AGENT["scalar"]
_PRUNE_EVERY = 64


class RaceError(Exception):
    """A data race between two engines (raised in `error` mode)."""


@dataclass
class _Record:
    access: Access
    agent: int
    seq: int
    pc: int
    what: str


class RaceDetector:
    """Checks every access against the unordered accesses of other agents."""

    def __init__(self, mode: str = "error", describe=None, report=None) -> None:
        if mode not in ("error", "warn"):
            raise ValueError(f"race mode must be error or warn, not {mode!r}")
        self.mode = mode
        self.describe = describe or (lambda pc: f"{pc:#x}")
        self.report = report or print
        self.reset()

    def reset(self) -> None:
        """Forget every access and ordering seen (a program started again)."""
        n = len(ENGINES)
        self.clocks = [[0] * n for _ in range(n)]
        self.tokens: list[deque[list[int]]] = [deque() for _ in range(N_SEMS)]
        self.records: list[_Record] = []
        self.races: list[str] = []
        self._seen: set[tuple[int, int]] = set()
        self._ops = 0

    def _inherit(self, agent: int) -> list[int]:
        """An engine instruction knows what the front end knew when it issued it."""
        clock = self.clocks[agent]
        if agent != _FE:
            for i, t in enumerate(self.clocks[_FE]):
                clock[i] = max(clock[i], t)
        return clock

    def _tick(self, agent: int) -> int:
        clock = self._inherit(agent)
        clock[agent] += 1
        return clock[agent]

    def record(self, op: EngineOp) -> None:
        """Check and remember the accesses of an executed engine instruction."""
        agent = _AGENT[op.engine]
        seq = self._tick(agent)
        for access in op.accesses:
            self._check(access, agent, op.pc)
        self.records += [_Record(a, agent, seq, op.pc, op.inst.spec.mnemonic)
                         for a in op.accesses]  # fmt: skip
        self._ops += 1
        if self._ops % _PRUNE_EVERY == 0:
            self._prune()

    def scalar_access(self, memory: str, lo: int, hi: int, write: bool, pc: int) -> None:
        """A front-end load or store."""
        seq = self._tick(_FE)
        access = Access(memory, lo, hi, write, hi - lo)
        self._check(access, _FE, pc)
        self.records.append(_Record(access, _FE, seq, pc, "store" if write else "load"))

    def _check(self, access: Access, agent: int, pc: int) -> None:
        clock = self.clocks[agent]
        for r in self.records:
            a = r.access
            if r.agent == agent or a.memory != access.memory or not (a.write or access.write):
                continue
            if r.seq > clock[r.agent] and a.meets(access):
                self._race(r, access, agent, pc)

    def _race(self, earlier: _Record, access: Access, agent: int, pc: int) -> None:
        key = (earlier.pc, pc)
        if key in self._seen:
            return
        self._seen.add(key)
        lo, hi = max(earlier.access.lo, access.lo), min(earlier.access.hi, access.hi)
        verb = "writes" if access.write else "reads"
        other = "writing" if earlier.access.write else "reading"
        message = (
            f"race: {ENGINES[agent]} {verb} {access.memory}[{lo:#x}:{hi:#x}] at "
            f"{self.describe(pc)} while {ENGINES[earlier.agent]} may still be {other} it at "
            f"{self.describe(earlier.pc)}; no semaphore orders them"
        )
        self.races.append(message)
        if self.mode == "error":
            raise RaceError(message)
        self.report(message)

    def _prune(self) -> None:
        """Forget accesses that every agent already knows to be complete."""
        known = [min(c[i] for c in self.clocks) for i in range(len(ENGINES))]
        self.records = [r for r in self.records if r.seq > known[r.agent]]

    # -- synchronisation --------------------------------------------------------------------
    def signal(self, engine: str, sem: int) -> None:
        """A token carrying the signalling agent's knowledge."""
        self.tokens[sem].append(list(self._inherit(_AGENT[engine])))

    def wait(self, engine: str, sem: int) -> None:
        """Merge the oldest token into the waiting agent."""
        token = self.tokens[sem].popleft()
        clock = self.clocks[_AGENT[engine]]
        for i, t in enumerate(token):
            clock[i] = max(clock[i], t)

    def seminit(self, sem: int, count: int) -> None:
        """Tokens that carry the front end's knowledge."""
        self.tokens[sem] = deque(list(self.clocks[_FE]) for _ in range(count))

    def barrier(self) -> None:
        """The front end learns that every engine has drained."""
        fe = self.clocks[_FE]
        for clock in self.clocks:
            for i, t in enumerate(clock):
                fe[i] = max(fe[i], t)
