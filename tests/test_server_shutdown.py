"""`vlmstream serve` as a real process: SIGTERM drains the pipeline, flushes the sinks and
closes live clients; camera credentials never reach the log; a loud warning when the server
listens beyond loopback without tokens."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from vlmstream.server.runner import free_port

pytestmark = pytest.mark.timeout(90)


def start(tmp: Path, *args: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    cmd = [sys.executable, "-m", "vlmstream", "serve", "--port", str(port), *args]
    proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("server did not start:\n" + (proc.stdout.read() if proc.stdout else ""))
        time.sleep(0.2)


def test_sigterm_drains_flushes_and_closes_clients(tmp_path: Path) -> None:
    db, out = tmp_path / "ev.sqlite", tmp_path / "results.jsonl"
    proc, port = start(tmp_path, "--db", str(db), "--jsonl", str(out),
                       "--allow-source", "synthetic://*", "--allow-source", "rtsp://127.0.0.1:*")
    base = f"http://127.0.0.1:{port}"
    try:
        r = httpx.post(base + "/api/streams", json={"source": "synthetic://?size=160x120&fps=15",
                                                     "id": "a", "fps": 10})
        assert r.status_code == 201, r.text
        # A camera with credentials that is not there: its error must not leak them.
        r = httpx.post(base + "/api/streams", json={
            "source": "rtsp://admin:hunter2@127.0.0.1:9/cam", "id": "cam"})
        assert r.status_code in (201, 422), r.text
        with connect(f"ws://127.0.0.1:{port}/api/ws") as ws:
            first = json.loads(ws.recv(timeout=15))
            assert first["type"] == "result"
            time.sleep(1.0)
            proc.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as ei:
                while True:
                    ws.recv(timeout=15)
            assert ei.value.rcvd is not None and ei.value.rcvd.code in (1001, 1012)
        # Uvicorn re-raises the signal once shut down, so the exit status says "SIGTERM".
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = proc.stdout.read() if proc.stdout else ""
    assert "pipeline drained, sinks flushed" in log, log
    assert "hunter2" not in log
    # Every result line written is whole (the JSONL sink was flushed and closed).
    lines = out.read_text().splitlines()
    assert len(lines) >= 5 and all(json.loads(x)["stream_id"] for x in lines)
    # The open motion event was closed at shutdown and stored.
    with sqlite3.connect(db) as c:
        states = [r[0] for r in c.execute("SELECT state FROM events WHERE stream_id='a'")]
    assert "start" in states and "end" in states, states


def test_warns_loudly_without_tokens_beyond_loopback(tmp_path: Path) -> None:
    proc, port = start(tmp_path, "--host", "0.0.0.0", "--no-db")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    log = proc.stdout.read() if proc.stdout else ""
    assert "WITHOUT API tokens" in log
    proc, port = start(tmp_path, "--no-db", "--token", "t0k")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    assert "WITHOUT API tokens" not in (proc.stdout.read() if proc.stdout else "")
