"""Events: a stream's stable state entering and leaving, with start and end times."""

from __future__ import annotations

from vlmstream.frames import Event


class EventTracker:
    """Turns a sequence of stable labels into start/end events for one stream.

    Labels in ``background`` (e.g. "still", "none") are the resting state and open no
    event. An event's ``end`` carries its start so a consumer can act on either alone.
    """

    def __init__(self, stream_id: str, background: frozenset[str | None] = frozenset({None})) -> None:
        self.stream_id = stream_id
        self.background = background
        self.open: Event | None = None
        self._state: str | None = None

    def update(self, label: str | None, ts: float, seq: int) -> list[Event]:
        if label == self._state:
            return []
        self._state = label
        out: list[Event] = []
        if self.open is not None:
            out.append(self._end(ts, seq))
        if label not in self.background:
            self.open = Event(self.stream_id, str(label), "start", start_ts=ts, start_seq=seq)
            out.append(self.open)
        return out

    def _end(self, ts: float, seq: int) -> Event:
        assert self.open is not None
        o, self.open = self.open, None
        return Event(self.stream_id, o.kind, "end", start_ts=o.start_ts, end_ts=ts,
                     start_seq=o.start_seq, end_seq=seq, data=dict(o.data))

    def close(self, ts: float, seq: int) -> list[Event]:
        """End whatever is open (the stream ended or was removed)."""
        self._state = None
        return [self._end(ts, seq)] if self.open is not None else []
