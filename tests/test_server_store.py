"""SQLite events with retention by age and count; webhooks signed with HMAC and retried,
delivered to a real HTTP receiver on loopback; credentials masked in text and logs."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from vlmstream.frames import Event
from vlmstream.server.security import (
    MaskingFilter,
    SourceAllowlist,
    SourceNotAllowed,
    mask_text,
)
from vlmstream.server.settings import WebhookTarget
from vlmstream.server.store import EventStore
from vlmstream.server.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSink

pytestmark = pytest.mark.timeout(30)


def ev(stream: str = "a", kind: str = "motion", **data: object) -> Event:
    return Event(stream, kind, "start", start_ts=time.time(), data=dict(data))


def test_event_store_queries_and_retention(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.sqlite", max_events=100, trim_every=10)
    store.add([ev("a"), ev("b", "scene_cut")])
    assert [e["stream_id"] for e in store.query()] == ["b", "a"]
    assert [e["kind"] for e in store.query(stream_id="a")] == ["motion"]
    store.add([ev("a", error="rtsp://u:pw@cam/x failed")])
    assert store.query(limit=1)[0]["data"] == {"error": "rtsp://***@cam/x failed"}
    store.add([ev("c") for _ in range(250)])
    assert store.count() <= 110  # trimmed to the newest 100 every 10 inserts
    store.max_age_s = 0.0
    store.trim()
    assert store.count() == 0
    store.close()
    # The file persists across restarts.
    again = EventStore(tmp_path / "e.sqlite")
    again.add([ev("z")])
    assert again.count() == 1
    again.close()


class _Receiver(BaseHTTPRequestHandler):
    fail_first = 2
    calls: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).calls.append((dict(self.headers), body))
        code = 500 if len(self.calls) <= self.fail_first else 204
        self.send_response(code)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def test_webhook_signs_retries_and_delivers() -> None:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_port}/hook"
        sink = WebhookSink([WebhookTarget(url=url, secret="s3cret")], backoff_s=0.05)
        sink.start()
        sink.publish(ev("a", "person", error="rtsp://admin:pw@10.0.0.1/x"))
        sink.close()
        assert sink.delivered == 1 and sink.failed == 0
        assert len(_Receiver.calls) == 3  # two 500s, then accepted
        headers, body = _Receiver.calls[-1]
        ts = headers[TIMESTAMP_HEADER]
        want = "sha256=" + hmac.new(b"s3cret", ts.encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers[SIGNATURE_HEADER], want)
        doc = json.loads(body)
        assert doc["type"] == "event" and doc["kind"] == "person"
        assert "pw@" not in body.decode()
    finally:
        srv.shutdown()
        srv.server_close()


def test_webhook_gives_up_on_a_dead_receiver() -> None:
    sink = WebhookSink([WebhookTarget(url="http://127.0.0.1:9/x")], attempts=2, backoff_s=0.01,
                       timeout_s=1)
    sink.start()
    sink.publish(ev())
    sink.close()
    assert sink.failed == 1 and sink.delivered == 0


def test_mask_text_and_allowlist() -> None:
    assert mask_text("rtsp://admin:pa:ss@10.0.0.1:554/live") == "rtsp://***@10.0.0.1:554/live"
    assert mask_text("open http://u@h/x?token=abc&fps=5 failed") == \
        "open http://***@h/x?token=***&fps=5 failed"
    assert mask_text("synthetic://?size=1x1") == "synthetic://?size=1x1"
    allow = SourceAllowlist(["rtsp://10.0.0.*/*", "synthetic://*"])
    allow.check("rtsp://admin:pw@10.0.0.7/live")  # credentials do not affect matching
    allow.check("synthetic://?fps=5")
    for bad in ("rtsp://10.0.1.7/live", "file:///etc/passwd", "http://169.254.169.254/"):
        with pytest.raises(SourceNotAllowed, match="--allow-source"):
            allow.check(bad)
    with pytest.raises(SourceNotAllowed) as ei:
        SourceAllowlist([]).check("rtsp://u:secretpw@cam/x")
    assert "secretpw" not in str(ei.value)


def test_log_filter_masks_records() -> None:
    rec = logging.LogRecord("x", logging.ERROR, __file__, 1, "open %s failed", ("rtsp://a:b@c/d",),
                            None)
    MaskingFilter().filter(rec)
    assert rec.getMessage() == "open rtsp://***@c/d failed"
