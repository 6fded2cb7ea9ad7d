"""Collects the annotated assembler programs `tests/asm/cases/<feature>/*.jasm`, one item each.

The notation is described in asm_cases.py; helper files under `lib/` or `inc/` folders are
not collected.
"""

from __future__ import annotations

from pathlib import Path

import asm_cases
import pytest

CASES = Path(__file__).parent / "cases"


def pytest_collect_file(parent, file_path: Path):
    if file_path.suffix == ".jasm" and file_path.parent.parent == CASES:
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFile(pytest.File):
    def collect(self):
        yield CaseItem.from_parent(self, name=f"{self.path.parent.name}/{self.path.stem}")


class CaseFailure(Exception):
    pass


class CaseItem(pytest.Item):
    def runtest(self) -> None:
        problems = asm_cases.check_case(self.path)
        if problems:
            raise CaseFailure("\n".join(problems))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, CaseFailure):
            return f"{self.path}:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"asm case: {self.name}"
