"""Sources turn a URI into decoded pictures. A Source knows nothing of models.

A source is opened and read by exactly one ingest thread (see ``ingest.py``); it yields
``Decoded`` pictures, and the ingest thread gives them a stream id, a sequence number and
an arrival time. Errors a user can act on are raised as ``SourceError`` with a message that
names the source and says what to do.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class SourceError(RuntimeError):
    """A source cannot be opened or read; ``str()`` is the one line shown to the user.

    ``retryable`` says whether trying again later may help (a camera that is down) or
    not (a file that does not exist).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(slots=True)
class Decoded:
    """One picture as a source produced it: RGB uint8, the source's pts in seconds, and the
    wall-clock capture time when the source tells us."""

    image: np.ndarray
    pts: float | None
    capture_ts: float | None = None


@dataclass(slots=True)
class SourceInfo:
    """What a source said about itself when it opened."""

    uri: str
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    live: bool = False
    duration_s: float | None = None
    frames: int | None = None
    decoder: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SourceCounters:
    """Faults a source survived; read by the ingest thread and metrics."""

    corrupt_packets: int = 0
    decode_errors: int = 0
    last_error: str | None = None


class Source(ABC):
    """Opened once, read by one thread, closed once."""

    uri: str
    live: bool = False

    def __init__(self) -> None:
        self.counters = SourceCounters()

    @abstractmethod
    def open(self) -> SourceInfo:
        """Connect or open; raise SourceError with a clear message on failure."""

    @abstractmethod
    def frames(self) -> Iterator[Decoded]:
        """Yield decoded pictures until the source ends (or the caller stops reading)."""

    def close(self) -> None:  # noqa: B027 - sources without resources need nothing
        """Release the container / connection. Safe to call more than once."""


SourceFactory = Callable[..., Source]
_SCHEMES: dict[str, SourceFactory] = {}


def register_scheme(*schemes: str) -> Callable[[SourceFactory], SourceFactory]:
    """Let ``open_source`` build a source for URIs starting with ``scheme://``."""

    def deco(factory: SourceFactory) -> SourceFactory:
        for s in schemes:
            _SCHEMES[s] = factory
        return factory

    return deco


_SCHEME_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
_V4L2_RE = re.compile(r"^/dev/video\d+$")


def create_source(uri: str, **options: Any) -> Source:
    """Pick the source class for a URI (scheme, or a plain path for files; a bare
    ``/dev/videoN`` is a webcam)."""
    _load_builtin_modules()
    if _V4L2_RE.match(uri):
        uri = "webcam://" + uri
    m = _SCHEME_RE.match(uri)
    scheme = m.group(1).lower() if m else "file"
    factory = _SCHEMES.get(scheme)
    if factory is None:
        known = ", ".join(sorted(s + "://" for s in _SCHEMES))
        raise SourceError(f"{uri}: unknown source scheme {scheme!r}; use a file path or one of {known}")
    return factory(uri, **options)


def _load_builtin_modules() -> None:
    import importlib

    for mod in _BUILTIN_MODULES:
        importlib.import_module(mod)


_BUILTIN_MODULES: list[str] = [
    "vlmstream.sources.file",
    "vlmstream.sources.synthetic",
    "vlmstream.sources.rtsp",
    "vlmstream.sources.http",
    "vlmstream.sources.webrtc",
    "vlmstream.sources.webcam",
]
