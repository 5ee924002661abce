"""Soak: 3 RTSP + 1 HLS + 1 WebRTC streams run together while one RTSP server is killed and
restarted. Passes when the other streams never pause, the killed one comes back, and
every gap is reported. ``python scripts/live_soak.py --duration 60`` (the CI test runs 20 s).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from peers import free_port, hls_server, rtsp_server, whip_publisher  # noqa: E402

from vlmstream.buffers import StreamBuffer, StreamCounters  # noqa: E402
from vlmstream.frames import Event  # noqa: E402
from vlmstream.sources import create_source  # noqa: E402
from vlmstream.sources.ingest import Ingest, ReconnectPolicy  # noqa: E402


PAUSE_LIMIT_S = {"hls": 2.5}


class Watch:
    """Consumes one stream's buffer and records its longest pause between frames."""

    def __init__(self, sid: str, uri: str, policy: ReconnectPolicy) -> None:
        self.buf = StreamBuffer(StreamCounters(), seconds=2.0, fps=30)
        self.events: list[Event] = []
        self.ingest = Ingest(sid, lambda: create_source(uri, timecode=True, read_timeout_s=2),
                             self.buf, on_event=self.events.append, policy=policy)
        self.arrivals: list[float] = []
        self.latency: list[float] = []

    def drain(self) -> None:
        for f in self.buf.take_all():
            self.arrivals.append(f.arrival_ts)
            if f.capture_ts is not None:
                self.latency.append(f.arrival_ts - f.capture_ts)

    def max_pause(self, after: float) -> float:
        a = [t for t in self.arrivals if t >= after]
        return max((b - x for x, b in zip(a, a[1:])), default=float("inf"))


def run_soak(duration_s: float = 60.0, kill_at_s: float = 5.0, down_s: float = 3.0) -> dict:
    policy = ReconnectPolicy(watchdog_s=1.0, backoff_s=0.2, backoff_max_s=1.0, fail_after=100)
    ports = [free_port() for _ in range(3)]
    hls_port, whip_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as d, \
            rtsp_server(ports[0]) as victim, rtsp_server(ports[1]), rtsp_server(ports[2]), \
            hls_server(hls_port, Path(d)):
        uris = {f"rtsp{i}": f"rtsp://127.0.0.1:{p}/cam" for i, p in enumerate(ports)}
        uris["hls"] = f"http://127.0.0.1:{hls_port}/live.m3u8"
        uris["webrtc"] = f"whip://127.0.0.1:{whip_port}/whip/cam"
        watches = {sid: Watch(sid, uri, policy) for sid, uri in uris.items()}
        for w in watches.values():
            w.ingest.start()
        with whip_publisher(f"http://127.0.0.1:{whip_port}/whip/cam"):
            deadline = time.time() + 20
            while time.time() < deadline and any(w.ingest.frames == 0
                                                 for w in watches.values()):
                time.sleep(0.1)
                for w in watches.values():
                    w.drain()
            t0 = time.time()
            killed = restarted = False
            while time.time() - t0 < duration_s:
                time.sleep(0.05)
                for w in watches.values():
                    w.drain()
                if not killed and time.time() - t0 >= kill_at_s:
                    victim.kill()
                    killed = True
                if killed and not restarted and time.time() - t0 >= kill_at_s + down_s:
                    victim.start()
                    restarted = True
            for w in watches.values():
                w.ingest.stop()
                w.drain()
    report: dict = {"duration_s": duration_s, "kill_at_s": kill_at_s, "down_s": down_s,
                    "streams": {}}
    for sid, w in watches.items():
        gaps = [e.data for e in w.events if e.kind == "frame_gap"]
        lat = sorted(w.latency)
        report["streams"][sid] = {
            "frames": w.ingest.frames, "max_pause_s": round(w.max_pause(t0), 3),
            # HLS arrives a segment (1 s) at a time: a pause is one beyond two segments.
            "pause_limit_s": PAUSE_LIMIT_S.get(sid, 1.0),
            "gap_events": gaps, "final_state": w.ingest.state.value,
            "last_error": w.ingest.last_error, **w.ingest.stats.to_dict(),
            "latency_p50_ms": round(lat[len(lat) // 2] * 1000, 1) if lat else None,
            "latency_p95_ms": round(lat[int(len(lat) * 0.95)] * 1000, 1) if lat else None,
            "frames_after_restart": sum(1 for t in w.arrivals
                                        if t > t0 + kill_at_s + down_s + 0.5)}
    v = report["streams"]["rtsp0"]
    others = [s for k, s in report["streams"].items() if k != "rtsp0"]
    outage = [g for g in v["gap_events"] if g["cause"] == "reconnect"]
    report["ok"] = bool(v["frames_after_restart"] > 30 and outage
                        and outage[0]["gap_s"] >= down_s
                        and all(s["max_pause_s"] < s["pause_limit_s"] for s in others))
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--kill-at", type=float, default=10.0)
    ap.add_argument("--down", type=float, default=5.0)
    a = ap.parse_args()
    report = run_soak(a.duration, a.kill_at, a.down)
    print(json.dumps(report, indent=1))
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
