"""The gRPC results service (proto/vlmstream.proto), on the server's own event loop.

Stubs in ``grpcgen/`` are generated from the .proto and committed (see the .proto header
for the command; a test checks they match)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from vlmstream.server.auth import AuthError, TokenAuth
from vlmstream.server.grpcgen import vlmstream_pb2 as pb
from vlmstream.server.grpcgen import vlmstream_pb2_grpc as pb_grpc
from vlmstream.server.hub import Lagged, ResultHub


def result_message(d: dict[str, Any], text: str) -> pb.Result:
    """A protobuf Result from the result dict every client gets."""
    boxes = []
    for b in d.get("boxes", ()):
        x1, y1, x2, y2 = b["xyxy"]
        boxes.append(pb.Box(x1=x1, y1=y1, x2=x2, y2=y2, score=b.get("score", 0.0),
                            label=b.get("label") or "", class_id=b.get("class_id"),
                            track_id=b.get("track_id")))
    events = [pb.Event(stream_id=e["stream_id"], kind=e["kind"], state=e["state"],
                       start_ts=e["start_ts"], end_ts=e.get("end_ts"),
                       data_json=json.dumps(e["data"]) if e.get("data") else "")
              for e in d.get("events", ())]
    return pb.Result(
        stream_id=d["stream_id"], seq=d["seq"], pts=d.get("pts"), capture_ts=d.get("capture_ts"),
        arrival_ts=d["arrival_ts"], task=d["task"], backend=d["backend"], width=d["width"],
        height=d["height"], label=d.get("label") or "", score=d.get("score"),
        scores=d.get("scores") or {}, boxes=boxes, text=d.get("text") or "", events=events,
        degraded=d.get("degraded", False), latency_ms=d.get("latency_ms"), json=text)


class ResultsService(pb_grpc.ResultsServicer):
    def __init__(self, hub: ResultHub, auth: TokenAuth,
                 list_streams: Callable[[], list[dict[str, Any]]]) -> None:
        self.hub = hub
        self.auth = auth
        self.list_streams = list_streams

    async def _check(self, context: grpc.aio.ServicerContext) -> None:
        md = {k.lower(): v for k, v in (context.invocation_metadata() or ())}
        try:
            self.auth.check(md.get("authorization"))
        except AuthError as e:
            code = (grpc.StatusCode.UNAUTHENTICATED if e.status == 401
                    else grpc.StatusCode.PERMISSION_DENIED)
            await context.abort(code, e.message)

    async def Subscribe(self, request: pb.SubscribeRequest,  # noqa: N802 - gRPC name
                        context: grpc.aio.ServicerContext) -> AsyncIterator[pb.ResultMessage]:
        await self._check(context)
        sub = self.hub.subscribe(request.stream_id or None)
        try:
            while (msg := await sub.next()) is not None:
                if isinstance(msg, Lagged):
                    yield pb.ResultMessage(lagged=pb.Lagged(skipped=msg.skipped))
                else:
                    yield pb.ResultMessage(result=result_message(msg.data, msg.text))
        finally:
            self.hub.unsubscribe(sub)

    async def ListStreams(self, request: pb.ListStreamsRequest,  # noqa: N802
                          context: grpc.aio.ServicerContext) -> pb.ListStreamsResponse:
        await self._check(context)
        return pb.ListStreamsResponse(streams=[
            pb.StreamInfo(id=s["id"], source=s["source"], state=s["state"], task=s["task"],
                          backend=s["backend"], target_fps=s["target_fps"], fps=s["fps"])
            for s in self.list_streams()])


async def start_grpc(host: str, port: int, service: ResultsService) -> tuple[grpc.aio.Server, int]:
    """Start serving on ``host:port`` (0 picks a free port); returns the server and port."""
    server = grpc.aio.server()
    pb_grpc.add_ResultsServicer_to_server(service, server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"gRPC could not listen on {host}:{port}; pick another --grpc-port")
    await server.start()
    return server, bound
