"""Fixtures for the engine semantics tests (helpers live in engine_rig.py)."""

from __future__ import annotations

import pytest
from engine_rig import Rig


@pytest.fixture
def rig() -> Rig:
    """A fresh j1-mini machine to place tiles in and run one instruction on."""
    return Rig()
