"""A live HLS publisher: PyAV's hls muxer writes a sliding playlist of 1 s segments of a
time-coded test picture, and a threaded HTTP server serves it.

``python hls_server.py --port 8080 --dir /tmp/hls`` -> http://127.0.0.1:8080/live.m3u8.
Also serves ``/notvideo.m3u8`` (text) and ``/page.html`` for the error tests. Prints
``READY`` once the first segment is listed.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import threading
import time

import av
import numpy as np

from vlmstream.sources.live import TimeCode


def publish(out_dir: str, w: int, h: int, fps: int, ready: threading.Event) -> None:
    opts = {"hls_time": "1", "hls_list_size": "5",
            "hls_flags": "delete_segments+omit_endlist+independent_segments"}
    with av.open(os.path.join(out_dir, "live.m3u8"), "w", format="hls", options=opts) as c:
        s = c.add_stream("libx264", rate=fps, options={"tune": "zerolatency",
                                                       "preset": "ultrafast", "g": str(fps)})
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        start = time.time()
        n = 0
        while True:
            delay = start + n / fps - time.time()
            if delay > 0:
                time.sleep(delay)
            img = np.full((h, w, 3), 60, np.uint8)
            x = (n * 4) % max(1, w - 40)
            img[h // 2 - 20:h // 2 + 20, x:x + 40] = 200
            TimeCode.draw(img)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = n
            for p in s.encode(frame):
                c.mux(p)
            n += 1
            if not ready.is_set() and os.path.exists(os.path.join(out_dir, "live.m3u8")):
                ready.set()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--fps", type=int, default=30)
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    os.makedirs(a.dir, exist_ok=True)
    with open(os.path.join(a.dir, "notvideo.m3u8"), "w") as f:
        f.write("this is not a playlist\n")
    with open(os.path.join(a.dir, "page.html"), "w") as f:
        f.write("<html><body>not video</body></html>\n")
    ready = threading.Event()
    threading.Thread(target=publish, args=(a.dir, w, h, a.fps, ready), daemon=True).start()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", a.port), functools.partial(Quiet, directory=a.dir))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ready.wait(30)
    print("READY", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
