"""`vlmstream serve`: the stream management API, live results (WebSocket, gRPC), events,
Prometheus metrics and the dashboard, around one running Pipeline."""

from vlmstream.server.app import ServerState, create_app
from vlmstream.server.settings import ServerSettings

__all__ = ["ServerSettings", "ServerState", "create_app"]
