"""The runtime API and `jrun`: binding tensors from arrays and files, outputs, reports,
traces and exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from isa import dtypes
from iss.cli import main as jrun
from iss.report import Report
from iss.runtime import BindError, Simulator

# y = dequantise(w) + x, with the DMA dequantising a Q8_0 weight on the fly
PROGRAM = """
        .input  x, fp32, (4, 32)
        .weight w, q8_0, (4, 32)
        .output y, fp32, (4, 32)
        .section .sram
wbuf:   .space  4 * 32 * 4
xbuf:   .space  4 * 32 * 4
        .text
        li      t0, w
        tset    d0, t0, 4, 32, q8_0
        li      t0, wbuf
        tset    d1, t0, 4, 32, fp32
        li      t0, x
        tset    d2, t0, 4, 32, fp32
        li      t0, xbuf
        tset    d3, t0, 4, 32, fp32
        li      t0, y
        tset    d4, t0, 4, 32, fp32
        dma.copy d1, d0
        dma.copy d3, d2
        signal  dma, sem0
        wait    vector, sem0
        vadd    d1, d1, d3
        signal  vector, sem1
        wait    dma, sem1
        dma.copy d4, d1
        barrier
        li      a0, 7
        halt
"""


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "prog.jasm"
    path.write_text(PROGRAM)
    return path


@pytest.fixture
def tensors():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 32)).astype(np.float32)
    w_bytes = dtypes.pack_q8_0(rng.standard_normal((4, 32)).astype(np.float32))
    return x, w_bytes, dtypes.unpack_q8_0(w_bytes) + x


def ran(source, tensors) -> Simulator:
    """The program loaded, x and w bound, run once (checked)."""
    x, w, expected = tensors
    sim = Simulator.load(source, machine="j1-mini", race="error")
    sim.bind("x", x)
    sim.bind("w", w)
    assert sim.run() == 7
    np.testing.assert_array_equal(sim.read("y"), expected)
    return sim


def test_bind_run_read(source, tensors):
    ran(source, tensors)


def test_reset_keeps_the_tensors_it_is_told_to(source, tensors):
    x, w, _ = tensors
    sim = ran(source, tensors)
    sim.reset(keep=["w"])  # the weight survives; x, y and everything else start again
    assert not sim.read("x").any() and not sim.read("y").any()
    np.testing.assert_array_equal(sim.read("w"), w)
    sim.bind("x", 2 * x)
    assert sim.run() == 7
    np.testing.assert_array_equal(sim.read("y"), dtypes.unpack_q8_0(w) + 2 * x)
    sim.reset()
    assert not sim.read("w").any()
    with pytest.raises(BindError, match="no tensor named 'v'"):
        sim.reset(keep=["v"])


def test_binding_is_checked(source, tensors):
    x, _, _ = tensors
    sim = Simulator.load(source, machine="j1-mini")
    with pytest.raises(BindError, match=r"no tensor named 'z' \(it has: w, x, y\)"):
        sim.bind("z", x)
    with pytest.raises(BindError, match=r"shape \[4, 32\]; got \[32, 4\]"):
        sim.bind("x", x.T.copy())
    with pytest.raises(BindError, match="got float64"):
        sim.bind("x", x.astype(np.float64))
    sim.bind("x", x.astype(np.float64), convert=True)
    with pytest.raises(BindError, match="raw GGUF block bytes"):
        sim.bind("w", x)


def test_a_bf16_npy_binds_though_numpy_reloads_it_as_raw_bytes(tmp_path):
    import ml_dtypes

    source = tmp_path / "b.jasm"
    source.write_text("        .input a, bf16, (2, 4)\n        .text\n        halt\n")
    a = np.arange(8, dtype=np.float32).reshape(2, 4).astype(ml_dtypes.bfloat16)
    np.save(tmp_path / "a.npy", a)
    reloaded = np.load(tmp_path / "a.npy")
    assert reloaded.dtype == np.dtype("V2")  # what NumPy gives back for ml_dtypes' bf16
    sim = Simulator.load(source)
    sim.bind("a", reloaded)
    np.testing.assert_array_equal(sim.read("a").astype(np.float32), a.astype(np.float32))


def test_jrun_binds_npy_safetensors_and_gguf_and_writes_outputs(tmp_path, source, tensors):
    import gguf
    from safetensors.numpy import save_file

    x, w, expected = tensors
    np.save(tmp_path / "x.npy", x)
    save_file({"input.x": x}, str(tmp_path / "t.safetensors"))
    writer = gguf.GGUFWriter(str(tmp_path / "w.gguf"), "j1test")
    writer.add_tensor("blk.0.w", w, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    runner = CliRunner()
    for x_spec in (f"x={tmp_path / 'x.npy'}", f"x={tmp_path / 't.safetensors'}:input.x"):
        out = tmp_path / "y.npy"
        result = runner.invoke(jrun, [str(source), "--machine", "j1-mini", "--in", x_spec,
                                      "--in", f"w={tmp_path / 'w.gguf'}:blk.0.w",
                                      "--out", f"y={out}", "--race", "error"])  # fmt: skip
        assert result.exit_code == 7, result.output
        np.testing.assert_array_equal(np.load(out), expected)
        assert "J1 report (j1-mini" in result.output


def test_json_report_trace_and_chrome_trace(tmp_path, source):
    runner = CliRunner()
    trace_file = tmp_path / "trace.json"
    result = runner.invoke(jrun, [str(source), "--machine", "j1-mini", "--report", "json",
                                  "--trace-json", str(trace_file)])  # fmt: skip
    report = json.loads(result.output)
    count = report["instructions"]
    assert count > 20 and report["bytes_read"]["dram"] == 2 * 4 * 32 * 4 - 4 * 32 * 4 + 4 * 34
    events = json.loads(trace_file.read_text())["traceEvents"]
    tracks = {e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert tracks == {"scalar", "dma", "matrix", "vector", "activation"}
    assert {e["cat"] for e in events if e["ph"] == "X"} == {"dma", "vector"}
    result = runner.invoke(jrun, [str(source), "--machine", "j1-mini", "--trace",
                                  "--report", "none"])  # fmt: skip
    lines = result.output.splitlines()
    assert len(lines) == count
    assert sum("vadd d1, d1, d3" in line for line in lines) == 1
    assert lines[-1].split()[2] == "halt"
    assert "a0=0x7" in lines[-2]


def test_traps_and_limits_exit_3_with_the_source_line(tmp_path):
    path = tmp_path / "bad.jasm"
    path.write_text("        li a0, 1\n        lw a1, 2(zero)\n        halt\n")
    result = CliRunner().invoke(jrun, [str(path), "--machine", "j1-mini"])
    assert result.exit_code == 3
    assert f"trap misaligned at 0x1008 (lw a1, 2(zero)) [{path}:2]" in result.output
    loop = tmp_path / "loop.jasm"
    loop.write_text("1:      j 1b\n")
    result = CliRunner().invoke(jrun, [str(loop), "--machine", "j1-mini", "--max-steps", "1000"])
    assert result.exit_code == 3 and "step limit reached" in result.output


def test_jrun_assembly_errors_exit_1(tmp_path):
    path = tmp_path / "bad.jasm"
    path.write_text("        addd a0, a0, a0\n")
    result = subprocess.run([sys.executable, "-m", "iss", str(path)], capture_output=True,
                            text=True)  # fmt: skip
    assert result.returncode == 1
    assert "did you mean" in result.stderr and "Traceback" not in result.stderr


def test_restart_runs_again_on_the_machine_as_it_is(source, tensors):
    expected = tensors[2]
    sim = ran(source, tensors)
    first = sim.report()
    sim.restart()  # nothing bound again: the inputs are still there
    assert sim.run() == 7
    np.testing.assert_array_equal(sim.read("y"), expected)
    second = sim.report()
    assert second.cycles > first.cycles and second.instructions == 2 * first.instructions


def test_reports_of_runs_one_after_another_combine(source, tensors):
    sim = ran(source, tensors)
    first = sim.report()
    sim.reset(keep=["x", "w"])
    sim.run()
    both = Report.combined([first, sim.report()])
    assert both.cycles == 2 * first.cycles and both.instructions == 2 * first.instructions
    assert both.energy_j == pytest.approx(2 * first.energy_j)
    assert both.bytes_read == {k: 2 * v for k, v in first.bytes_read.items()}
    assert both.utilisation == pytest.approx(first.utilisation)  # same runs: same shares
    assert both.tflops_per_w == pytest.approx(first.tflops_per_w)
    assert Report.combined([first]) is first
