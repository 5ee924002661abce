"""`vlmstream serve`: the stream management API, live results (WebSocket, gRPC), events,
Prometheus metrics and the dashboard, around one running Pipeline.

Nothing here is imported eagerly: the `vlmstream` command registers `serve` without needing
the `server` extra, and says which extra to install when it is missing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ServerSettings", "ServerState", "create_app"]


def __getattr__(name: str) -> Any:
    if name in ("ServerState", "create_app"):
        from vlmstream.server import app

        return getattr(app, name)
    if name == "ServerSettings":
        from vlmstream.server.settings import ServerSettings

        return ServerSettings
    raise AttributeError(name)
