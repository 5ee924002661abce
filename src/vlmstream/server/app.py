"""The FastAPI app: streams managed at runtime, live results out, events, metrics, dashboard.

One ``ServerState`` owns the running Pipeline and everything around it; the app's lifespan
starts it (on the server's event loop) and, on shutdown (SIGTERM), tells live clients the
server is going, stops the gRPC service, drains the pipeline and flushes every sink.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.websockets import WebSocketDisconnect

from vlmstream.backends import BackendError
from vlmstream.config import StreamConfig
from vlmstream.pipeline import Pipeline, StreamHandle
from vlmstream.server.auth import TokenAuth, exposure_warning
from vlmstream.server.hub import Lagged, ResultHub, Subscriber
from vlmstream.server.prom import PipelineCollector, PromMetrics
from vlmstream.server.schemas import ErrorBody, Health, StreamStatus
from vlmstream.server.security import (
    SourceAllowlist,
    SourceNotAllowed,
    install_log_masking,
    mask_text,
)
from vlmstream.server.settings import ServerSettings
from vlmstream.server.store import EventStore, EventStoreSink
from vlmstream.server.webhooks import WebhookSink
from vlmstream.sinks.base import Sink
from vlmstream.sinks.jsonl import JsonlSink
from vlmstream.sources import create_source
from vlmstream.sources.base import SourceError

log = logging.getLogger(__name__)

_SECRET_KEY = re.compile(r"(?i)(key|token|secret|pass|auth|cred)")


class StreamRejected(Exception):
    """A stream cannot be added as asked; ``status`` is the HTTP code, ``str()`` the reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ServerState:
    """The running pipeline plus the hub, store and metrics the API reads."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.auth = TokenAuth(tuple(settings.tokens))
        self.allowlist = SourceAllowlist(settings.allow_sources)
        self.registry = CollectorRegistry()
        self.metrics = PromMetrics(self.registry)
        self.hub = ResultHub(recent=settings.recent, queue_size=settings.ws_queue,
                             thumb_fps=settings.thumb_fps, thumb_width=settings.thumb_width)
        self.store = (EventStore(settings.db, max_age_s=settings.retention_days * 86400.0,
                                 max_events=settings.retention_max_events)
                      if settings.db is not None else None)
        sinks: list[Sink] = []
        if self.store is not None:
            sinks.append(EventStoreSink(self.store))
        if settings.webhooks:
            sinks.append(WebhookSink(settings.webhooks))
        if settings.jsonl is not None:
            sinks.append(JsonlSink(settings.jsonl))
        self.pipeline = Pipeline(sinks, temporal=settings.temporal, metrics=self.metrics,
                                 anonymize=settings.anonymize)
        self.pipeline.subscribe(self.hub.publish, images=True)
        self.registry.register(PipelineCollector(self.pipeline, self.hub))
        self._mutate = threading.Lock()
        self.started_at = time.time()
        self.grpc_port: int | None = None

    # -- streams --------------------------------------------------------------------------
    def _resolve(self, cfg: StreamConfig, stream_id: str | None = None) -> StreamConfig:
        """Fill id/task/backend defaults; check the allowlist and the source's options."""
        try:
            self.allowlist.check(cfg.source)
        except SourceNotAllowed as e:
            raise StreamRejected(403, str(e)) from None
        try:
            create_source(cfg.source, realtime=cfg.realtime, loop=cfg.loop,
                          size=cfg.size).close()
        except SourceError as e:
            raise StreamRejected(422, f"source: {mask_text(str(e))}") from None
        except (TypeError, ValueError) as e:
            raise StreamRejected(422, f"source: {mask_text(str(e))}") from None
        sid = stream_id or cfg.id or self._new_id()
        return cfg.model_copy(update={"id": sid, "task": cfg.task or self.settings.task,
                                      "backend": cfg.backend or self.settings.backend})

    def _new_id(self) -> str:
        n = len(self.pipeline.streams)
        while f"s{n}" in self.pipeline.streams:
            n += 1
        return f"s{n}"

    def add(self, cfg: StreamConfig) -> StreamHandle:
        with self._mutate:
            if cfg.id is not None and cfg.id in self.pipeline.streams:
                raise StreamRejected(409, f"stream id {cfg.id!r} already exists; remove it "
                                          "first or PUT /api/streams/{id} to change it")
            cfg = self._resolve(cfg)
            try:
                h = self.pipeline.add_stream(cfg)
            except BackendError as e:
                raise StreamRejected(422, f"backend: {mask_text(str(e))}") from None
        log.info("stream %s added: %s", h.id, mask_text(cfg.source))
        return h

    def replace(self, stream_id: str, cfg: StreamConfig) -> StreamHandle:
        """Restart one stream with a new configuration (the others go on untouched)."""
        if cfg.id is not None and cfg.id != stream_id:
            raise StreamRejected(422, f"body id {cfg.id!r} differs from the URL's "
                                      f"{stream_id!r}; leave id out or make them equal")
        with self._mutate:
            old = self.pipeline.streams.get(stream_id)
            if old is None:
                raise StreamRejected(404, f"no stream {stream_id!r}")
            new = self._resolve(cfg, stream_id)
            self._remove(stream_id)
            try:
                h = self.pipeline.add_stream(new)
            except BackendError as e:
                self.pipeline.add_stream(old.config)  # the old configuration goes on
                raise StreamRejected(422, f"backend: {mask_text(str(e))}") from None
        log.info("stream %s updated: %s", stream_id, mask_text(new.source))
        return h

    def remove(self, stream_id: str) -> bool:
        with self._mutate:
            ok = self._remove(stream_id)
        if ok:
            log.info("stream %s removed", stream_id)
        return ok

    def _remove(self, stream_id: str) -> bool:
        ok = self.pipeline.remove_stream(stream_id)
        self.hub.forget(stream_id)
        self.metrics.forget(stream_id)
        return ok

    def status(self, h: StreamHandle) -> StreamStatus:
        st = h.status(self.metrics)
        cfg = h.config.model_copy(update={"source": mask_text(h.config.source)})
        if cfg.backend is not None and cfg.backend.options:
            opts = {k: "***" if _SECRET_KEY.search(k) else v
                    for k, v in cfg.backend.options.items()}
            cfg = cfg.model_copy(update={"backend": cfg.backend.model_copy(
                update={"options": opts})})
        recent = [r["latency_ms"] for r in self.hub.recent(h.id, 60)
                  if r.get("latency_ms") is not None]
        return StreamStatus(
            id=h.id, config=cfg, state=st["state"],
            last_error=None if st["last_error"] is None else mask_text(st["last_error"]),
            target_fps=st["target_fps"], fps=st["fps"], fps_recent=st["fps_recent"],
            effective_fps=st["effective_fps"], degraded=st["degraded"],
            buffered=st["buffered"], results=st["results"], frames_in=st["frames_in"],
            analysed=st["analysed"], dropped=st["dropped"], dropped_total=st["dropped_total"],
            latency_ms=st["e2e_ms"], latency_recent_ms=recent, source_info=st["source"])

    def list_brief(self) -> list[dict[str, Any]]:
        """For gRPC ListStreams."""
        out = []
        for h in list(self.pipeline.streams.values()):
            c = h.config
            out.append({"id": h.id, "source": mask_text(c.source), "state": h.ingest.state.value,
                        "task": c.task.kind if c.task else "",
                        "backend": c.backend.name if c.backend else "", "target_fps": c.fps,
                        "fps": self.metrics.stream_summary(h.id)["fps_recent"]})
        return out

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self.pipeline.start()
        for s in self.settings.streams:
            self.add(s)

    def shutdown(self) -> None:
        """Drain the pipeline and flush every sink (blocking; run off the event loop)."""
        self.hub.close()
        self.pipeline.stop(drain=True)
        if self.store is not None:
            self.store.close()
        log.info("pipeline drained, sinks flushed")


