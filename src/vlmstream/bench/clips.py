"""Reproducible H.264 clips for benchmarks, rendered once from the synthetic source and cached.

A rendered clip is the same bytes for the offline reference and the live run, which a
synthetic stream is not (it draws its wall clock into every picture).
"""

from __future__ import annotations

import os
from pathlib import Path

import av

from vlmstream.sources.synthetic import SyntheticSource

# Named clips for ``render://NAME``: synthetic URIs with motion that starts and stops, and cuts.
NAMED = {
    "pulse": "synthetic://?size=640x360&fps=30&duration=20&pattern=pulse&period=2.5"
             "&cut_every=7&seed=7",
    "moving": "synthetic://?size=640x360&fps=30&duration=10&pattern=moving&seed=3",
}


def cache_dir() -> Path:
    d = Path(os.environ.get("VLMSTREAM_BENCH_CACHE", Path.home() / ".cache" / "vlmstream-bench"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def render(uri: str, path: Path, *, crf: int = 23) -> Path:
    """Encode the synthetic ``uri`` (it must have a duration) to an H.264 MP4 at ``path``,
    unless that file already exists."""
    if path.exists() and path.stat().st_size > 0:
        return path
    src = SyntheticSource(uri, realtime=False)
    if src.duration is None:
        raise ValueError(f"{uri}: a rendered clip needs duration=SECONDS")
    tmp = path.with_suffix(".part.mp4")
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(tmp), "w") as c:
        s = c.add_stream("libx264", rate=int(round(src.fps)))
        s.width, s.height, s.pix_fmt = src.size[0], src.size[1], "yuv420p"
        s.options = {"preset": "veryfast", "crf": str(crf), "g": str(int(src.fps * 2))}
        for d in src.frames():
            for p in s.encode(av.VideoFrame.from_ndarray(d.image, format="rgb24")):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    tmp.replace(path)
    return path


def resolve(clip: str) -> str:
    """A file path as is; ``render://NAME`` rendered (once) into the cache."""
    if not clip.startswith("render://"):
        return clip
    name = clip[len("render://"):]
    if name not in NAMED:
        raise ValueError(f"unknown clip {clip!r}; use a video file or render:// with one of "
                         f"{', '.join(sorted(NAMED))}")
    return str(render(NAMED[name], cache_dir() / f"{name}.mp4"))


def hd_clips(n: int = 8, seconds: float = 10.0, size: str = "1280x720", fps: int = 30) -> list[Path]:
    """``n`` different 720p H.264 clips (for decode throughput), cached."""
    out = []
    for i in range(n):
        uri = f"synthetic://?size={size}&fps={fps}&duration={seconds:g}&pattern=moving&seed={i}"
        out.append(render(uri, cache_dir() / f"hd_{size}_{fps}_{seconds:g}s_{i}.mp4"))
    return out
