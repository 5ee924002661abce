"""A WHIP publisher (aiortc): POSTs an SDP offer and sends a time-coded test picture.

``python whip_publisher.py http://127.0.0.1:8889/whip/cam --fps 30 --size 320x240``.
Runs until killed; re-publishes when the endpoint goes away. Prints ``PUBLISHING`` once
the answer is in.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import time

import aiohttp
import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack

from vlmstream.sources.live import TimeCode
from vlmstream.sources.webrtc import restrict_ice_addresses


class TimeCodedTrack(VideoStreamTrack):
    def __init__(self, width: int, height: int, fps: int) -> None:
        super().__init__()
        self.w, self.h, self.fps = width, height, fps
        self.n = 0
        self.start = time.time()

    async def recv(self) -> av.VideoFrame:
        due = self.start + self.n / self.fps
        await asyncio.sleep(max(0.0, due - time.time()))
        img = np.full((self.h, self.w, 3), 60, np.uint8)
        x = (self.n * 4) % max(1, self.w - 40)
        img[self.h // 2 - 20:self.h // 2 + 20, x:x + 40] = 200
        TimeCode.draw(img)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = int(self.n * 90000 / self.fps)
        frame.time_base = fractions.Fraction(1, 90000)
        self.n += 1
        return frame


async def publish(url: str, w: int, h: int, fps: int, token: str | None = None) -> None:
    headers = {"Content-Type": "application/sdp"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    while True:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTrack(TimeCodedTrack(w, h, fps))
        await pc.setLocalDescription(await pc.createOffer())
        try:
            async with aiohttp.ClientSession() as http:
                async with http.post(url, data=pc.localDescription.sdp, headers=headers) as r:
                    if r.status != 201:
                        raise RuntimeError(f"WHIP answered {r.status}: {await r.text()}")
                    answer = await r.text()
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            print("PUBLISHING", flush=True)
            while pc.connectionState not in ("failed", "closed"):
                await asyncio.sleep(0.5)
        except (aiohttp.ClientError, RuntimeError) as e:
            print(f"retrying: {e}", flush=True)
        await pc.close()
        await asyncio.sleep(0.5)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--token", default=None, help="bearer token for the WHIP endpoint")
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    restrict_ice_addresses(["127.0.0.1"])
    asyncio.run(publish(a.url, w, h, a.fps, a.token))


if __name__ == "__main__":
    main()
