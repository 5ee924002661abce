"""WebRTC ingest through WHIP: a publisher (browser, OBS, an aiortc client) POSTs an SDP
offer, we answer, and aiortc receives and decodes the video.

``WhipReceiver`` is the receiving half and knows nothing of HTTP, so any web framework can
mount it (``answer = await receiver.handle_offer(offer)``). ``WhipServer`` is a small aiohttp
endpoint for it, and ``WebRTCSource`` (``whip://HOST:PORT/PATH``) runs both on a thread of
its own and hands pictures to the ingest thread. ``whip:///NAME`` (no host) opens no port of
its own: the receiver is mounted by ``vlmstream serve`` at ``POST /whip/NAME`` on the API port.

aiortc notices a dead peer only after ~30 s (ICE consent), so the ingest watchdog and this
source's read timeout are what detect a publisher that went away.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from vlmstream.sources.base import Decoded, Source, SourceError, SourceInfo, register_scheme
from vlmstream.sources.live import TimeCode
from vlmstream.sources.pyav import parse_size

log = logging.getLogger(__name__)


def restrict_ice_addresses(addresses: list[str]) -> None:
    """Offer only these host candidates (aioice skips 127.0.0.1 by default, so an endpoint
    bound to loopback could never be reached). Process-wide: aioice has no per-connection
    setting for it."""
    import aioice.ice

    fixed = list(addresses)
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: fixed


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class WhipReceiver:
    """One publisher at a time; a new offer replaces the previous session (a publisher
    that reconnects). Received frames go to ``frames``, a bounded queue that keeps the
    newest pictures."""

    def __init__(self, max_queue: int = 30) -> None:
        self.frames: queue.Queue[tuple[Any, float]] = queue.Queue(max_queue)
        self.session: str | None = None
        self.dropped = 0
        self._pc: Any = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle_offer(self, sdp: str) -> str:
        """SDP offer in, SDP answer out (all candidates included: WHIP without trickle)."""
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

        await self.close()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._pc = pc
        self.session = uuid.uuid4().hex

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "video":
                task = asyncio.ensure_future(self._pump(track))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except ValueError as e:
            await self.close()
            raise ValueError(f"not a usable SDP offer: {e}") from None
        if not any(t.kind == "video" for t in pc.getTransceivers()):
            await self.close()
            raise ValueError("the offer has no video track")
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp

    async def _pump(self, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            item = (frame, time.time())
            try:
                self.frames.put_nowait(item)
            except queue.Full:  # the reader is behind: keep the newest pictures
                try:
                    self.frames.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass
                self.frames.put_nowait(item)

    async def close(self) -> None:
        pc, self._pc = self._pc, None
        self.session = None
        for t in list(self._tasks):
            t.cancel()
        if pc is not None:
            await pc.close()


_MOUNTED: dict[str, tuple[WhipReceiver, asyncio.AbstractEventLoop]] = {}
_MOUNTED_LOCK = threading.Lock()


def mounted(name: str) -> tuple[WhipReceiver, asyncio.AbstractEventLoop] | None:
    """The receiver (and the event loop it lives on) of the ``whip:///NAME`` stream."""
    with _MOUNTED_LOCK:
        return _MOUNTED.get(name)


class WhipServer:
    """``POST PATH`` (application/sdp) -> 201 with the answer and a Location to DELETE."""

    def __init__(self, receiver: WhipReceiver, host: str, port: int, path: str) -> None:
        self.receiver, self.host, self.port, self.path = receiver, host, port, path or "/"
        self._runner: Any = None

    async def start(self) -> None:
        from aiohttp import web

        app = web.Application()
        app.router.add_post(self.path, self._post)
        app.router.add_delete(self.path.rstrip("/") + "/{session}", self._delete)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def _post(self, request: Any) -> Any:
        from aiohttp import web

        if request.content_type != "application/sdp":
            return web.Response(status=415, text="send the SDP offer as application/sdp\n")
        try:
            answer = await self.receiver.handle_offer(await request.text())
        except ValueError as e:
            return web.Response(status=400, text=f"{e}\n")
        location = f"{self.path.rstrip('/')}/{self.receiver.session}"
        return web.Response(status=201, text=answer, content_type="application/sdp",
                            headers={"Location": location})

    async def _delete(self, request: Any) -> Any:
        from aiohttp import web

        if request.match_info["session"] != self.receiver.session:
            return web.Response(status=404, text="no such session\n")
        await self.receiver.close()
        return web.Response(status=200)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@register_scheme("whip")
