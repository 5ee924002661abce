"""Backends for measuring the pipeline itself: ``null`` (no work) and ``sleep`` (a model of a
fixed cost). They are real backends behind the same protocol, used by benchmarks and by
tests that need a backend slower than the frame rate."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from vlmstream.backends.base import Task, register
from vlmstream.frames import Output


class NullBackend:
    """Returns an empty output at once: what remains is the pipeline's own cost."""

    name = "null"
    tasks = frozenset({"null", "motion", "classify", "detect"})

    def __init__(self, *, max_batch: int = 32, **_: object) -> None:
        self.max_batch = max_batch

    def infer(self, images: Sequence[np.ndarray], task: Task,
              previous: Sequence[np.ndarray | None] | None = None) -> list[Output]:
        label = task.labels[0] if task.labels else None
        return [Output(label=label, score=1.0 if label else None) for _ in images]

    def close(self) -> None:
        return None


class SleepBackend(NullBackend):
    """Costs ``batch_ms + per_image_ms * len(batch)`` of wall time, like a model would."""

    name = "sleep"

    def __init__(self, *, batch_ms: float = 50.0, per_image_ms: float = 0.0,
                 max_batch: int = 8, **_: object) -> None:
        super().__init__(max_batch=max_batch)
        self.batch_ms = float(batch_ms)
        self.per_image_ms = float(per_image_ms)

    def infer(self, images: Sequence[np.ndarray], task: Task,
              previous: Sequence[np.ndarray | None] | None = None) -> list[Output]:
        time.sleep((self.batch_ms + self.per_image_ms * len(images)) / 1000.0)
        return super().infer(images, task, previous)


@register("null")
def _make_null(**options: object) -> NullBackend:
    return NullBackend(**options)  # type: ignore[arg-type]


@register("sleep")
def _make_sleep(**options: object) -> SleepBackend:
    return SleepBackend(**options)  # type: ignore[arg-type]
