"""Multi-person pose with the bundled MoveNet multipose lightning (onnxruntime).

Each picture is letterboxed so its long side is ``size`` pixels (rounded up to a multiple of
32, as the model needs), up to six people come back with a box and 17 COCO keypoints each,
in the input picture's pixels. The model takes one picture per call, so a batch is a loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vlmstream.backends import onnx_base as ob
from vlmstream.backends.base import Task, register
from vlmstream.frames import Box, Output

MODEL = "movenet_multipose.onnx"
KEYPOINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
             "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
             "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")


def _round32(v: float) -> int:
    return max(32, int(np.ceil(v / 32)) * 32)


class PoseBackend:
    """Options (strings accepted): ``size`` (long side of the model input, default 256;
    bigger finds smaller people and costs more), ``threshold`` (person score, 0.2),
    ``threads`` (2), ``device`` (auto/cpu/cuda), ``max_batch`` (4)."""

    name = "pose"
    tasks = frozenset({"pose"})

    def __init__(self, *, size: object = 256, threshold: object = 0.2,
                 threads: object = ob.DEFAULT_THREADS, device: str = "auto",
                 max_batch: object = 4, **unknown: object) -> None:
        ob.reject_unknown(self.name, unknown, ("size", "threshold", "threads", "device",
                                               "max_batch"))
        self.size = _round32(ob.as_positive(size, "size"))
        self.threshold = ob.as_fraction(threshold, "threshold")
        self.max_batch = ob.as_positive(max_batch, "max_batch")
        self.session = ob.open_session(MODEL, threads, device)
        self._input = self.session.get_inputs()[0].name

    def infer(self, images: Sequence[np.ndarray], task: Task,
              previous: Sequence[np.ndarray | None] | None = None) -> list[Output]:
        ob.check_call(self.name, self.tasks, task.kind, images)
        return [self._one(img) for img in images]

    def _letterbox(self, h: int, w: int) -> ob.Letterbox:
        scale = self.size / max(h, w)
        return ob.Letterbox.fit(h, w, _round32(w * scale), _round32(h * scale))

    def _one(self, image: np.ndarray) -> Output:
        h, w = image.shape[:2]
        lb = self._letterbox(h, w)
        x = lb.apply(image)[None].astype(np.int32)
        people = self.session.run(None, {self._input: x})[0][0]  # [6, 56]
        size = np.array([lb.width, lb.height], np.float32)
        boxes = []
        for p in people[np.argsort(-people[:, 55])]:
            if p[55] < self.threshold:
                continue
            kp = p[:51].reshape(17, 3)
            xy = lb.to_source(kp[:, 1::-1] * size, h, w)  # (y, x) normalised -> (x, y) pixels
            corners = lb.to_source(p[51:55].reshape(2, 2)[:, ::-1] * size, h, w)
            boxes.append(Box(float(corners[0, 0]), float(corners[0, 1]), float(corners[1, 0]),
                             float(corners[1, 1]), score=float(p[55]), label="person",
                             class_id=0,
                             keypoints=[(float(a), float(b), float(c))
                                        for (a, b), c in zip(xy, kp[:, 2], strict=True)]))
        return Output(label="person" if boxes else "none",
                      score=max((b.score for b in boxes), default=0.0), boxes=boxes,
                      extra={"counts": {"person": len(boxes)} if boxes else {}})

    def close(self) -> None:
        self.session = None


@register("pose")
def _make(**options: object) -> PoseBackend:
    return PoseBackend(**options)
