"""`vlmstream serve`: run the API server (and optional gRPC service) until SIGTERM/Ctrl-C.

Uvicorn owns the signals: the first SIGTERM or SIGINT stops accepting connections, closes
live clients, drains the pipeline and flushes every sink before the process exits.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError


def register(app: typer.Typer) -> None:
    app.command()(serve)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port (API, WebSocket, dashboard).")] = 8080,
    grpc_port: Annotated[int | None, typer.Option(
        help="gRPC results port (0 picks one); off unless given.")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="YAML with server settings (any of the options, and streams).")] = None,
    token: Annotated[list[str] | None, typer.Option(
        help="API token (repeatable); also VLMSTREAM_TOKENS=a,b. None: no auth.")] = None,
    allow_source: Annotated[list[str] | None, typer.Option(
        help="Glob of source URIs streams may use (repeatable), e.g. 'rtsp://10.0.0.*/*'; "
             "default synthetic://* only; '*' allows any.")] = None,
    cors_origin: Annotated[list[str] | None, typer.Option(
        help="Origin allowed to call the API from a browser (repeatable).")] = None,
    db: Annotated[Path | None, typer.Option(help="SQLite event store.")] = None,
    no_db: Annotated[bool, typer.Option("--no-db", help="Keep no events.")] = False,
    retention_days: Annotated[float | None, typer.Option(help="Drop events older than this.")] = None,
    retention_max_events: Annotated[int | None, typer.Option(
        help="Keep at most this many events.")] = None,
    webhook: Annotated[list[str] | None, typer.Option(
        help="POST events to this URL (repeatable).")] = None,
    webhook_secret: Annotated[str | None, typer.Option(
        help="HMAC-SHA256 key for webhook signatures; also VLMSTREAM_WEBHOOK_SECRET.")] = None,
    task: Annotated[str | None, typer.Option(help="Default task for streams.")] = None,
    backend: Annotated[str | None, typer.Option(help="Default backend for streams.")] = None,
    jsonl: Annotated[Path | None, typer.Option(help="Also write every result here.")] = None,
    anonymize: Annotated[bool | None, typer.Option(
        "--anonymize/--no-anonymize", help="Pixelate every person in every picture served.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Serve the stream management API, live results, metrics and the dashboard."""
    from vlmstream.cliutils import fail, setup_logging
    from vlmstream.config import ConfigError, read_yaml

    try:
        import uvicorn

        from vlmstream.server.app import create_app
        from vlmstream.server.settings import ServerSettings
    except ImportError as e:
        raise fail(f"vlmstream serve needs the server extra ({e.name} is missing): "
                   "pip install 'vlmstream[server]'") from None

    setup_logging(verbose)
    try:
        data = read_yaml(config) if config is not None else {}
    except ConfigError as e:
        raise fail(str(e)) from None
    tokens = list(token or []) + [t for t in os.environ.get("VLMSTREAM_TOKENS", "").split(",")
                                  if t.strip()]
    secret = webhook_secret or os.environ.get("VLMSTREAM_WEBHOOK_SECRET")
    cli = {"host": host, "port": port, "grpc_port": grpc_port, "tokens": tokens or None,
           "allow_sources": allow_source, "cors_origins": cors_origin or None,
           "db": db, "retention_days": retention_days,
           "retention_max_events": retention_max_events, "jsonl": jsonl, "anonymize": anonymize,
           "webhooks": [{"url": u, "secret": secret} for u in webhook] if webhook else None,
           "task": {"kind": task} if task else None,
           "backend": {"name": backend} if backend else None}
    data.update({k: v for k, v in cli.items() if v is not None})
    if no_db:
        data["db"] = None
    try:
        settings = ServerSettings.model_validate(data)
    except ValidationError as e:
        msg = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
        raise fail(f"invalid server settings: {msg}") from None
    app = create_app(settings)
    ucfg = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info",
                          timeout_graceful_shutdown=10, ws_ping_interval=20)
    server = uvicorn.Server(ucfg)
    logging.getLogger(__name__).info("dashboard: http://%s:%d/dashboard  API docs: /docs",
                                     settings.host, settings.port)
    server.run()
