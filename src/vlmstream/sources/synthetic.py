"""A test-pattern camera for tests and benchmarks: any size and rate, no files, no network.

URI form: ``synthetic://?size=1280x720&fps=30&duration=20&pattern=moving&seed=0&cut_every=0``

Patterns: ``moving`` (a box sweeps across a gradient), ``static`` (nothing moves),
``pulse`` (moves for ``period`` seconds, then holds still as long). ``cut_every`` changes
the whole background every N seconds: a scene cut. Each picture has its own capture time
and sequence number drawn in, so a stored frame says when it was made.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np

from vlmstream.sources.base import Decoded, Source, SourceError, SourceInfo, register_scheme
from vlmstream.sources.pyav import parse_size

PATTERNS = ("moving", "static", "pulse")


@register_scheme("synthetic")
class SyntheticSource(Source):
    def __init__(self, uri: str, *, realtime: bool = True, size: str | None = None,
                 **_: object) -> None:
        super().__init__()
        self.uri = uri
        q = {k: v[-1] for k, v in parse_qs(urlsplit(uri).query).items()}
        known = {"size", "fps", "duration", "pattern", "seed", "cut_every", "period", "box"}
        unknown = set(q) - known
        if unknown:
            raise SourceError(f"{uri}: unknown synthetic option(s) {', '.join(sorted(unknown))}; "
                              f"known: {', '.join(sorted(known))}")
        try:
            self.size = parse_size(size or q.get("size", "1280x720")) or (1280, 720)
            self.fps = float(q.get("fps", 30))
            self.duration = float(q["duration"]) if "duration" in q else None
            self.seed = int(q.get("seed", 0))
            self.cut_every = float(q.get("cut_every", 0))
            self.period = float(q.get("period", 2.0))
            self.box = int(q.get("box", max(16, self.size[1] // 6)))
        except ValueError as e:
            raise SourceError(f"{uri}: bad synthetic option ({e})") from None
        self.pattern = q.get("pattern", "moving")
        if self.pattern not in PATTERNS:
            raise SourceError(f"{uri}: unknown pattern {self.pattern!r}; use one of {PATTERNS}")
        if self.fps <= 0:
            raise SourceError(f"{uri}: fps must be positive")
        self.realtime = realtime
        self.live = realtime

    def open(self) -> SourceInfo:
        return SourceInfo(uri=self.uri, codec="rawvideo", width=self.size[0],
                          height=self.size[1], fps=self.fps, live=self.live,
                          duration_s=self.duration, decoder="synthetic")

    def _background(self, scene: int) -> np.ndarray:
        w, h = self.size
        rng = np.random.default_rng(self.seed * 1000 + scene)
        c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        t = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None]
        row = (c0 * (1 - t) + c1 * t).astype(np.uint8)
        bg = np.repeat(row, h, axis=0)
        # Texture so that scene cuts change structure, not just brightness.
        for _ in range(6):
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            r = int(rng.integers(h // 12, h // 4))
            cv2.circle(bg, (x, y), r, tuple(int(v) for v in rng.integers(0, 256, 3)), -1)
        return bg

    def _moving(self, t: float) -> bool:
        if self.pattern == "static":
            return False
        if self.pattern == "pulse":
            return int(t // self.period) % 2 == 0
        return True

    def frames(self) -> Iterator[Decoded]:
        w, h = self.size
        n_total = None if self.duration is None else int(round(self.duration * self.fps))
        scene, bg = 0, self._background(0)
        pos_t = 0.0  # time the box has spent moving: it stops where it is when still
        start = time.time()
        i = 0
        font_scale = max(0.5, h / 720.0)
        while n_total is None or i < n_total:
            t = i / self.fps
            if self.realtime:
                delay = start + t - time.time()
                if delay > 0:
                    time.sleep(delay)
            if self.cut_every > 0 and int(t // self.cut_every) != scene:
                scene = int(t // self.cut_every)
                bg = self._background(scene)
            if self._moving(t) and i > 0:
                pos_t += 1.0 / self.fps
            img = bg.copy()
            span = max(1, w - self.box)
            x = int((pos_t * w / 4.0) % (2 * span))
            x = x if x <= span else 2 * span - x
            y = h // 2 - self.box // 2
            img[y:y + self.box, x:x + self.box] = (255, 255, 255)
            capture = time.time() if self.realtime else start + t
            text = f"{self.seed}:{i} {capture:.3f}"
            cv2.putText(img, text, (8, int(30 * font_scale)), cv2.FONT_HERSHEY_SIMPLEX,
                        font_scale, (0, 0, 0), max(1, int(2 * font_scale)), cv2.LINE_AA)
            yield Decoded(image=img, pts=t, capture_ts=capture)
            i += 1
