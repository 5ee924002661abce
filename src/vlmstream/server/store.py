"""Events persist in SQLite (by default), trimmed by age and by count so the file stays bounded.

``EventStoreSink`` is a pipeline sink: it runs on its own thread with a bounded queue, takes
the events carried on results and the stream events that belong to no result, and writes
them in small transactions. Queries come from the API threads; one lock serialises both.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from vlmstream.frames import Event, Result
from vlmstream.server.security import mask_text
from vlmstream.sinks.base import Sink

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    stream_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    start_ts REAL NOT NULL,
    end_ts REAL,
    start_seq INTEGER,
    end_seq INTEGER,
    data TEXT
);
CREATE INDEX IF NOT EXISTS events_stream ON events (stream_id, id);
CREATE INDEX IF NOT EXISTS events_created ON events (created);
"""


class EventStore:
    def __init__(self, path: str | Path, *, max_age_s: float = 7 * 86400.0,
                 max_events: int = 100_000, trim_every: int = 200) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_age_s = max_age_s
        self.max_events = max_events
        self._trim_every = trim_every
        self._since_trim = 0
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self.trim()

    def add(self, events: list[Event]) -> None:
        if not events:
            return
        t = time.time()
        rows = [(t, e.stream_id, e.kind, e.state, e.start_ts, e.end_ts, e.start_seq, e.end_seq,
                 mask_text(json.dumps(e.data)) if e.data else None) for e in events]
        with self._lock:
            self._db.executemany(
                "INSERT INTO events (created, stream_id, kind, state, start_ts, end_ts, "
                "start_seq, end_seq, data) VALUES (?,?,?,?,?,?,?,?,?)", rows)
            self._since_trim += len(rows)
            due = self._since_trim >= self._trim_every
        if due:
            self.trim()

    def trim(self) -> int:
        """Delete events older than ``max_age_s`` and all but the newest ``max_events``."""
        with self._lock:
            self._since_trim = 0
            n = self._db.execute("DELETE FROM events WHERE created < ?",
                                 (time.time() - self.max_age_s,)).rowcount
            n += self._db.execute(
                "DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?",
                (self.max_events,)).rowcount
        return n

    def query(self, *, stream_id: str | None = None, kind: str | None = None,
              since: float | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first."""
        where, args = [], []
        for col, op, val in (("stream_id", "=", stream_id), ("kind", "=", kind),
                             ("start_ts", ">=", since)):
            if val is not None:
                where.append(f"{col} {op} ?")
                args.append(val)
        sql = ("SELECT id, created, stream_id, kind, state, start_ts, end_ts, start_seq, "
               "end_seq, data FROM events" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY id DESC LIMIT ?")
        with self._lock:
            rows = self._db.execute(sql, (*args, limit)).fetchall()
        cols = ("id", "created", "stream_id", "kind", "state", "start_ts", "end_ts",
                "start_seq", "end_seq", "data")
        out = []
        for row in rows:
            d = dict(zip(cols, row, strict=True))
            d["data"] = json.loads(d["data"]) if d["data"] else {}
            out.append(d)
        return out

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class EventStoreSink(Sink):
    name = "events"

    def __init__(self, store: EventStore) -> None:
        super().__init__()
        self.store = store

    def write(self, result: Result) -> None:
        self.store.add(result.events)

    def write_event(self, event: Event) -> None:
        self.store.add([event])

    def finish(self) -> None:
        self.store.trim()
