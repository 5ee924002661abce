"""Run the server inside another program (tests, benchmarks, notebooks): uvicorn on its own
thread, on a free loopback port unless told otherwise, stopped with the same graceful
shutdown as SIGTERM."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from vlmstream.server.app import ServerState, create_app
from vlmstream.server.settings import ServerSettings


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class ServerThread:
    def __init__(self, settings: ServerSettings) -> None:
        if settings.port == 0:
            settings = settings.model_copy(update={"port": free_port(settings.host)})
        self.settings = settings
        self.app = create_app(settings)
        self.state: ServerState = self.app.state.vlm
        cfg = uvicorn.Config(self.app, host=settings.host, port=settings.port,
                             log_level="warning", timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(cfg)
        self._thread = threading.Thread(target=self._server.run, name="vlmstream-server",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def start(self, timeout: float = 30.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
