"""Simple per-person actions from pose keypoints over time: standing, walking, running, lying.

Rules (COCO-17 keypoints, each used only when its score >= ``min_kp_score``):

- **lying** (a fall, when it follows standing): the torso (mid-hip -> mid-shoulder) is more
  than 60 degrees from vertical, or, without a visible torso, the person's box is wider
  than 1.3x its height.
- otherwise the body's speed decides: the hip centre's (else the box centre's)
  displacement over the last ``window_s`` seconds, divided by the person's height (box height)
  to be independent of distance to the camera:
  - < 0.3 heights/s: **standing** (includes sitting still; the model cannot tell),
  - 0.3 - 1.5 heights/s: **walking**,
  - > 1.5 heights/s: **running**.
- fewer than two observations in the window: no action yet.

These are heuristics for a fixed camera, documented so users can judge them; they are not a
trained action model. A camera that pans makes everyone "walk".
"""

from __future__ import annotations

import math
from collections import deque

from vlmstream.frames import Box

L_SHOULDER, R_SHOULDER, L_HIP, R_HIP = 5, 6, 11, 12


class ActionRules:
    """Per-stream: keeps a short history per track id and labels each tracked person."""

    def __init__(self, *, window_s: float = 1.0, min_kp_score: float = 0.3,
                 walk_speed: float = 0.3, run_speed: float = 1.5, lying_deg: float = 60.0,
                 lying_aspect: float = 1.3) -> None:
        self.window_s = window_s
        self.min_kp_score = min_kp_score
        self.walk_speed, self.run_speed = walk_speed, run_speed
        self.lying_deg, self.lying_aspect = lying_deg, lying_aspect
        self._hist: dict[int, deque[tuple[float, float, float, float]]] = {}

    def _mid(self, b: Box, i: int, j: int) -> tuple[float, float] | None:
        kp = b.keypoints
        if kp is None or len(kp) <= max(i, j):
            return None
        (x1, y1, c1), (x2, y2, c2) = kp[i], kp[j]
        if c1 < self.min_kp_score or c2 < self.min_kp_score:
            return None
        return (x1 + x2) / 2, (y1 + y2) / 2

    def lying(self, b: Box) -> bool:
        hip, sh = self._mid(b, L_HIP, R_HIP), self._mid(b, L_SHOULDER, R_SHOULDER)
        if hip is not None and sh is not None:
            dx, dy = sh[0] - hip[0], sh[1] - hip[1]
            angle = math.degrees(math.atan2(abs(dx), abs(dy) + 1e-9))  # 0 = upright
            return angle > self.lying_deg
        w, h = b.x2 - b.x1, b.y2 - b.y1
        return w > self.lying_aspect * max(h, 1e-6)

    def update(self, boxes: list[Box], ts: float) -> None:
        """Set ``Box.action`` on each tracked person box."""
        live = set()
        for b in boxes:
            if b.track_id is None:
                continue
            live.add(b.track_id)
            c = self._mid(b, L_HIP, R_HIP) or ((b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2)
            h = self._hist.setdefault(b.track_id, deque())
            h.append((ts, c[0], c[1], max(b.y2 - b.y1, 1.0)))
            while h and ts - h[0][0] > self.window_s:
                h.popleft()
            if self.lying(b):
                b.action = "lying"
                continue
            if len(h) < 2 or h[-1][0] - h[0][0] <= 0:
                continue
            t0, x0, y0, _ = h[0]
            t1, x1, y1, _ = h[-1]
            height = sum(e[3] for e in h) / len(h)
            speed = math.hypot(x1 - x0, y1 - y0) / height / (t1 - t0)
            b.action = ("running" if speed > self.run_speed else
                        "walking" if speed > self.walk_speed else "standing")
        for tid in list(self._hist):
            if tid not in live and ts - self._hist[tid][-1][0] > 5 * self.window_s:
                del self._hist[tid]
