"""JSON Lines: one result (or stream event) per line; the schema is in the README."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from vlmstream.frames import Event, Result
from vlmstream.sinks.base import Sink


class JsonlSink(Sink):
    name = "jsonl"

    def __init__(self, path: str | Path, *, flush_every: int = 1) -> None:
        super().__init__()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f: IO[str] = self.path.open("a", encoding="utf-8")
        self.flush_every = max(1, flush_every)
        self._n = 0

    def _line(self, d: dict) -> None:
        self._f.write(json.dumps(d, separators=(",", ":")) + "\n")
        self._n += 1
        if self._n % self.flush_every == 0:
            self._f.flush()

    def write(self, result: Result) -> None:
        self._line({"type": "result", **result.to_dict()})

    def write_event(self, event: Event) -> None:
        self._line({"type": "event", **event.to_dict()})

    def finish(self) -> None:
        self._f.flush()
        self._f.close()
