"""Shared fixtures: small real videos made with PyAV, and a short-lived pipeline runner."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest


def write_video(path: Path, *, frames: int = 60, fps: int = 30, size: tuple[int, int] = (320, 240),
                moving: bool = True, codec: str = "libx264") -> Path:
    """An H.264 MP4 with a white square moving over a dark background."""
    w, h = size
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(frames):
            img = np.full((h, w, 3), 30, np.uint8)
            x = (i * 4) % (w - 40) if moving else 10
            img[h // 2 - 20:h // 2 + 20, x:x + 40] = 255
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


@pytest.fixture(scope="session")
def small_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("vid") / "small.mp4")


def run_pipeline_for(sources, *, seconds: float, backend: str = "motion", options=None,
                     fps: float = 10.0, budget_ms: float = 500.0, policy: str = "latest",
                     max_batch=None, sinks=(), task: str = "motion", labels=(), gate=False,
                     realtime: bool = True):
    """Run a real pipeline on ``sources`` for ``seconds``; return (pipeline, results)."""
    from vlmstream.config import BackendConfig, RunConfig, StreamConfig, TaskConfig
    from vlmstream.pipeline import Pipeline

    cfg = RunConfig(
        streams=[StreamConfig(source=s, fps=fps, max_latency_ms=budget_ms, drop_policy=policy,
                              gate=gate, realtime=realtime) for s in sources],
        backend=BackendConfig(name=backend, options=options or {}, max_batch=max_batch),
        task=TaskConfig(kind=task, labels=list(labels)))
    pipe = Pipeline(list(sinks))
    results = []
    pipe.subscribe(results.append)
    for s in cfg.resolved_streams():
        pipe.add_stream(s)
    pipe.start()
    try:
        pipe.wait(seconds)
    finally:
        pipe.stop(drain=True)
    return pipe, results


@pytest.fixture(scope="session")
def vtest_frames() -> dict[int, np.ndarray]:
    """Frames 100-103 and 200 of the bundled pedestrian clip (768x576 RGB), decoded once."""
    from importlib import resources

    wanted = {100, 101, 102, 103, 200}
    out: dict[int, np.ndarray] = {}
    with resources.as_file(resources.files("vlmstream") / "data" / "vtest.mp4") as path:
        with av.open(str(path)) as c:
            for i, f in enumerate(c.decode(video=0)):
                if i in wanted:
                    out[i] = f.to_ndarray(format="rgb24")
                if i >= max(wanted):
                    break
    return out
