"""`vlmstream bench` end to end (short runs), reports, compare, throughput and overhead."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from vlmstream.bench import clips, overhead, report, throughput
from vlmstream.cli import app

SHORT = ["--set", "warmup_s=0.3", "--set", "duration_s=1.2"]


def test_bench_run_writes_json_markdown_and_plots_then_compare(tmp_path) -> None:
    runner = CliRunner()
    a, b = tmp_path / "a", tmp_path / "b"
    r = runner.invoke(app, ["bench", "run", "smoke", "--no-capacity", "--out", str(a), *SHORT])
    assert r.exit_code == 0, r.output
    rep = json.loads((a / "report.json").read_text())
    assert rep["load"]["engine"]["streams"] == 2 and rep["load"]["baseline"]["streams"] == 2
    assert rep["load"]["ratios"]["analysed_fps"] is not None
    assert rep["meta"]["scenario"]["name"] == "smoke"
    for png in ("latency.png", "stages.png"):
        assert (a / png).read_bytes()[:4] == b"\x89PNG"
    md = (a / "report.md").read_text()
    assert "| engine | 2 |" in md and "| baseline | 2 |" in md
    r = runner.invoke(app, ["bench", "capacity", "smoke", "--no-baseline", "--out", str(b),
                            *SHORT, "--set", "capacity.max_streams=2"])
    assert r.exit_code == 0, r.output
    cap = json.loads((b / "report.json").read_text())["capacity"]
    assert {p["streams"] for p in cap["engine"]["probes"]} == {1, 2}
    assert (b / "capacity.png").exists()
    r = runner.invoke(app, ["bench", "--compare", str(a), str(b / "report.json")])
    assert r.exit_code == 0, r.output
    assert "load.engine.e2e_ms.p99" in r.output and "capacity.engine.held" in r.output


def test_bench_errors_are_one_line(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(app, ["bench", "run", "nope"])
    assert r.exit_code == 2 and "unknown scenario 'nope'" in r.output
    r = runner.invoke(app, ["bench", "run", "smoke", "--set", "fps=-1"])
    assert r.exit_code == 2 and "fps" in r.output
    r = runner.invoke(app, ["bench", "run", "smoke", "--set", "backend.name=nosuch"])
    assert r.exit_code == 2 and "unknown backend 'nosuch'" in r.output
    r = runner.invoke(app, ["bench", "compare", str(tmp_path / "x"), str(tmp_path / "y")])
    assert r.exit_code == 2 and "not found" in r.output
    r = runner.invoke(app, ["bench", "scenarios"])
    assert r.exit_code == 0 and "batching" in r.output
    assert not (tmp_path / "bench-out").exists()  # a failed run leaves nothing behind


def test_differences_lists_changed_numbers_only() -> None:
    a = {"meta": {"x": 1}, "load": {"ratios": {"p99": 0.5}, "engine": {"holds": True, "n": 3}}}
    b = {"meta": {"x": 2}, "load": {"ratios": {"p99": 0.25}, "engine": {"holds": False, "n": 3}}}
    rows = report.differences(a, b)
    assert rows == [("load.engine.holds", 1.0, 0.0, 0.0), ("load.ratios.p99", 0.5, 0.25, 0.5)]


def test_throughput_counts_every_frame_in_both(tmp_path) -> None:
    files = [clips.render(f"synthetic://?size=320x240&fps=30&duration=1&seed={i}",
                          tmp_path / f"f{i}.mp4") for i in range(2)]
    res = throughput.compare_throughput(files, size="160x120", rounds=1)
    assert res["engine_runs"][0]["frames_analysed"] == 60
    assert res["pyav_runs"][0]["frames_decoded"] == 60
    assert res["ratio"] is not None and res["ratio"] > 0


def test_overhead_is_measured_per_result() -> None:
    res = overhead.measure_overhead(duration_s=1.5)
    assert res["results"] >= 30
    a = res["added_ms"]
    assert 0 <= a["p50"] <= a["p99"] <= a["max"]
    assert "infer_end" in res["stages_ms"]
