"""`vlmstream run` end to end with locally built VLM checkpoints (no hub)."""

import json
import subprocess
import sys

import pytest
from tiny_models import build_tiny_clip, build_tiny_vlm

VLM = [sys.executable, "-m", "vlmstream", "run", "synthetic://?size=320x240&fps=30&duration=3"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {"hf-clip": build_tiny_clip(root / "clip"),
            "hf-vlm": build_tiny_vlm(root / "vlm", "qwen2_vl")}


@pytest.mark.parametrize("backend", ["hf-clip", "hf-vlm"])
def test_run_classifies_a_stream_with_a_local_model(models, backend, tmp_path):
    p = subprocess.run(VLM + ["--backend", backend, "--model", str(models[backend]),
                              "--task", "classify", "--labels", "cat,dog,car", "--fps", "2",
                              "--out", str(tmp_path)], capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr[-2000:]
    rs = [json.loads(x) for x in (tmp_path / "results.jsonl").read_text().splitlines()]
    rs = [r for r in rs if r["type"] == "result"]
    assert len(rs) >= 3
    for r in rs:
        assert r["backend"] == backend and r["raw_label"] in {"cat", "dog", "car"}
        assert abs(sum(r["scores"].values()) - 1.0) < 1e-3 or backend == "hf-clip"


def test_a_model_that_cannot_load_gets_a_clear_message(tmp_path):
    p = subprocess.run(VLM + ["--backend", "hf-clip", "--model", str(tmp_path / "no-such-model"),
                              "--task", "classify", "--labels", "a,b", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert "no-such-model" in p.stderr and "error:" in p.stderr


def test_classify_without_labels_is_refused_before_it_runs(models, tmp_path):
    p = subprocess.run(VLM + ["--backend", "hf-clip", "--model", str(models["hf-clip"]),
                              "--task", "classify", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert "task 'classify' needs labels: give --labels" in p.stderr
