"""An RTSP server (Debian's gst-rtsp-server) publishing a time-coded test picture.

Run as its own process so tests can kill, restart and freeze (SIGSTOP) it:
``python rtsp_server.py --port 8554 --path /cam [--user u --password p] [--slices 4]``.
Each picture carries the wall-clock time it was made (vlmstream's TimeCode), so a reader
measures publish-to-decode latency. Prints ``READY`` once it listens.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

sys.path.append("/usr/lib/python3/dist-packages")  # python3-gi lives with Debian's Python

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402
import numpy as np  # noqa: E402

from vlmstream.sources.live import TimeCode  # noqa: E402


class Feeder:
    """Pushes I420 pictures into the shared media's appsrc at a steady rate."""

    def __init__(self, width: int, height: int, fps: int) -> None:
        self.w, self.h, self.fps = width, height, fps
        self.appsrc: Gst.Element | None = None
        self.n = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _picture(self) -> bytes:
        w, h = self.w, self.h
        y = np.full((h, w), 60, np.uint8)
        x = (self.n * 4) % max(1, w - 40)
        y[h // 2 - 20:h // 2 + 20, x:x + 40] = 200
        TimeCode.draw(y)
        uv = np.full(w * h // 2, 128, np.uint8)
        return y.tobytes() + uv.tobytes()

    def _run(self) -> None:
        start = time.time()
        while True:
            due = start + self.n / self.fps
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            src = self.appsrc
            self.n += 1
            if src is None:
                continue
            buf = Gst.Buffer.new_wrapped(self._picture())
            src.emit("push-buffer", buf)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8554)
    ap.add_argument("--path", default="/cam")
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--slices", type=int, default=0,
                    help="encode each picture as this many slices (x264 sliced threads)")
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    Gst.init(None)
    feeder = Feeder(w, h, a.fps)
    slicing = (f"sliced-threads=true threads={a.slices}" if a.slices
               else "sliced-threads=false threads=1")
    launch = (
        f"( appsrc name=src is-live=true format=time do-timestamp=true "
        f"caps=video/x-raw,format=I420,width={w},height={h},framerate={a.fps}/1 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={a.fps} {slicing} "
        f"! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1 )")
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(a.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(True)

    def configure(_factory: object, media: GstRtspServer.RTSPMedia) -> None:
        feeder.appsrc = media.get_element().get_by_name_recurse_up("src")

    factory.connect("media-configure", configure)
    if a.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(a.user, a.password or ""), token)
        server.set_auth(auth)
        perms = GstRtspServer.RTSPPermissions()
        perms.add_role_from_structure(Gst.Structure.new_from_string(
            "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"))
        factory.set_permissions(perms)
    server.get_mount_points().add_factory(a.path, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{a.port}", flush=True)
        sys.exit(1)
    print("READY", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
