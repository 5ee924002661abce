"""Draw a result over its picture: boxes, labels, track ids, caption, latency."""

from __future__ import annotations

import cv2
import numpy as np

from vlmstream.frames import Result

_PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
            (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)]


def color_for(key: object) -> tuple[int, int, int]:
    return _PALETTE[hash(key) % len(_PALETTE)]


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float,
          color: tuple[int, int, int]) -> None:
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x, y = org
    y = max(th + base, y)
    cv2.rectangle(img, (x, y - th - base), (x + tw + 2, y + 1), (0, 0, 0), -1)
    cv2.putText(img, text, (x + 1, y - base // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1,
                cv2.LINE_AA)


def annotate(image: np.ndarray, result: Result) -> np.ndarray:
    """A copy of ``image`` (RGB) with ``result`` drawn on it."""
    img = np.ascontiguousarray(image).copy()
    h = img.shape[0]
    scale = max(0.4, h / 1000.0)
    for b in result.output.boxes:
        key = b.track_id if b.track_id is not None else (b.label or "box")
        c = color_for(key)
        p1, p2 = (int(b.x1), int(b.y1)), (int(b.x2), int(b.y2))
        cv2.rectangle(img, p1, p2, c, 2)
        tag = b.label or ""
        if b.track_id is not None:
            tag = f"#{b.track_id} {tag}"
        if b.score is not None and b.label not in (None, "motion"):
            tag += f" {b.score:.2f}"
        if tag.strip():
            _text(img, tag.strip(), (p1[0], p1[1] - 2), scale, c)
    head = f"{result.stream_id} #{result.seq}"
    if result.output.label is not None:
        head += f"  {result.output.label}"
        if result.output.score is not None:
            head += f" ({result.output.score:.2f})"
    lat = result.latency_ms
    if lat is not None:
        head += f"  {lat:.0f} ms"
    _text(img, head, (4, int(24 * scale) + 4), scale, (255, 255, 255))
    if result.output.text:
        _text(img, result.output.text[:120], (4, h - 6), scale, (255, 255, 0))
    return img