class WebRTCSource(Source):
    """Listens on ``whip://HOST:PORT/PATH`` for one WHIP publisher.

    Before the first picture it waits (state ``connecting``) for a publisher; after it,
    no picture for ``read_timeout_s`` means the publisher is gone (retryable)."""

    live = True

    def __init__(self, uri: str, *, size: str | tuple[int, int] | None = None,
                 read_timeout_s: float = 5.0, open_timeout_s: float = 5.0,
                 timecode: bool = False, realtime: bool = True, loop: bool = False,
                 ice_addresses: str | None = None) -> None:
        super().__init__()
        parts = urlsplit(uri)
        # whip:///NAME: mounted on the API server; whip://HOST:PORT/PATH: an endpoint of its own.
        self.mount_name = parts.path.strip("/") if not parts.netloc else None
        if self.mount_name is None and (not parts.hostname or not parts.port):
            raise SourceError(f"{uri}: give the address to listen on, e.g. "
                              "whip://127.0.0.1:8889/whip/cam1, or whip:///cam1 to receive "
                              "on `vlmstream serve`'s port at /whip/cam1")
        if self.mount_name == "" or (self.mount_name and "/" in self.mount_name):
            raise SourceError(f"{uri}: a mounted WHIP stream needs one name, e.g. whip:///cam1")
        self.uri, self.host, self.port = uri, parts.hostname or "", parts.port
        self.path = parts.path or "/"
        self.ice_addresses = [a.strip() for a in (ice_addresses or "").split(",") if a.strip()]
        self.size = parse_size(size)
        self.read_timeout_s, self.open_timeout_s = float(read_timeout_s), float(open_timeout_s)
        self.timecode = timecode
        self.receiver = WhipReceiver()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: WhipServer | None = None
        self._interrupted = threading.Event()

    def open(self) -> SourceInfo:
        try:
            import aiohttp  # noqa: F401
            import aiortc  # noqa: F401
        except ImportError:
            raise SourceError(f"{self.uri}: WebRTC needs aiortc and aiohttp; "
                              "pip install 'vlmstream[live]'") from None
        if self.ice_addresses:
            restrict_ice_addresses(self.ice_addresses)
        elif _is_loopback(self.host):
            restrict_ice_addresses(["127.0.0.1"])
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever,
                                        name=f"whip-{self.mount_name or self.port}", daemon=True)
        self._thread.start()
        if self.mount_name is not None:
            with _MOUNTED_LOCK:
                taken = self.mount_name in _MOUNTED
                if not taken:
                    _MOUNTED[self.mount_name] = (self.receiver, loop)
            if taken:
                self.close()
                raise SourceError(f"{self.uri}: another stream already receives at "
                                  f"/whip/{self.mount_name}; pick another name")
            return SourceInfo(uri=self.uri, live=True, decoder="aiortc",
                              extra={"decode": "software (aiortc)",
                                     "whip_endpoint": f"/whip/{self.mount_name} on the API port"})
        self._server = WhipServer(self.receiver, self.host, self.port, self.path)
        try:
            asyncio.run_coroutine_threadsafe(self._server.start(), loop).result(
                self.open_timeout_s)
        except OSError as e:
            self.close()
            raise SourceError(f"{self.uri}: cannot listen on {self.host}:{self.port} "
                              f"({e.strerror or e}); pick a free port", retryable=True) from None
        return SourceInfo(uri=self.uri, live=True, decoder="aiortc",
                          extra={"decode": "software (aiortc)", "whip_endpoint":
                                 f"http://{self.host}:{self.port}{self.path}"})

    def interrupt(self) -> None:
        """Make a waiting ``frames()`` return (called from another thread on stop)."""
        self._interrupted.set()

    def frames(self) -> Iterator[Decoded]:
        got_first = False
        waited = 0.0
        while not self._interrupted.is_set():
            try:
                frame, arrival = self.receiver.frames.get(timeout=0.25)
            except queue.Empty:
                waited += 0.25
                if got_first and waited >= self.read_timeout_s:
                    raise SourceError(f"{self.uri}: no picture from the publisher for "
                                      f"{self.read_timeout_s:g} s (gone or stalled)",
                                      retryable=True) from None
                continue
            got_first, waited = True, 0.0
            if self.size is not None:
                img = frame.to_ndarray(format="rgb24", width=self.size[0],
                                       height=self.size[1])
            else:
                img = frame.to_ndarray(format="rgb24")
            pts = float(frame.pts * frame.time_base) if frame.pts is not None else None
            yield Decoded(image=img, pts=pts,
                          capture_ts=TimeCode.read(img) if self.timecode else None)

    def close(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        if self.mount_name is not None:
            with _MOUNTED_LOCK:
                if _MOUNTED.get(self.mount_name, (None,))[0] is self.receiver:
                    del _MOUNTED[self.mount_name]
        server = self._server

        async def shutdown() -> None:
            await self.receiver.close()
            if server is not None:
                await server.stop()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5.0)
        except Exception:  # noqa: BLE001 - closing must not raise
            log.debug("%s: error while closing", self.uri, exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5.0)
        loop.close()
