"""The openai backend against a small OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest

pytest.importorskip("httpx")

from vlmstream.backends import create  # noqa: E402
from vlmstream.backends.base import BackendError, BackendOverloaded, Task  # noqa: E402

pytestmark = pytest.mark.timeout(30)


class FakeServer:
    """Speaks /v1/chat/completions. The request's model name picks the behaviour."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.calls: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(body)
                    server.headers.append(dict(self.headers))
                    n = server.calls[body["model"]] = server.calls.get(body["model"], 0) + 1
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    server.respond(self, body, n)
                finally:
                    with server.lock:
                        server.in_flight -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def respond(self, h: BaseHTTPRequestHandler, body: dict, n: int) -> None:
        model = body["model"]
        if model == "flaky" and n == 1:
            return self.send(h, 500, {"error": "try again"})
        if model == "busy":
            return self.send(h, 429, {"error": "rate limited"})
        if model == "bad":
            return self.send(h, 400, {"error": "unknown model"})
        if model == "slow":
            time.sleep(1.0)
        if model == "wide":
            time.sleep(0.15)
        choices = body.get("guided_choice") or body.get("structured_outputs", {}).get("choice")
        answer = choices[-1] if choices else "It is a Dog."
        if body.get("stream"):
            h.send_response(200)
            h.send_header("Content-Type", "text/event-stream")
            h.end_headers()
            h.wfile.write(b": keep-alive\n\n")
            for piece in ["a ", "red ", "car"]:
                chunk = {"choices": [{"index": 0, "delta": {"content": piece}}]}
                h.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                h.wfile.flush()
            h.wfile.write(b'data: {"choices": [], "usage": {"completion_tokens": 3}}\n\n')
            h.wfile.write(b"data: [DONE]\n\n")
            return None
        return self.send(h, 200, {"choices": [{"index": 0, "message": {
            "role": "assistant", "content": answer}, "finish_reason": "stop"}]})

    @staticmethod
    def send(h: BaseHTTPRequestHandler, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)


@pytest.fixture()
def server():
    s = FakeServer()
    s.thread.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def _images(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.integers(0, 256, (60, 80, 3), dtype=np.uint8) for _ in range(n)]


def _backend(server: FakeServer, model: str, **opts: object):
    return create("openai", model=model, base_url=server.url, api_key="sk-secret",
                  backoff="0.01", **opts)


def test_classify_sends_jpeg_and_validates_the_answer(server):
    b = _backend(server, "echo")
    outs = b.infer(_images(2), Task("classify", labels=("cat", "dog")))
    assert [o.label for o in outs] == ["dog", "dog"]
    assert outs[0].text == "It is a Dog."
    req = server.requests[0]
    url = req["messages"][0]["content"][0]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    jpg = cv2.imdecode(np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8),
                       cv2.IMREAD_COLOR)
    assert jpg.shape == (60, 80, 3)
    assert "cat, dog" in req["messages"][0]["content"][1]["text"]
    assert req["temperature"] == 0
    assert server.headers[0]["Authorization"] == "Bearer sk-secret"
    assert "sk-secret" not in repr(b)
    b.close()


@pytest.mark.parametrize("choice,key", [("guided_choice", "guided_choice"),
                                        ("structured_outputs", "structured_outputs")])
def test_structured_choice_options(server, choice, key):
    b = _backend(server, "echo", choice=choice)
    out = b.infer(_images(1), Task("classify", labels=("cat", "red car")))[0]
    assert out.label == "red car"
    sent = server.requests[0][key]
    assert (sent if choice == "guided_choice" else sent["choice"]) == ["cat", "red car"]
    b.close()


def test_unmatched_answer_is_unknown(server):
    b = _backend(server, "echo")
    assert b.infer(_images(1), Task("classify", labels=("bus", "tree")))[0].label == "unknown"
    b.close()


def test_streaming_calls_on_token_per_image(server):
    got: list[tuple[int, str]] = []
    lock = threading.Lock()

    def on_token(i: int, piece: str) -> None:
        with lock:
            got.append((i, piece))

    b = _backend(server, "echo")
    outs = b.infer(_images(2), Task("caption", options={"on_token": on_token}))
    assert [o.text for o in outs] == ["a red car", "a red car"]
    assert all(r.get("stream") for r in server.requests)
    for i in (0, 1):
        assert "".join(p for j, p in got if j == i) == "a red car"
    b.close()


def test_500_then_success_is_retried(server):
    b = _backend(server, "flaky")
    assert b.infer(_images(1), Task("ask", prompt="what?"))[0].text == "It is a Dog."
    assert server.calls["flaky"] == 2
    b.close()


def test_persistent_timeout_raises_overloaded(server):
    b = _backend(server, "slow", timeout="0.2", retries="1")
    t0 = time.monotonic()
    with pytest.raises(BackendOverloaded, match="timed out"):
        b.infer(_images(1), Task("caption"))
    assert time.monotonic() - t0 < 3
    assert server.calls["slow"] == 2
    b.close()


def test_rate_limit_is_overload_and_client_error_is_not_retried(server):
    b = _backend(server, "busy", retries="2")
    with pytest.raises(BackendOverloaded, match="429"):
        b.infer(_images(1), Task("caption"))
    assert server.calls["busy"] == 3
    bad = _backend(server, "bad")
    with pytest.raises(BackendError, match="HTTP 400") as e:
        bad.infer(_images(1), Task("caption"))
    assert not isinstance(e.value, BackendOverloaded)
    assert server.calls["bad"] == 1
    b.close()
    bad.close()


def test_concurrency_is_bounded(server):
    b = _backend(server, "wide", concurrency="2")
    outs = b.infer(_images(5), Task("caption"))
    assert len(outs) == 5
    assert server.max_in_flight == 2
    b.close()


def test_configuration_errors(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(BackendError, match="OPENAI_BASE_URL"):
        create("openai", model="m")
    with pytest.raises(BackendError, match="choice"):
        create("openai", model="m", base_url="http://127.0.0.1:9/v1", choice="regex")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    b = create("openai", model="m", retries="0", timeout="2")
    with pytest.raises(BackendError, match="cannot reach"):
        b.infer(_images(1), Task("caption"))
    b.close()
