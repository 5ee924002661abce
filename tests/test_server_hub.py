"""Result fan-out: a slow client is told it lagged and what it skipped; publishing never waits
for clients; thumbnails are encoded at a bounded rate."""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pytest

from vlmstream.frames import Box, Output, Result, StageTimes
from vlmstream.server.hub import Lagged, Published, ResultHub

pytestmark = pytest.mark.timeout(30)


def result(stream: str, seq: int, image: np.ndarray | None = None) -> Result:
    st = StageTimes()
    st.stamp("sink")
    return Result(stream, seq, None, None, time.time(), "motion", "motion",
                  Output(label="motion", score=0.5, boxes=[Box(1, 2, 3, 4, label="motion")]),
                  st, 64, 48, image=image)


def test_slow_client_is_told_it_lagged_and_gets_the_newest() -> None:
    async def main() -> None:
        hub = ResultHub(queue_size=4)
        hub.bind(asyncio.get_running_loop())
        slow = hub.subscribe()
        # Publish from another thread, as the inference worker does; it must never wait.
        t0 = time.perf_counter()
        await asyncio.to_thread(lambda: [hub.publish(result(s, i)) for i in range(10)
                                         for s in ("a", "b")])
        assert time.perf_counter() - t0 < 0.5
        await asyncio.sleep(0.05)
        assert await slow.next() == Lagged(16)  # 20 published, the newest 4 kept
        rest = [await slow.next() for _ in range(4)]
        assert [(m.stream_id, m.seq) for m in rest] == [("a", 8), ("b", 8), ("a", 9), ("b", 9)]
        assert json.loads(rest[0].text)["type"] == "result"

        # A client that keeps up misses nothing, and sees only its stream.
        fast = hub.subscribe("b")
        got = []
        for i in range(20):
            await asyncio.to_thread(hub.publish, result("a" if i % 2 else "b", 100 + i))
            await asyncio.sleep(0.01)
            while fast.depth:
                m = await fast.next()
                assert isinstance(m, Published)
                got.append(m.seq)
        assert got == list(range(100, 120, 2))
        # Meanwhile the slow one lagged again (10 for it, only 4 kept); close ends both.
        assert await slow.next() == Lagged(16)
        hub.close()
        assert len([await slow.next() for _ in range(4)]) == 4
        assert await slow.next() is None
        assert await fast.next() is None

    asyncio.run(main())


def test_recent_cache_is_bounded_and_forgotten() -> None:
    hub = ResultHub(recent=5)
    for i in range(12):
        hub.publish(result("a", i))
    assert [r["seq"] for r in hub.recent("a")] == [7, 8, 9, 10, 11]
    assert [r["seq"] for r in hub.recent("a", 2)] == [10, 11]
    hub.forget("a")
    assert hub.recent("a") == []


def test_thumbnails_are_rate_limited_and_downscaled() -> None:
    hub = ResultHub(thumb_fps=2.0, thumb_width=32)
    assert hub.thumbnail("a") is None
    img = np.zeros((48, 64, 3), np.uint8)
    hub.publish(result("a", 0, img))
    seq, jpeg = hub.thumbnail("a")  # type: ignore[misc]
    assert seq == 0 and jpeg[:2] == b"\xff\xd8"
    hub.publish(result("a", 1, img))
    assert hub.thumbnail("a")[0] == 0  # type: ignore[index]  # within 0.5 s: cached
    time.sleep(0.55)
    assert hub.thumbnail("a")[0] == 1  # type: ignore[index]
    import cv2

    assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (24, 32, 3)
