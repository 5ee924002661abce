"""WHIP on the API port: a real aiortc publisher POSTs to `vlmstream serve` for a whip:/// stream."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from peers import whip_publisher
from vlmstream.server.runner import ServerThread
from vlmstream.server.settings import ServerSettings

pytest.importorskip("aiortc")
pytestmark = pytest.mark.timeout(120)

TOKEN = "whip-token-1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    settings = ServerSettings(port=0, tokens=[TOKEN], db=None,
                              allow_sources=["synthetic://*", "whip:///*"])
    with ServerThread(settings) as srv:
        yield srv


def test_a_publisher_streams_into_the_server_and_results_flow(server: ServerThread) -> None:
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as c:
        r = c.post("/api/streams", json={"source": "whip:///door", "id": "door", "fps": 5,
                                         "options": {"ice_addresses": "127.0.0.1"}})
        assert r.status_code == 201, r.text
        time.sleep(0.5)  # the stream's receiver mounts when its source opens
        bad = c.post("/whip/door", content="not sdp", headers={"Content-Type": "application/sdp"})
        assert bad.status_code == 400 and "offer" in bad.text
        with whip_publisher(f"{server.url}/whip/door", token=TOKEN):
            deadline = time.monotonic() + 30
            results: list = []
            while len(results) < 5 and time.monotonic() < deadline:
                time.sleep(0.3)
                results = c.get("/api/streams/door/results", params={"limit": 50}).json()
            assert len(results) >= 5, c.get("/api/streams/door").json()
            assert all(x["stream_id"] == "door" and x["width"] == 320 for x in results)
            assert c.get("/api/streams/door").json()["state"] == "live"
        assert c.delete("/api/streams/door").status_code == 204


def test_whip_endpoint_refuses_what_it_cannot_take(server: ServerThread) -> None:
    sdp = {"Content-Type": "application/sdp"}
    with httpx.Client(base_url=server.url, timeout=10) as c:
        assert c.post("/whip/door", content="v=0", headers=sdp).status_code == 401
        r = c.post("/whip/nobody", content="v=0", headers={**sdp, **AUTH})
        assert r.status_code == 404 and "whip:///nobody" in r.text
        r = c.post("/whip/nobody", content="v=0", headers={**AUTH, "Content-Type": "text/plain"})
        assert r.status_code == 415
