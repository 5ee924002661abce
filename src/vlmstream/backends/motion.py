"""Motion analytics by frame differencing: needs no weights, runs anywhere.

Per image it reports an activity score (fraction of pixels that changed since the stream's
previous analysed picture), boxes around moving regions, and a scene-cut flag (most of the
picture changed at once). Work is done on a small grey copy so it costs about a millisecond.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import cv2
import numpy as np

from vlmstream.backends.base import BackendError, Task, register
from vlmstream.frames import Box, Output


class MotionBackend:
    name = "motion"
    tasks = frozenset({"motion"})

    def __init__(self, *, width: int = 320, pixel_threshold: int = 25,
                 activity_threshold: float = 0.002, cut_threshold: float = 0.5,
                 min_area: float = 0.0005, max_batch: int = 16, **_: object) -> None:
        self.work_width = width
        self.pixel_threshold = pixel_threshold
        self.activity_threshold = activity_threshold
        self.cut_threshold = cut_threshold
        self.min_area = min_area
        self.max_batch = max_batch
        self._kernel = np.ones((3, 3), np.uint8)
        # Each analysed picture comes back once as the next one's ``previous``: keep its
        # small grey copy until then instead of computing it twice. Keyed by identity, with
        # the picture held so the key cannot be reused; bounded for streams that go away.
        self._grey_cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def _cached_gray(self, img: np.ndarray) -> np.ndarray:
        hit = self._grey_cache.pop(id(img), None)
        return hit[1] if hit is not None and hit[0] is img else self._gray(img)

    def _remember(self, img: np.ndarray, grey: np.ndarray) -> None:
        self._grey_cache[id(img)] = (img, grey)
        while len(self._grey_cache) > 256:
            self._grey_cache.popitem(last=False)

    def _gray(self, img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        sw = min(self.work_width, w)
        sh = max(1, round(h * sw / w))
        small = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 0)

    def infer(self, images: Sequence[np.ndarray], task: Task,
              previous: Sequence[np.ndarray | None] | None = None) -> list[Output]:
        if task.kind not in self.tasks:
            raise BackendError(f"motion backend does not do task {task.kind!r}; it does: motion")
        prev = list(previous) if previous is not None else [None] * len(images)
        return [self._one(img, p) for img, p in zip(images, prev, strict=True)]

    def _one(self, img: np.ndarray, prev: np.ndarray | None) -> Output:
        g1 = self._gray(img)
        self._remember(img, g1)
        if prev is None or prev.shape != img.shape:
            return Output(label="still", score=0.0, extra={"activity": 0.0, "scene_cut": False,
                                                           "first": True})
        g0 = self._cached_gray(prev)
        diff = cv2.absdiff(g1, g0)
        mask = (diff > self.pixel_threshold).astype(np.uint8)
        activity = float(mask.mean())
        scene_cut = activity > self.cut_threshold
        boxes: list[Box] = []
        if not scene_cut and activity > 0:
            mask = cv2.dilate(mask, self._kernel, iterations=2)
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
            sx = img.shape[1] / g1.shape[1]
            sy = img.shape[0] / g1.shape[0]
            min_px = self.min_area * g1.size
            for x, y, w, h, area in stats[1:n]:
                if area >= min_px:
                    boxes.append(Box(x * sx, y * sy, (x + w) * sx, (y + h) * sy,
                                     score=float(area) / g1.size, label="motion"))
        label = "motion" if activity >= self.activity_threshold else "still"
        return Output(label=label, score=activity, boxes=boxes,
                      extra={"activity": round(activity, 5), "scene_cut": scene_cut})

    def close(self) -> None:
        return None


@register("motion")
def _make(**options: object) -> MotionBackend:
    return MotionBackend(**options)  # type: ignore[arg-type]
