"""The dashboard in a real headless browser (Debian chromium + playwright-core): live results
drawn over the frames, the add form and the remove button work against the real server. The
screenshot is kept in tests/browser/test-artifacts/ (git-ignored)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from vlmstream.config import StreamConfig
from vlmstream.server.runner import ServerThread
from vlmstream.server.settings import ServerSettings

BROWSER_DIR = Path(__file__).parent / "browser"
SHOT = BROWSER_DIR / "test-artifacts" / "dashboard.png"


@pytest.mark.timeout(120)
def test_dashboard_shows_live_results(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not Path("/usr/bin/chromium").exists() or \
            not (BROWSER_DIR / "node_modules" / "playwright-core").exists():
        pytest.skip("needs node, Debian chromium and `npm ci` in tests/browser (.ci/run does both)")
    settings = ServerSettings(port=0, tokens=["dash-token"], db=tmp_path / "ev.sqlite",
                              allow_sources=["synthetic://*"])
    with ServerThread(settings) as srv:
        for sid, seed in (("cam-a", 1), ("cam-b", 2)):
            srv.state.add(StreamConfig(source=f"synthetic://?size=480x270&fps=15&seed={seed}",
                                       id=sid, fps=4))
        SHOT.unlink(missing_ok=True)
        proc = subprocess.run([node, "dashboard.mjs", srv.url, "dash-token", str(SHOT)],
                              cwd=BROWSER_DIR, capture_output=True, text=True, timeout=100)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["ok"] and sorted(report["streams"]) == ["cam-a", "cam-b"]
    assert SHOT.stat().st_size > 10_000
