"""Collects the conformance programs `tests/isa/<engine>/*.jasm`, one test item each."""

from __future__ import annotations

from pathlib import Path

import conformance
import pytest


def pytest_collect_file(parent, file_path: Path):
    if file_path.suffix == ".jasm" and file_path.parent.parent.name == "isa":
        return ConformanceFile.from_parent(parent, path=file_path)
    return None


class ConformanceFile(pytest.File):
    def collect(self):
        # deferred: the simulator as it normally runs (iss.deferred); eager: every engine
        # instruction computed as it executes. Both must meet every expectation.
        for mode in ("deferred", "eager"):
            yield ConformanceProgram.from_parent(self, name=f"{self.path.stem}[{mode}]")


class ConformanceFailure(Exception):
    pass


class ConformanceProgram(pytest.Item):
    def runtest(self) -> None:
        from iss.errors import Trap
        from iss.runtime import Simulator

        expectations = conformance.expectations(self.path)
        if not expectations:
            raise ConformanceFailure("no `; expect` annotations")
        printed: list[str] = []
        defer = self.name.endswith("[deferred]")
        sim = Simulator.from_source([self.path], machine="j1-mini", race="error",
                                    output=printed.append, defer=defer)  # fmt: skip
        traps = [e for e in expectations if e.kind == "expect-trap"]
        try:
            sim.run(max_steps=1_000_000, timeout=60)
        except Trap as trap:
            if not traps:
                raise ConformanceFailure(f"unexpected {trap}") from None
            want = traps[0]
            where = f"{self.path.name}:{want.line}"
            if trap.kind != want.text or not (trap.location or "").endswith(where):
                raise ConformanceFailure(
                    f"line {want.line}: expected trap {want.text} here, got {trap}"
                ) from None
        else:
            if traps:
                raise ConformanceFailure(f"line {traps[0].line}: expected trap {traps[0].text}")
        problems = []
        for e in expectations:
            if e.kind == "expect":
                problem = conformance.check(sim, e)
            elif e.kind == "expect-output":
                problem = None if any(e.text in p for p in printed) else f"no output {e.text!r}"
            else:
                continue
            if problem:
                problems.append(f"line {e.line}: `{e.text}`: {problem}")
        if problems:
            raise ConformanceFailure("\n".join(problems))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ConformanceFailure):
            return f"{self.path}:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"conformance: {self.path.name}"
