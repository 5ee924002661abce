"""The `vlmstream run` command as a user runs it: a real subprocess, real files."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

VLM = [sys.executable, "-m", "vlmstream"]


def run(args, timeout=120, **kw):
    return subprocess.run(VLM + args, capture_output=True, text=True, timeout=timeout, **kw)


def results(path: Path):
    return [json.loads(x) for x in path.read_text().splitlines() if '"type":"result"' in x]


def test_four_live_720p_streams_all_get_results_and_their_fps(tmp_path):
    srcs = [f"synthetic://?size=1280x720&fps=30&seed={i}" for i in range(4)]
    p = run(["run"] + srcs + ["--fps", "10", "--duration", "8", "--out", str(tmp_path)], timeout=60)
    assert p.returncode == 0, p.stderr
    rs = results(tmp_path / "results.jsonl")
    by = defaultdict(list)
    for r in rs:
        by[r["stream_id"]].append(r["seq"])
    assert set(by) == {"s0", "s1", "s2", "s3"}
    for seqs in by.values():
        assert all(b > a for a, b in zip(seqs, seqs[1:]))
    m = json.loads((tmp_path / "metrics.json").read_text())
    for sid, st in m["streams"].items():
        assert st["fps_share"] >= 0.8, (sid, st)
    assert m["e2e_ms"]["p99"] is not None
    assert "p99" in p.stderr and "end to end" in p.stderr
    assert (tmp_path / "latency.png").stat().st_size > 1000


def test_bad_sources_get_one_line_each_and_the_good_one_runs(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00garbage" * 1000)
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    p = run(["run", str(tmp_path / "missing.mp4"), str(junk), str(txt),
             "synthetic://?size=320x240&fps=30&duration=2", "--out", str(tmp_path / "o")])
    assert p.returncode == 0, p.stderr
    assert "missing.mp4: file not found" in p.stderr
    assert "junk.mp4: not a video" in p.stderr and "notes.txt: not a video" in p.stderr
    rs = results(tmp_path / "o" / "results.jsonl")
    assert rs and {r["stream_id"] for r in rs} == {"s3"}
    events = [json.loads(x) for x in (tmp_path / "o" / "results.jsonl").read_text().splitlines()
              if '"type":"event"' in x]
    assert {e["stream_id"] for e in events if e["kind"] == "source_failed"} == {"s0", "s1", "s2"}


def test_nothing_runnable_exits_non_zero(tmp_path):
    p = run(["run", str(tmp_path / "nope.mp4"), "--out", str(tmp_path)])
    assert p.returncode == 1
    assert "nothing could run" in p.stderr


@pytest.mark.parametrize("args,needle,code", [
    (["x.mp4", "--bogus"], "No such option: --bogus", 2),
    (["x.mp4", "--backend", "nope"], "unknown backend 'nope'; choose one of", 1),
    (["x.mp4", "--drop-policy", "random"], "random", 2),
    (["x.mp4", "--fps", "-3"], "fps", 2),
    (["x.mp4", "--backend", "detect"], "backend detect does not do task 'motion'", 1),
    (["x.mp4", "--task", "detect", "--backend", "detect", "--labels", "unicorn"],
     "'unicorn' is not something the detect model can see", 1),
])
def test_usage_errors_are_one_clear_message(args, needle, code, tmp_path):
    p = run(["run"] + args + ["--out", str(tmp_path)])
    assert p.returncode == code, p.stderr
    assert needle in p.stderr


def test_yaml_config_with_cli_override(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"""
streams:
  - source: "synthetic://?size=320x240&fps=30&duration=2"
    id: door
    fps: 5
  - source: "synthetic://?size=320x240&fps=30&duration=2&seed=3"
    id: yard
backend: {{name: motion, max_batch: 4}}
outputs: {{jsonl: {tmp_path / "cfg.jsonl"}}}
""")
    p = run(["run", "-c", str(cfg), "--fps", "15", "--out", str(tmp_path)])
    assert p.returncode == 0, p.stderr
    rs = results(tmp_path / "cfg.jsonl")
    assert {r["stream_id"] for r in rs} == {"door", "yard"}
    n = defaultdict(int)
    for r in rs:
        n[r["stream_id"]] += 1
    assert n["door"] > 20  # --fps 15 overrode the file's 5 fps over 2 s


def test_yaml_typo_is_named(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("streams:\n  - source: a.mp4\n    fsp: 5\n")
    p = run(["run", "-c", str(cfg), "--out", str(tmp_path)])
    assert p.returncode == 2
    assert "streams.0.fsp: unknown setting" in p.stderr


def test_sigint_drains_and_flushes_everything(tmp_path):
    out = tmp_path / "o"
    proc = subprocess.Popen(VLM + ["run", "synthetic://?size=320x240&fps=30", "--fps", "10",
                                   "--out", str(out)], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "draining" in err
    lines = (out / "results.jsonl").read_text().splitlines()
    rs = [json.loads(x) for x in lines]  # every line complete and valid
    assert len(rs) >= 15
    m = json.loads((out / "metrics.json").read_text())
    assert m["e2e_ms"]["count"] == sum(1 for r in rs if r["type"] == "result")
