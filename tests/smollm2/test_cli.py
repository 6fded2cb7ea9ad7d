"""`python -m programs.smollm2`: streaming text, the report, --json and --trace-json."""

from __future__ import annotations

import json

import pytest

from programs.smollm2.__main__ import main
from programs.smollm2.generate import SmolLM2


@pytest.fixture(scope="module")
def runner(model):
    return SmolLM2(model=model)


def test_streams_the_completion_and_ends_with_the_report(runner, capsys):
    assert main(["--prompt", "def add(a, b):", "--max-tokens", "3"], runner) == 0
    out, err = capsys.readouterr()
    assert out.startswith("def add(a, b):")
    assert "[prefill on J1: layer 30/30]" in err
    for figure in ("decode tokens/s", "decode tokens/J", "model TFLOP/s/W", "DRAM bytes/token",
                   "utilisation", "host wall s"):  # fmt: skip
        assert figure in out


def test_json_report_figures_and_trace(runner, tmp_path, capsys):
    trace = tmp_path / "trace.json"
    argv = ["--prompt", "x = 1", "--max-tokens", "3", "--json", "--trace-json", str(trace)]
    assert main(argv, runner) == 0
    result = json.loads(capsys.readouterr().out)
    assert not result["chat"] and len(result["token_ids"]) == 3
    extra = result["report"]["extra"]
    assert extra["new tokens"] == 3
    assert extra["decode tokens/s"] > 0 and extra["decode tokens/J"] > 0
    # a decode step streams every weight once: ~100 MB, nearly all of its DRAM traffic
    assert 9e7 < extra["DRAM bytes/token"] < 1.5e8
    assert 0.8 < extra["weight share DRAM"] <= 1.0
    assert 0 < extra["model TFLOP/s/W"] < 1
    events = json.loads(trace.read_text())["traceEvents"]
    assert {e.get("cat") for e in events} >= {"dma", "vector", "matrix"}


def test_a_bad_request_is_an_error_message_not_a_traceback(runner, capsys):
    assert main(["--prompt", "word " * 600, "--max-tokens", "8"], runner) == 1
    assert "exceed the KV cache" in capsys.readouterr().err
