"""A schemathesis run against the live server's OpenAPI spec: no request it can build from the
spec makes the server answer 5xx (bounded: few examples per operation, a time budget)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vlmstream.config import StreamConfig
from vlmstream.server.runner import ServerThread
from vlmstream.server.settings import ServerSettings

TOKEN = "schema-token"


@pytest.mark.timeout(120)
def test_schemathesis_finds_no_server_errors(tmp_path: Path) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is in the test extra: pip install -e '.[test]'"
    settings = ServerSettings(port=0, tokens=[TOKEN], db=tmp_path / "ev.sqlite",
                              allow_sources=["synthetic://*"])
    with ServerThread(settings) as srv:
        # A stream to find, so the per-stream operations reach their real code paths too.
        srv.state.add(StreamConfig(source="synthetic://?size=160x120&fps=10", id="s0", fps=2))
        proc = subprocess.run(
            [st, "run", f"{srv.url}/openapi.json", "--checks", "not_a_server_error",
             "-H", f"Authorization: Bearer {TOKEN}", "--max-examples", "10",
             "--max-time", "45", "--request-timeout", "10", "--seed", "1", "--no-color",
             "--phases", "examples,fuzzing"],
            capture_output=True, text=True, timeout=100, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert " passed" in out and "failed" not in out.split("Seed:")[0].lower(), out[-3000:]
