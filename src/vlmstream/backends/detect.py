"""COCO-80 object detection with the bundled CenterNet-MobileNetV3 (onnxruntime).

Pictures are letterboxed into the model's 512x512 input (aspect kept), run as one batch,
and boxes come back in the input picture's pixels after per-class NMS (OpenCV's
``NMSBoxesBatched``). ``task.labels`` in plain words ("pedestrian", "vehicle") keep only the
classes they name (see :mod:`vlmstream.backends.vocab`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import cv2
import numpy as np

from vlmstream.backends import onnx_base as ob
from vlmstream.backends.base import Task, register
from vlmstream.backends.vocab import COCO_SYNONYMS, Vocabulary
from vlmstream.frames import Box, Output

MODEL = "centernet_mbv3_coco.onnx"
SIDE = 512


class DetectBackend:
    """Options (strings accepted): ``threshold`` (box score, default 0.3), ``nms`` (IoU above
    which same-class boxes are merged, 0.5), ``threads`` (intra-op, 2), ``device``
    (auto/cpu/cuda), ``max_batch`` (8), ``vocab_threshold`` (label matching, 0.65)."""

    name = "detect"
    tasks = frozenset({"detect"})

    def __init__(self, *, threshold: object = 0.3, nms: object = 0.5,
                 threads: object = ob.DEFAULT_THREADS, device: str = "auto",
                 max_batch: object = 8, vocab_threshold: object = 0.65, **unknown: object) -> None:
        ob.reject_unknown(self.name, unknown, ("threshold", "nms", "threads", "device",
                                               "max_batch", "vocab_threshold"))
        self.threshold = ob.as_fraction(threshold, "threshold")
        self.nms = ob.as_fraction(nms, "nms")
        self.max_batch = ob.as_positive(max_batch, "max_batch")
        self.classes = ob.load_labels("coco_labels.txt")
        self.vocab = Vocabulary.with_named_synonyms(
            "detect", self.classes, COCO_SYNONYMS, ob.as_fraction(vocab_threshold, "vocab_threshold"))
        self.session = ob.open_session(MODEL, threads, device)
        self._input = self.session.get_inputs()[0].name

    def validate(self, task: Task) -> None:
        """Words the model cannot see are refused before the stream starts."""
        self._wanted(task.labels)

    def infer(self, images: Sequence[np.ndarray], task: Task,
              previous: Sequence[np.ndarray | None] | None = None) -> list[Output]:
        if not ob.check_call(self.name, self.tasks, task.kind, images):
            return []
        wanted = self._wanted(task.labels)
        boxes = [ob.Letterbox.fit(*img.shape[:2], SIDE, SIDE) for img in images]
        batch = np.stack([lb.apply(img) for lb, img in zip(boxes, images, strict=True)])
        dets = self.session.run(None, {self._input: batch.astype(np.float32)})[0]
        return [self._output(d, lb, img.shape[0], img.shape[1], wanted)
                for d, lb, img in zip(dets, boxes, images, strict=True)]

    def _wanted(self, labels: Sequence[str]) -> frozenset[int] | None:
        if not labels:
            return None
        return frozenset(i for ids in self.vocab.resolve_all(labels).values() for i in ids)

    def _output(self, det: np.ndarray, lb: ob.Letterbox, h: int, w: int,
                wanted: frozenset[int] | None) -> Output:
        cls = det[:, 5].astype(np.int64)
        keep = (det[:, 4] >= self.threshold) & (cls >= 0) & (cls < len(self.classes))
        if wanted is not None:
            keep &= np.isin(cls, list(wanted))
        det, cls = det[keep], cls[keep]
        xyxy = lb.to_source(det[:, :4].reshape(-1, 2, 2).copy(), h, w).reshape(-1, 4)
        if len(det):
            xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
            idx = cv2.dnn.NMSBoxesBatched(xywh.tolist(), det[:, 4].tolist(), cls.tolist(),
                                          self.threshold, self.nms)
            order = sorted(np.asarray(idx, dtype=np.int64).reshape(-1), key=lambda i: -det[i, 4])
        else:
            order = []
        out = [Box(*(float(v) for v in xyxy[i]), score=float(det[i, 4]),
                   label=self.classes[cls[i]], class_id=int(cls[i])) for i in order]
        counts = Counter(b.label for b in out)
        label = counts.most_common(1)[0][0] if counts else "none"
        return Output(label=label, score=max((b.score for b in out), default=0.0), boxes=out,
                      extra={"counts": dict(counts)})

    def close(self) -> None:
        self.session = None


@register("detect")
def _make(**options: object) -> DetectBackend:
    return DetectBackend(**options)
