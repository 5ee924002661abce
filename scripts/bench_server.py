"""Benchmark `vlmstream serve`: result fan-out latency to 1 and 50 WebSocket clients, and the
server's CPU and memory cost per added stream.

Fan-out latency is the time from the pipeline's sink stamp (``arrival_ts + latency_ms``) to
the moment a client has the message parsed; server and clients run on the same machine, so
both clocks are one. The server runs as its own process (the real `vlmstream serve`).

    .venv/bin/python scripts/bench_server.py --out bench-server.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import psutil
from websockets.asyncio.client import connect

from vlmstream.metrics import percentiles
from vlmstream.server.runner import free_port


class Server:
    """`vlmstream serve` in a subprocess on a free loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vlmstream", "serve", "--port", str(self.port), "--no-db"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        self.ps = psutil.Process(self.proc.pid)

    def add(self, sid: str, source: str, fps: float) -> None:
        r = httpx.post(self.base + "/api/streams", json={"source": source, "id": sid, "fps": fps})
        r.raise_for_status()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def _client(url: str, samples: list[float], stop: float, lagged: list[int]) -> None:
    async with connect(url, max_queue=None) as ws:
        while (left := stop - time.time()) > 0:
            try:
                raw = await asyncio.wait_for(ws.recv(), left)
            except TimeoutError:
                break
            t = time.time()
            m = json.loads(raw)
            if m["type"] == "lagged":
                lagged.append(m["skipped"])
            elif m.get("latency_ms") is not None:
                samples.append((t - (m["arrival_ts"] + m["latency_ms"] / 1000.0)) * 1000.0)


async def _fanout(url: str, clients: int, seconds: float) -> tuple[list[float], list[int]]:
    samples: list[float] = []
    lagged: list[int] = []
    stop = time.time() + seconds
    await asyncio.gather(*(_client(url, samples, stop, lagged) for _ in range(clients)))
    return samples, lagged


def bench_fanout(clients: list[int], streams: int, fps: float, seconds: float) -> dict:
    srv = Server()
    try:
        for i in range(streams):
            srv.add(f"f{i}", f"synthetic://?size=320x180&fps=30&seed={i}", fps)
        time.sleep(2.0)
        out = {}
        ws = srv.base.replace("http://", "ws://") + "/api/ws"
        for n in clients:
            samples, lagged = asyncio.run(_fanout(ws, n, seconds))
            out[str(n)] = {"clients": n, "messages": len(samples),
                           "msgs_per_s": round(len(samples) / seconds, 1),
                           "lagged_skipped": int(sum(lagged)),
                           "fanout_ms": percentiles(samples)}
        return {"streams": streams, "fps_per_stream": fps, "seconds": seconds, "by_clients": out}
    finally:
        srv.stop()


def bench_cost(counts: list[int], fps: float, seconds: float, size: str) -> dict:
    srv = Server()
    rows = []
    try:
        added = 0
        for n in counts:
            while added < n:
                srv.add(f"c{added}", f"synthetic://?size={size}&fps=30&seed={added}", fps)
                added += 1
            time.sleep(2.0)
            srv.ps.cpu_percent(None)
            time.sleep(seconds)
            cpu = srv.ps.cpu_percent(None)
            rss = srv.ps.memory_info().rss / 2**20
            rows.append({"streams": n, "cpu_percent": round(cpu, 1), "rss_mib": round(rss, 1)})
            print(f"  {n} stream(s): CPU {cpu:.1f} %  RSS {rss:.1f} MiB", file=sys.stderr)
    finally:
        srv.stop()
    x = np.array([r["streams"] for r in rows], float)
    cpu_slope = float(np.polyfit(x, [r["cpu_percent"] for r in rows], 1)[0])
    rss_slope = float(np.polyfit(x, [r["rss_mib"] for r in rows], 1)[0])
    return {"source": f"synthetic {size} @ 30 fps decoded, {fps:g} fps analysed (motion)",
            "rows": rows, "cpu_percent_per_stream": round(cpu_slope, 2),
            "rss_mib_per_stream": round(rss_slope, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", default="1,50")
    ap.add_argument("--fanout-streams", type=int, default=2)
    ap.add_argument("--fanout-fps", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--streams", default="0,1,2,4,8")
    ap.add_argument("--cost-fps", type=float, default=5.0)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--out", type=Path, default=Path("bench-server.json"))
    a = ap.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    print("fan-out ...", file=sys.stderr)
    fan = bench_fanout([int(c) for c in a.clients.split(",")], a.fanout_streams, a.fanout_fps,
                       a.seconds)
    print("cost per stream ...", file=sys.stderr)
    cost = bench_cost([int(c) for c in a.streams.split(",")], a.cost_fps, a.seconds, a.size)
    report = {"fanout": fan, "cost": cost, "cpus": os.cpu_count()}
    a.out.write_text(json.dumps(report, indent=2) + "\n")
    print("| WS clients | messages/s | fan-out p50 (ms) | p95 | p99 | max | lagged |")
    print("|---|---|---|---|---|---|---|")
    for r in fan["by_clients"].values():
        p = r["fanout_ms"]
        print(f"| {r['clients']} | {r['msgs_per_s']} | {p['p50']} | {p['p95']} | {p['p99']} | "
              f"{p['max']} | {r['lagged_skipped']} |")
    print()
    print("| streams | server CPU % | RSS (MiB) |")
    print("|---|---|---|")
    for r in cost["rows"]:
        print(f"| {r['streams']} | {r['cpu_percent']} | {r['rss_mib']} |")
    print(f"\nper added stream: {cost['cpu_percent_per_stream']} % CPU, "
          f"{cost['rss_mib_per_stream']} MiB RSS ({cost['source']})")


if __name__ == "__main__":
    main()
