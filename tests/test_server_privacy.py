"""`vlmstream serve --anonymize`: the pictures the server sends have people pixelated."""

from __future__ import annotations

import time
from importlib import resources

import av
import cv2
import httpx
import numpy as np
import pytest

from vlmstream.server.runner import ServerThread
from vlmstream.server.settings import ServerSettings

pytestmark = pytest.mark.timeout(120)


def test_dashboard_thumbnails_are_anonymised() -> None:
    clip = str(resources.files("vlmstream") / "data" / "vtest.mp4")
    settings = ServerSettings(port=0, db=None, anonymize=True, allow_sources=["*vtest.mp4"])
    with ServerThread(settings) as srv, httpx.Client(base_url=srv.url, timeout=10) as c:
        r = c.post("/api/streams", json={"source": clip, "id": "walk", "fps": 5,
                                         "task": {"kind": "detect"},
                                         "backend": {"name": "detect"}})
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + 30
        thumb = None
        while thumb is None and time.monotonic() < deadline:
            time.sleep(0.5)
            t = c.get("/api/streams/walk/thumbnail.jpg")
            if t.status_code == 200 and int(t.headers["X-Seq"]) >= 20:
                thumb = t
        assert thumb is not None
        seq = int(thumb.headers["X-Seq"])
        result = next(x for x in c.get("/api/streams/walk/results",
                                       params={"limit": 100}).json() if x["seq"] == seq)
    sent = cv2.cvtColor(cv2.imdecode(np.frombuffer(thumb.content, np.uint8), cv2.IMREAD_COLOR),
                        cv2.COLOR_BGR2RGB).astype(int)
    with av.open(clip) as cont:
        raw = next(f for i, f in enumerate(cont.decode(video=0)) if i == seq)
    raw = cv2.resize(raw.to_ndarray(format="rgb24"), sent.shape[1::-1],
                     interpolation=cv2.INTER_AREA).astype(int)
    s = sent.shape[1] / result["width"]
    # Every person box is pixelated; judge the ones big enough to hold several 12 px blocks.
    people = [b["xyxy"] for b in result["boxes"]
              if b["label"] == "person" and (b["xyxy"][3] - b["xyxy"][1]) * s >= 40]
    assert people, result["boxes"]
    for x1, y1, x2, y2 in people:
        a, b = (int(v * s) for v in (x1, y1)), (int(v * s) for v in (x2, y2))
        (ax, ay), (bx, by) = a, b
        assert np.abs(sent[ay:by, ax:bx] - raw[ay:by, ax:bx]).mean() > 15  # pixelated (JPEG noise alone: ~5)
    assert np.abs(sent[-40:, :40] - raw[-40:, :40]).mean() < 6  # grass corner: only JPEG noise
