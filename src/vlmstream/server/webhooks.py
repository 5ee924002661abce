"""Events to HTTP endpoints: POST JSON, signed with HMAC-SHA256, retried with backoff.

Signature: ``X-Vlmstream-Signature: sha256=HEX`` where HEX is HMAC-SHA256(secret,
``TIMESTAMP + "." + BODY``) and TIMESTAMP is the ``X-Vlmstream-Timestamp`` header (unix
seconds), so a receiver can reject replays. Delivery runs on the sink's own thread: a slow or
dead receiver costs dropped webhook events (counted), never pipeline time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import httpx

from vlmstream.frames import Event, Result
from vlmstream.server.security import mask_text
from vlmstream.server.settings import WebhookTarget
from vlmstream.sinks.base import Sink

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Vlmstream-Signature"
TIMESTAMP_HEADER = "X-Vlmstream-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookSink(Sink):
    name = "webhooks"

    def __init__(self, targets: list[WebhookTarget], *, attempts: int = 4,
                 backoff_s: float = 0.5, timeout_s: float = 5.0) -> None:
        super().__init__(queue_size=1000)
        self.targets = targets
        self.attempts = attempts
        self.backoff_s = backoff_s
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)
        self.delivered = 0
        self.failed = 0

    def write(self, result: Result) -> None:
        for e in result.events:
            self.write_event(e)

    def write_event(self, event: Event) -> None:
        body = mask_text(json.dumps({"type": "event", **event.to_dict()},
                                    separators=(",", ":"))).encode()
        for t in self.targets:
            if self._deliver(t, body):
                self.delivered += 1
            else:
                self.failed += 1

    def _deliver(self, target: WebhookTarget, body: bytes) -> bool:
        url = str(target.url)
        err = ""
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            ts = str(int(time.time()))
            headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: ts}
            if target.secret:
                headers[SIGNATURE_HEADER] = sign(target.secret, ts, body)
            try:
                r = self._client.post(url, content=body, headers=headers)
            except httpx.HTTPError as e:
                err = f"{type(e).__name__}: {e}"
                continue
            if r.status_code < 300:
                return True
            err = f"HTTP {r.status_code}"
            if r.status_code < 500 and r.status_code not in (408, 429):
                break  # the receiver refuses this event; retrying will not help
        log.warning("webhook %s: event not delivered after %d attempt(s): %s",
                    mask_text(url), attempt + 1, err)
        return False

    def finish(self) -> None:
        self._client.close()
