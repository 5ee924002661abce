"""The short (20 s) version of scripts/live_soak.py: 3 RTSP + HLS + WebRTC together while
one RTSP server is killed and restarted."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from peers import have_gst_rtsp_server

pytest.importorskip("aiortc")
pytestmark = [pytest.mark.skipif(not have_gst_rtsp_server(), reason="needs gst-rtsp-server"),
              pytest.mark.timeout(120)]


def test_soak_others_never_pause_and_the_killed_stream_returns() -> None:
    path = Path(__file__).resolve().parents[1] / "scripts" / "live_soak.py"
    spec = importlib.util.spec_from_file_location("live_soak", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    report = mod.run_soak(duration_s=20.0, kill_at_s=4.0, down_s=3.0)
    streams = report["streams"]
    victim = streams["rtsp0"]
    assert victim["frames_after_restart"] > 30, victim
    outage = [g for g in victim["gap_events"] if g["cause"] == "reconnect"]
    assert outage and outage[0]["gap_s"] >= 3.0 and outage[0]["lost_frames"] >= 80
    for sid, s in streams.items():
        if sid != "rtsp0":
            assert s["max_pause_s"] < s["pause_limit_s"], (sid, s)
            assert s["reconnects"] == 0, (sid, s)
    assert report["ok"]
