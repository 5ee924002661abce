"""`pip install vlmstream` without extras: the engine runs, and every command that needs an
extra says which one instead of a traceback. Simulated by blocking those imports."""

import subprocess
import sys

import pytest

BLOCK = ("fastapi", "uvicorn", "psutil", "sklearn", "onnxruntime", "torch", "transformers",
         "trackers", "aiortc", "aiohttp", "httpx", "grpc", "prometheus_client")

PRELUDE = f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {BLOCK!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name.split(".")[0])
sys.meta_path.insert(0, Block())
from vlmstream.cli import main
sys.argv = ["vlmstream"] + sys.argv[1:]
main()
"""


def vlm(*args: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PRELUDE, *args], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)


def test_the_engine_runs_without_any_extra(tmp_path):
    p = vlm("run", "synthetic://?size=160x120&fps=30&duration=2", "--out", "o", tmp_path=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert (tmp_path / "o" / "results.jsonl").read_text().count('"type":"result"') >= 5


@pytest.mark.parametrize("args,extra", [
    (["serve"], "vlmstream[server]"),
    (["bench", "overhead"], "vlmstream[bench]"),
    (["run", "synthetic://?duration=1", "--task", "detect", "--backend", "detect"],
     "vlmstream[models]"),
    (["run", "synthetic://?duration=1", "--task", "classify", "--backend", "hf-clip",
      "--model", "m", "--labels", "a,b"], "vlmstream[hf]"),
])
def test_a_missing_extra_is_named(args, extra, tmp_path):
    if args[0] == "run":
        args = [*args, "--out", "o"]
    p = vlm(*args, tmp_path=tmp_path)
    assert p.returncode != 0
    assert extra in p.stderr and "Traceback" not in p.stderr, p.stderr[-2000:]
