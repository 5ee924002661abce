"""ImageNet-1k classification and image embeddings with the bundled EfficientNet-Lite0.

One ONNX run gives both: ``classify`` reports the top-k ImageNet classes, or, when the task
has labels, each label's probability summed over the classes it names ("dog" is 118
breeds; see :mod:`vlmstream.backends.vocab`); ``embed`` returns the L2-normalised 1280-d
pooled features. Pictures are resized to 224x224 (the whole frame, squeezed; the model was
trained on centre crops, but a crop would cut the edges off a surveillance frame) and
normalised as the TF EfficientNet-Lite reference does: (x - 127) / 128.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vlmstream.backends import onnx_base as ob
from vlmstream.backends.base import Task, register
from vlmstream.backends.vocab import IMAGENET_SYNONYMS, Vocabulary
from vlmstream.frames import Output

MODEL = "efficientnet_lite0.onnx"
SIDE = 224
MEAN, STD = 127.0, 128.0  # from the model's metadata (scripts/convert_models.py, MODELS.md)


class ImagenetBackend:
    """Options (strings accepted): ``top_k`` (classes in Output.scores, default 5),
    ``threads`` (2), ``device`` (auto/cpu/cuda), ``max_batch`` (16), ``vocab_threshold``
    (label matching, 0.65)."""

    name = "imagenet"
    tasks = frozenset({"classify", "embed"})

    def __init__(self, *, top_k: object = 5, threads: object = ob.DEFAULT_THREADS,
                 device: str = "auto", max_batch: object = 16, vocab_threshold: object = 0.65,
                 **unknown: object) -> None:
        ob.reject_unknown(self.name, unknown, ("top_k", "threads", "device", "max_batch",
                                               "vocab_threshold"))
        self.top_k = ob.as_positive(top_k, "top_k")
        self.max_batch = ob.as_positive(max_batch, "max_batch")
        classes = ob.load_labels("imagenet_labels.txt")
        self.vocab = Vocabulary("classify", classes, IMAGENET_SYNONYMS,
                                ob.as_fraction(vocab_threshold, "vocab_threshold"))
        self.names = self.vocab.display
        self.session = ob.open_session(MODEL, threads, device)
        self._input = self.session.get_inputs()[0].name

    def validate(self, task: Task) -> None:
        """Words the model cannot see are refused before the stream starts."""
        if task.kind == "classify":
            self.vocab.resolve_all(task.labels)

    def infer(self, images: Sequence[np.ndarray], task: Task,
              previous: Sequence[np.ndarray | None] | None = None) -> list[Output]:
        if not ob.check_call(self.name, self.tasks, task.kind, images):
            return []
        groups = self.vocab.resolve_all(task.labels) if task.kind == "classify" else {}
        x = np.stack([self._prepare(img) for img in images])
        logits, emb = self.session.run(None, {self._input: x})
        if task.kind == "embed":
            emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
            return [Output(extra={"embedding": [float(v) for v in e]}) for e in emb]
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        return [self._grouped(p, groups) if groups else self._top(p) for p in probs]

    @staticmethod
    def _prepare(image: np.ndarray) -> np.ndarray:
        small = cv2.resize(image, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
        return ((small.astype(np.float32) - MEAN) / STD).transpose(2, 0, 1)

    def _top(self, p: np.ndarray) -> Output:
        top = np.argsort(-p)[: self.top_k]
        return Output(label=self.names[top[0]], score=float(p[top[0]]),
                      scores={self.names[i]: float(p[i]) for i in top})

    @staticmethod
    def _grouped(p: np.ndarray, groups: dict[str, tuple[int, ...]]) -> Output:
        scores = {label: float(p[list(ids)].sum()) for label, ids in groups.items()}
        best = max(scores, key=scores.__getitem__)
        return Output(label=best, score=scores[best], scores=scores)

    def close(self) -> None:
        self.session = None


@register("imagenet")
def _make(**options: object) -> ImagenetBackend:
    return ImagenetBackend(**options)
