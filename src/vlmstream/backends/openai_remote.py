"""Any OpenAI-compatible chat-completions server with image input (vLLM, SGLang, Ollama,
llama.cpp server, hosted APIs) as a backend.

The images of one batch are sent as concurrent requests (bounded), each as a base64 JPEG data
URL. Transient failures (429, 5xx, timeouts) are retried with exponential backoff; a server
that stays overloaded or silent raises BackendOverloaded so the scheduler can fall back
instead of stalling every stream behind it.
"""

from __future__ import annotations

import base64
import json
import os
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2
import numpy as np

from vlmstream.backends import _hf
from vlmstream.backends.base import (
    BackendError,
    BackendOverloaded,
    Task,
    register,
    require_task_inputs,
)
from vlmstream.backends.hf_vlm import DEFAULT_PROMPTS, OnToken, parse_label
from vlmstream.frames import Output

CHOICE_MODES = ("prompt", "guided_choice", "structured_outputs")
_RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
_OVERLOAD_STATUS = frozenset({429, 503})


class _Retryable(Exception):
    """A failure worth another try; ``overload`` says whether it means the server is busy."""

    def __init__(self, message: str, overload: bool) -> None:
        super().__init__(message)
        self.overload = overload


class OpenAIBackend:
    """Options (strings accepted): ``model`` (the server's model name), ``base_url``
    (default ``$OPENAI_BASE_URL``), ``api_key`` (default ``$OPENAI_API_KEY``; never logged),
    ``max_batch``, ``concurrency`` (requests in flight per batch, 4), ``timeout`` (seconds per
    request, 30), ``retries`` (3), ``backoff`` (first retry delay in s, 0.5, doubling),
    ``max_tokens`` (64), ``stream`` (token streaming over SSE; on by default when an
    ``on_token`` hook is given), ``stop`` (``|``-separated), ``choice`` (classify: ``prompt``,
    or the server's constrained decoding: ``guided_choice`` for vLLM < 0.10 and compatible
    servers, ``structured_outputs`` for newer vLLM), ``image_size`` (short side sent, 768),
    ``jpeg_quality`` (85)."""

    name = "openai"
    tasks = frozenset({"classify", "caption", "ask"})

    def __init__(self, *, model: str = "", base_url: str | None = None,
                 api_key: str | None = None, max_batch: int | str = 8,
                 concurrency: int | str = 4, timeout: float | str = 30.0,
                 retries: int | str = 3, backoff: float | str = 0.5,
                 max_tokens: int | str = 64, stream: bool | str | None = None,
                 stop: str | Sequence[str] | None = None, choice: str = "prompt",
                 image_size: int | str = 768, jpeg_quality: int | str = 85,
                 on_token: OnToken | None = None, **_: object) -> None:
        try:
            import httpx
        except ImportError as e:
            raise BackendError("the openai backend needs httpx: pip install 'vlmstream[openai]'"
                               ) from e
        self._httpx = httpx
        url = base_url or os.environ.get("OPENAI_BASE_URL", "")
        if not url:
            raise BackendError("no server given: pass base_url=http://host:port/v1 or set "
                               "OPENAI_BASE_URL")
        if not model:
            raise BackendError("no model given: pass model=<the name the server serves>")
        if choice not in CHOICE_MODES:
            raise BackendError(f"choice must be one of {', '.join(CHOICE_MODES)}, got {choice!r}")
        self.model = model
        self.base_url = url.rstrip("/")
        self.max_batch = _hf.as_int(max_batch, "max_batch")
        self.concurrency = max(1, _hf.as_int(concurrency, "concurrency"))
        self.timeout = float(timeout)
        self.retries = _hf.as_int(retries, "retries")
        self.backoff = float(backoff)
        self.max_tokens = _hf.as_int(max_tokens, "max_tokens")
        self.stream = None if stream in (None, "") else _hf.as_bool(stream)
        self.stop = [s for s in stop.split("|") if s] if isinstance(stop, str) else list(stop or [])
        self.choice = choice
        self.image_size = _hf.as_int(image_size, "image_size")
        self.jpeg_quality = _hf.as_int(jpeg_quality, "jpeg_quality")
        self.on_token = on_token
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(
            base_url=self.base_url, headers=headers,
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
            limits=httpx.Limits(max_connections=self.concurrency))
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="openai")

    def __repr__(self) -> str:  # the key lives only inside the client's headers
        return f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r})"

    validate = staticmethod(require_task_inputs)  # checked when a stream is added

    def infer(self, images: Sequence[np.ndarray], task: Task,
              previous: Sequence[np.ndarray | None] | None = None) -> list[Output]:
        if task.kind not in self.tasks:
            raise BackendError(f"openai backend does not do task {task.kind!r}; it does: "
                               f"{', '.join(sorted(self.tasks))}")
        require_task_inputs(task)
        futures = [self._pool.submit(self._one, i, img, task) for i, img in enumerate(images)]
        return [f.result() for f in futures]

    def _one(self, index: int, image: np.ndarray, task: Task) -> Output:
        body = self._body(image, task)
        on_token = task.options.get("on_token", self.on_token)
        stream = self.stream if self.stream is not None else on_token is not None
        text = self._request(body, index, on_token if stream else None, stream)
        if task.kind != "classify":
            return Output(text=text)
        label = parse_label(text, task.labels)
        return Output(label=label, score=1.0 if label != "unknown" else 0.0, text=text)

    def _body(self, image: np.ndarray, task: Task) -> dict[str, Any]:
        if task.kind == "classify":
            labels = ", ".join(task.labels)
            prompt = (task.prompt or DEFAULT_PROMPTS["classify"]).replace("{labels}", labels)
            prompt += f"\nReply with exactly one of: {labels}. No other words."
        else:
            prompt = task.prompt or DEFAULT_PROMPTS["caption"]
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": self.data_url(image)}},
                {"type": "text", "text": prompt}]}],
            "max_tokens": int(task.options.get("max_tokens", self.max_tokens)),
            "temperature": 0,
        }
        if self.stop:
            body["stop"] = self.stop
        if task.kind == "classify":
            if self.choice == "guided_choice":
                body["guided_choice"] = list(task.labels)
            elif self.choice == "structured_outputs":
                body["structured_outputs"] = {"choice": list(task.labels)}
        return body

    def data_url(self, image: np.ndarray) -> str:
        small = _hf.shrink(image, self.image_size)
        ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise BackendError("could not encode the frame as JPEG")
        return "data:image/jpeg;base64," + base64.b64encode(jpg.tobytes()).decode("ascii")

    def _request(self, body: dict[str, Any], index: int, on_token: OnToken | None,
                 stream: bool) -> str:
        """POST with retries; only a request that has streamed nothing yet is retried."""
        last: _Retryable | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                delay = self.backoff * 2 ** (attempt - 1)
                time.sleep(delay * (0.8 + 0.4 * random.random()))
            try:
                if stream:
                    return self._post_stream(body, index, on_token)
                return self._post(body)
            except _Retryable as e:
                last = e
        assert last is not None
        msg = f"{self.base_url} failed {self.retries + 1} times: {last}"
        if last.overload:
            raise BackendOverloaded(msg)
        raise BackendError(msg)

    def _post(self, body: dict[str, Any]) -> str:
        httpx = self._httpx
        try:
            r = self._client.post("/chat/completions", json=body)
        except httpx.TimeoutException as e:
            raise _Retryable(f"timed out after {self.timeout:g} s ({type(e).__name__})",
                             overload=True) from e
        except httpx.TransportError as e:
            raise _Retryable(f"cannot reach the server ({e})", overload=False) from e
        self._check(r.status_code, r.text)
        try:
            return r.json()["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise BackendError(f"{self.base_url} answered something that is not a chat "
                               f"completion: {r.text[:200]!r}") from e

    def _post_stream(self, body: dict[str, Any], index: int, on_token: OnToken | None) -> str:
        httpx = self._httpx
        parts: list[str] = []
        try:
            with self._client.stream("POST", "/chat/completions",
                                     json={**body, "stream": True}) as r:
                if r.status_code >= 400:
                    r.read()
                    self._check(r.status_code, r.text)
                for line in r.iter_lines():
                    if not line.startswith("data:"):
                        continue  # SSE comments, event names, keep-alives
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    piece = _delta(data)
                    if piece:
                        parts.append(piece)
                        if on_token is not None:
                            on_token(index, piece)
        except httpx.TimeoutException as e:
            if parts:
                raise BackendOverloaded(f"{self.base_url} stalled mid-answer") from e
            raise _Retryable(f"timed out after {self.timeout:g} s", overload=True) from e
        except httpx.TransportError as e:
            if parts:
                raise BackendError(f"{self.base_url} dropped the stream mid-answer: {e}") from e
            raise _Retryable(f"cannot reach the server ({e})", overload=False) from e
        return "".join(parts)

    def _check(self, status: int, text: str) -> None:
        if status < 400:
            return
        detail = text[:300]
        if status in _RETRY_STATUS:
            raise _Retryable(f"HTTP {status}: {detail}", overload=status in _OVERLOAD_STATUS)
        raise BackendError(f"{self.base_url} refused the request: HTTP {status}: {detail}")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()


def _delta(data: str) -> str:
    try:
        choices = json.loads(data)["choices"]
        # The last chunk may carry only usage, with no choices.
        return (choices[0].get("delta") or {}).get("content") or "" if choices else ""
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BackendError(f"unreadable stream event from the server: {data[:200]!r}") from None


@register("openai")
def _make(**options: object) -> OpenAIBackend:
    return OpenAIBackend(**options)  # type: ignore[arg-type]