def _validation_message(errors: list[Any]) -> str:
    parts = []
    for e in errors:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "body"
        msg = e.get("msg", "invalid")
        if e.get("type") == "extra_forbidden":
            msg = "unknown field (check the spelling; see /docs for the fields)"
        parts.append(f"{loc}: {msg}")
    return "invalid request: " + "; ".join(parts)


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    state = ServerState(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        state.hub.bind(loop)
        install_log_masking()
        warning = exposure_warning(settings.host, state.auth)
        if warning:
            log.warning("%s\n%s\n%s", "!" * 78, warning, "!" * 78)
        await loop.run_in_executor(None, state.start)
        grpc_server = None
        if settings.grpc_port is not None:
            from vlmstream.server.grpc_service import ResultsService, start_grpc

            grpc_server, state.grpc_port = await start_grpc(
                settings.host, settings.grpc_port,
                ResultsService(state.hub, state.auth, state.list_brief))
            log.info("gRPC results service on %s:%d", settings.host, state.grpc_port)
        try:
            yield
        finally:
            log.info("shutting down: closing live clients, draining the pipeline")
            state.hub.close()
            if grpc_server is not None:
                await grpc_server.stop(grace=2.0)
            await loop.run_in_executor(None, state.shutdown)

    app = FastAPI(title="vlmstream", version="0.1.0", lifespan=lifespan,
                  description="Manage live video streams and read their analysis results. "
                              "Live results: WebSocket /api/ws (all streams) and "
                              "/api/streams/{id}/ws; gRPC service in proto/vlmstream.proto.")
    app.state.vlm = state
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST", "PUT", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        return JSONResponse(status_code=422, content={
            "message": _validation_message(list(errors)),
            "detail": [{"loc": list(e.get("loc", ())), "msg": e.get("msg"),
                        "type": e.get("type")} for e in errors]})

    @app.exception_handler(StreamRejected)
    async def _rejected(_: Request, exc: StreamRejected) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content={"detail": str(exc)})

    errors: dict[int | str, dict[str, Any]] = {
        401: {"model": ErrorBody, "description": "no API token"},
        403: {"model": ErrorBody, "description": "API token (or source) not accepted"},
    }
    api = APIRouter(prefix="/api", dependencies=[Depends(state.auth.http)], responses=errors)

    def handle(stream_id: str) -> StreamHandle:
        h = state.pipeline.streams.get(stream_id)
        if h is None:
            raise HTTPException(404, f"no stream {stream_id!r}; GET /api/streams lists them")
        return h

    @api.get("/streams", response_model=list[StreamStatus], tags=["streams"])
    def list_streams() -> list[StreamStatus]:
        """Every stream with its state, FPS, latency percentiles and drops."""
        return [state.status(h) for h in list(state.pipeline.streams.values())]

    @api.post("/streams", response_model=StreamStatus, status_code=201, tags=["streams"],
              responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}})
    def add_stream(cfg: StreamConfig) -> StreamStatus:
        """Start analysing a stream. Unset task/backend use the server's defaults; the source
        must match the server's allowlist."""
        return state.status(state.add(cfg))

    @api.get("/streams/{stream_id}", response_model=StreamStatus, tags=["streams"],
             responses={404: {"model": ErrorBody}})
    def get_stream(stream_id: str) -> StreamStatus:
        return state.status(handle(stream_id))

    @api.put("/streams/{stream_id}", response_model=StreamStatus, tags=["streams"],
             responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
    def update_stream(stream_id: str, cfg: StreamConfig) -> StreamStatus:
        """Replace a stream's configuration; only this stream restarts."""
        return state.status(state.replace(stream_id, cfg))

    @api.delete("/streams/{stream_id}", status_code=204, tags=["streams"],
                responses={404: {"model": ErrorBody}})
    def remove_stream(stream_id: str) -> Response:
        if not state.remove(stream_id):
            raise HTTPException(404, f"no stream {stream_id!r}")
        return Response(status_code=204)

    @api.get("/streams/{stream_id}/results", tags=["results"],
             responses={404: {"model": ErrorBody}})
    def recent_results(stream_id: str,
                       limit: Annotated[int, Query(ge=1, le=10_000)] = 20) -> list[dict[str, Any]]:
        """The stream's most recent results, oldest first (same JSON as the WebSocket)."""
        handle(stream_id)
        return state.hub.recent(stream_id, limit)

    @api.get("/streams/{stream_id}/thumbnail.jpg", tags=["results"],
             responses={200: {"content": {"image/jpeg": {}}}, 404: {"model": ErrorBody}},
             response_class=Response)
    def thumbnail(stream_id: str) -> Response:
        """The latest analysed picture (JPEG, downscaled); ``X-Seq`` names its result."""
        handle(stream_id)
        t = state.hub.thumbnail(stream_id)
        if t is None:
            raise HTTPException(404, f"stream {stream_id!r} has no analysed picture yet")
        return Response(t[1], media_type="image/jpeg",
                        headers={"X-Seq": str(t[0]), "Cache-Control": "no-store"})

    @api.get("/events", tags=["results"], responses={404: {"model": ErrorBody}})
    def events(stream_id: str | None = None, kind: str | None = None,
               since: Annotated[float | None, Query(description="unix seconds")] = None,
               limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> list[dict[str, Any]]:
        """Stored events, newest first."""
        if state.store is None:
            raise HTTPException(404, "this server keeps no events (started with no --db)")
        return state.store.query(stream_id=stream_id, kind=kind, since=since, limit=limit)

    @api.get("/summary", tags=["metrics"])
    def summary() -> dict[str, Any]:
        """Latency per stage, batch sizes and per-stream counters as one JSON document."""
        return state.pipeline.summary()

    app.include_router(api)

    # WHIP ingest (RFC 9725) for streams whose source is whip:///NAME: a browser, OBS or any
    # WHIP client publishes on the API port; the same bearer tokens apply.
    whip = APIRouter(prefix="/whip", dependencies=[Depends(state.auth.http)], tags=["ingest"],
                     responses=errors)

    @whip.post("/{name}", status_code=201, response_class=Response,
               responses={201: {"content": {"application/sdp": {}}}, 404: {"model": ErrorBody},
                          415: {"model": ErrorBody}})
    async def whip_offer(name: str, request: Request) -> Response:
        """Take a publisher's SDP offer; answer with ours and a Location to DELETE."""
        from vlmstream.sources.webrtc import mounted

        if request.headers.get("content-type", "").split(";")[0].strip() != "application/sdp":
            raise HTTPException(415, "send the SDP offer with Content-Type: application/sdp")
        found = mounted(name)
        if found is None:
            raise HTTPException(404, f"no stream receives WebRTC at /whip/{name}; add a stream "
                                     f"with source whip:///{name} first")
        receiver, loop = found
        offer = (await request.body()).decode("utf-8", "replace")
        try:
            answer = await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(receiver.handle_offer(offer), loop))
        except ValueError as e:
            raise HTTPException(400, str(e)) from None
        return Response(answer, status_code=201, media_type="application/sdp",
                        headers={"Location": f"/whip/{name}/{receiver.session}"})

    @whip.delete("/{name}/{session}", status_code=200, responses={404: {"model": ErrorBody}})
    async def whip_end(name: str, session: str) -> Response:
        """The publisher is done: end its session (the stream waits for the next one)."""
        from vlmstream.sources.webrtc import mounted

        found = mounted(name)
        if found is None or found[0].session != session:
            raise HTTPException(404, f"no WHIP session {session!r} at /whip/{name}")
        receiver, loop = found
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(receiver.close(), loop))
        return Response(status_code=200)

    app.include_router(whip)

    async def pump(ws: WebSocket, sub: Subscriber) -> None:
        """Send results until the client or the server goes; the client's messages are
        ignored, but reading them is how a disconnect is noticed at once."""

        async def watch() -> None:
            try:
                while (await ws.receive())["type"] != "websocket.disconnect":
                    pass
            finally:
                sub.close()

        watcher = asyncio.create_task(watch())
        try:
            while (msg := await sub.next()) is not None:
                if isinstance(msg, Lagged):
                    await ws.send_json({"type": "lagged", "skipped": msg.skipped})
                else:
                    await ws.send_text(msg.text)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            state.hub.unsubscribe(sub)
            watcher.cancel()
        if state.hub.closed:
            try:
                await ws.close(1001, "server shutting down")
            except RuntimeError:
                pass

    async def serve_ws(ws: WebSocket, stream_id: str | None) -> None:
        err = state.auth.websocket(ws)
        if err is not None:  # an HTTP 401/403 where the server can say so, else a close code
            if "websocket.http.response" in ws.scope.get("extensions", {}):
                await ws.send_denial_response(
                    JSONResponse({"detail": err.message}, status_code=err.status))
            else:
                await ws.close(4401 if err.status == 401 else 4403, err.message)
            return
        await ws.accept()
        await pump(ws, state.hub.subscribe(stream_id))

    @app.websocket("/api/ws")
    async def ws_all(ws: WebSocket) -> None:
        await serve_ws(ws, None)

    @app.websocket("/api/streams/{stream_id}/ws")
    async def ws_stream(ws: WebSocket, stream_id: str) -> None:
        await serve_ws(ws, stream_id)

    @app.get("/metrics", tags=["metrics"], response_class=Response,
             responses={200: {"content": {"text/plain": {}}}})
    def metrics() -> Response:
        """Prometheus exposition format."""
        return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", response_model=Health, tags=["metrics"])
    def healthz() -> Health:
        return Health(status="stopping" if state.hub.closed else "ok",
                      streams=len(state.pipeline.streams), live_clients=state.hub.clients,
                      uptime_s=round(time.time() - state.started_at, 3))

    static = resources.files("vlmstream.server") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard")

    @app.get("/dashboard", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(str(static / "index.html"))

    return app
