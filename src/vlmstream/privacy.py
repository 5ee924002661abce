"""``--anonymize``: every person in every picture the system outputs is pixelated.

The pipeline applies this once, before any sink or subscriber sees a result's picture, so
annotated videos, dashboard frames and any other image output are covered alike. People
come from the result's own boxes when its task detects them (detect, pose); for any other
task the builtin person detector runs on the picture just for this.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from vlmstream.backends import Backend, Task, create
from vlmstream.frames import Box, Result

PERSON_TASKS = frozenset({"detect", "pose"})


def pixelate(image: np.ndarray, boxes: list[Box], *, block: int = 12, pad: float = 0.1) -> np.ndarray:
    """A copy of ``image`` with each box (grown by ``pad``) reduced to coarse blocks.

    Pixelation, not a light blur: a light blur can be partly undone and keeps faces readable."""
    out = image.copy()
    h, w = out.shape[:2]
    for b in boxes:
        px, py = (b.x2 - b.x1) * pad, (b.y2 - b.y1) * pad
        x1, y1 = max(0, int(b.x1 - px)), max(0, int(b.y1 - py))
        x2, y2 = min(w, int(b.x2 + px) + 1), min(h, int(b.y2 + py) + 1)
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        roi = out[y1:y2, x1:x2]
        small = cv2.resize(roi, (max(1, (x2 - x1) // block), max(1, (y2 - y1) // block)),
                           interpolation=cv2.INTER_AREA)
        out[y1:y2, x1:x2] = cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)
    return out


class Anonymizer:
    """Pixelates the people in a result's picture (see module docstring)."""

    def __init__(self, detector: Backend | None = None, threshold: float = 0.25) -> None:
        self._detector = detector
        self._threshold = threshold
        self._lock = threading.Lock()

    def _people(self, r: Result) -> list[Box]:
        if r.task in PERSON_TASKS:
            return [b for b in r.output.boxes if b.label == "person"]
        with self._lock:
            if self._detector is None:
                self._detector = create("detect", threshold=self._threshold)
            (out,) = self._detector.infer([r.image], Task("detect", ("person",)))
        return [b for b in out.boxes if b.label == "person"]

    def apply(self, r: Result) -> None:
        """Replace ``r.image`` with an anonymised copy (the frame itself is left intact)."""
        if r.image is None:
            return
        people = self._people(r)
        r.image = pixelate(r.image, people) if people else r.image
