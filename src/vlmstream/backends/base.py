"""The Backend protocol: a batch of images plus a task in, one Output per image out.

A backend knows nothing of streams. The scheduler is the only caller; it runs backends
in their own worker thread so that inference never blocks capture or serving.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from vlmstream.frames import Output


class BackendError(RuntimeError):
    """A backend could not be built or could not run; the message is meant for the user."""


class BackendOverloaded(BackendError):
    """The backend ran out of memory or time on this batch. The scheduler reacts by moving
    streams to their configured fallback backend (and back later), never by crashing."""


@dataclass(frozen=True, slots=True)
class Task:
    """What to ask of the images: ``kind`` (motion, classify, detect, caption, ask, ...),
    closed-vocabulary ``labels`` where the task has them, a ``prompt`` for VLM tasks, and
    backend-specific ``options``."""

    kind: str
    labels: tuple[str, ...] = ()
    prompt: str | None = None
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@runtime_checkable
class Backend(Protocol):
    """What the scheduler needs from a model."""

    name: str
    tasks: frozenset[str]
    max_batch: int

    def infer(self, images: Sequence[np.ndarray], task: Task,
              previous: Sequence[np.ndarray | None] | None = None) -> list[Output]:
        """Return one Output per image, in order. ``previous`` holds, per image, the
        picture analysed before it on the same source (for backends that compare two
        pictures); others ignore it."""
        ...

    def close(self) -> None:
        ...

    # Optional: ``validate(task) -> None`` raises BackendError when the task's labels or
    # options cannot work, so a stream is refused when it is added (see pipeline.check_task).


def require_task_inputs(task: Task) -> None:
    """What open-vocabulary tasks cannot do without: labels to choose from, a question."""
    if task.kind == "classify" and not task.labels:
        raise BackendError("task 'classify' needs labels: give --labels a,b,c")
    if task.kind == "ask" and not task.prompt:
        raise BackendError("task 'ask' needs a prompt (the question): give --prompt")


BackendFactory = Callable[..., Backend]
_REGISTRY: dict[str, BackendFactory] = {}


def register(name: str) -> Callable[[BackendFactory], BackendFactory]:
    """Make a backend constructible by name from the CLI, config and server."""

    def deco(factory: BackendFactory) -> BackendFactory:
        _REGISTRY[name] = factory
        return factory

    return deco


def available() -> list[str]:
    _load_builtin_modules()
    return sorted(_REGISTRY)


def create(name: str, **options: Any) -> Backend:
    """Build a backend by registered name; unknown names list the known ones."""
    _load_builtin_modules()
    factory = _REGISTRY.get(name)
    if factory is None:
        raise BackendError(
            f"unknown backend {name!r}; choose one of: {', '.join(sorted(_REGISTRY))}")
    return factory(**options)


def _load_builtin_modules() -> None:
    # Importing a backend module registers it. Modules whose optional extra is missing
    # register a factory that explains which extra to install, so they never fail here.
    import importlib

    for mod in _BUILTIN_MODULES:
        importlib.import_module(mod)


_BUILTIN_MODULES: list[str] = [
    "vlmstream.backends.motion",
    "vlmstream.backends.testing",
    "vlmstream.backends.hf_clip",
    "vlmstream.backends.hf_vlm",
    "vlmstream.backends.openai_remote",
    "vlmstream.backends.detect",
    "vlmstream.backends.pose",
    "vlmstream.backends.imagenet",
]
