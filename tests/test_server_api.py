"""The real server on loopback: streams added and removed over REST while results flow over
WebSocket and gRPC; tokens, validation messages, allowlist, metrics, events, thumbnails."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import grpc
import httpx
import numpy as np
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from vlmstream.server.grpcgen import vlmstream_pb2 as pb
from vlmstream.server.grpcgen import vlmstream_pb2_grpc as pb_grpc
from vlmstream.server.runner import ServerThread
from vlmstream.server.settings import ServerSettings

TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SRC = "synthetic://?size=160x120&fps=15"

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    db = tmp_path_factory.mktemp("srv") / "events.sqlite"
    settings = ServerSettings(port=0, grpc_port=0, tokens=[TOKEN], db=db,
                              allow_sources=["synthetic://*", "rtsp://10.9.8.7/*"])
    with ServerThread(settings) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as c:
        yield c


def ws_url(server: ServerThread, path: str, token: str | None = TOKEN) -> str:
    url = server.url.replace("http://", "ws://") + path
    return url + (f"?token={token}" if token else "")


def read_ws(ws, until, timeout: float = 15.0) -> list[dict]:  # noqa: ANN001
    """Messages until ``until(messages)`` holds (fails after ``timeout``)."""
    out: list[dict] = []
    deadline = time.monotonic() + timeout
    while not until(out):
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; got {len(out)} messages"
        out.append(json.loads(ws.recv(timeout=left)))
    return out


def streams_seen(msgs: list[dict]) -> set[str]:
    return {m["stream_id"] for m in msgs if m.get("type") == "result"}


def test_three_streams_over_ws_and_grpc_remove_one_keeps_others(
        server: ServerThread, client: httpx.Client) -> None:
    for i in (1, 2, 3):
        r = client.post("/api/streams", json={"source": SRC, "id": f"cam{i}", "fps": 5})
        assert r.status_code == 201, r.text
        assert r.json()["config"]["task"]["kind"] == "motion"  # server default filled in
    assert {s["id"] for s in client.get("/api/streams").json()} >= {"cam1", "cam2", "cam3"}

    with connect(ws_url(server, "/api/ws")) as ws_all, \
            connect(ws_url(server, "/api/streams/cam2/ws")) as ws_one:
        msgs = read_ws(ws_all, lambda m: streams_seen(m) >= {"cam1", "cam2", "cam3"})
        r0 = next(m for m in msgs if m["type"] == "result")
        assert {"seq", "label", "latency_ms", "width", "stages_ms"} <= set(r0)
        one = read_ws(ws_one, lambda m: len(m) >= 3)
        assert streams_seen(one) == {"cam2"}

        # gRPC: all streams, then one stream.
        with grpc.insecure_channel(f"127.0.0.1:{server.state.grpc_port}") as ch:
            stub = pb_grpc.ResultsStub(ch)
            md = (("authorization", f"Bearer {TOKEN}"),)
            seen: set[str] = set()
            call = stub.Subscribe(pb.SubscribeRequest(), metadata=md, timeout=20)
            for m in call:
                if m.WhichOneof("kind") == "result":
                    seen.add(m.result.stream_id)
                    assert m.result.width == 160 and json.loads(m.result.json)["seq"] == m.result.seq
                if seen >= {"cam1", "cam2", "cam3"}:
                    break
            call.cancel()
            call = stub.Subscribe(pb.SubscribeRequest(stream_id="cam3"), metadata=md, timeout=20)
            got = [next(call).result.stream_id for _ in range(3)]
            call.cancel()
            assert got == ["cam3"] * 3
            listed = stub.ListStreams(pb.ListStreamsRequest(), metadata=md, timeout=5)
            assert {s.id for s in listed.streams} >= {"cam1", "cam2", "cam3"}

        before = {s["id"]: s for s in client.get("/api/streams").json()}
        assert client.delete("/api/streams/cam1").status_code == 204
        removed_at = time.time()
        time.sleep(0.3)  # let results already in flight for cam1 arrive
        after = read_ws(ws_all, lambda m: all(
            sum(1 for x in m if x.get("stream_id") == s and x["arrival_ts"] > removed_at + 0.3) >= 4
            for s in ("cam2", "cam3")))
        late = [m for m in after if m.get("stream_id") == "cam1" and m["arrival_ts"] > removed_at]
        assert late == [], "results of a removed stream kept coming"
        # The others were not restarted: same ingest, counters kept growing.
        now = {s["id"]: s for s in client.get("/api/streams").json()}
        assert "cam1" not in now
        for s in ("cam2", "cam3"):
            assert now[s]["state"] == "live"
            assert now[s]["frames_in"] > before[s]["frames_in"]
            assert now[s]["results"] > before[s]["results"]
            assert now[s]["latency_ms"]["p99"] is not None
        assert client.get("/api/streams/cam1").status_code == 404


def test_recent_results_thumbnail_metrics_and_events(server: ServerThread,
                                                      client: httpx.Client) -> None:
    assert client.post("/api/streams", json={"source": SRC, "id": "rec", "fps": 5}).status_code == 201
    deadline = time.monotonic() + 15
    while len(client.get("/api/streams/rec/results?limit=5").json()) < 5:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    recent = client.get("/api/streams/rec/results?limit=5").json()
    seqs = [r["seq"] for r in recent]
    assert seqs == sorted(seqs) and all(r["stream_id"] == "rec" for r in recent)

    t = client.get("/api/streams/rec/thumbnail.jpg")
    assert t.status_code == 200 and t.headers["content-type"] == "image/jpeg"
    assert int(t.headers["x-seq"]) >= 0
    img = cv2.imdecode(np.frombuffer(t.content, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (120, 160, 3)

    m = httpx.get(server.url + "/metrics").text
    for needle in ('vlmstream_stream_fps{stream="rec"}', 'vlmstream_result_latency_seconds_bucket',
                   'vlmstream_batch_size_bucket', 'vlmstream_queue_depth{name="rec",queue="ingest_buffer"}',
                   'vlmstream_frames_analysed_total{stream="rec"}', 'vlmstream_live_clients'):
        assert needle in m, needle

    # The moving synthetic box raises a motion event, stored in SQLite and listed newest first.
    deadline = time.monotonic() + 15
    while not (ev := client.get("/api/events", params={"stream_id": "rec"}).json()):
        assert time.monotonic() < deadline, "no event stored"
        time.sleep(0.3)
    assert ev[0]["stream_id"] == "rec" and ev[0]["kind"]
    assert client.delete("/api/streams/rec").status_code == 204
    assert 'stream="rec"' not in httpx.get(server.url + "/metrics").text


def test_update_restarts_only_that_stream(server: ServerThread, client: httpx.Client) -> None:
    assert client.post("/api/streams", json={"source": SRC, "id": "up"}).status_code == 201
    r = client.put("/api/streams/up", json={"source": SRC, "fps": 2, "max_latency_ms": 300})
    assert r.status_code == 200, r.text
    assert r.json()["target_fps"] == 2 and r.json()["config"]["max_latency_ms"] == 300
    r = client.put("/api/streams/up", json={"source": SRC, "backend": {"name": "nope"}})
    assert r.status_code == 422 and "unknown backend" in r.json()["detail"]
    assert client.get("/api/streams/up").json()["target_fps"] == 2  # the old config goes on
    assert client.put("/api/streams/ghost", json={"source": SRC}).status_code == 404
    assert client.delete("/api/streams/up").status_code == 204


def test_tokens_required_401_and_403(server: ServerThread) -> None:
    body = {"source": SRC}
    r = httpx.post(server.url + "/api/streams", json=body)
    assert r.status_code == 401 and "token" in r.json()["detail"]
    r = httpx.post(server.url + "/api/streams", json=body, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 403
    assert httpx.get(server.url + "/api/streams").status_code == 401
    assert httpx.delete(server.url + "/api/streams/x",
                        headers={"Authorization": "Basic Zm9vOmJhcg=="}).status_code == 401
    for token, status in ((None, 401), ("wrong", 403)):
        with pytest.raises(InvalidStatus) as ei:
            connect(ws_url(server, "/api/ws", token)).close()
        assert ei.value.response.status_code == status
    with grpc.insecure_channel(f"127.0.0.1:{server.state.grpc_port}") as ch:
        stub = pb_grpc.ResultsStub(ch)
        for md, code in (((), grpc.StatusCode.UNAUTHENTICATED),
                         ((("authorization", "Bearer wrong"),), grpc.StatusCode.PERMISSION_DENIED)):
            with pytest.raises(grpc.RpcError) as ei:
                next(stub.Subscribe(pb.SubscribeRequest(), metadata=md, timeout=5))
            assert ei.value.code() == code
    # Open endpoints stay open.
    assert httpx.get(server.url + "/healthz").status_code == 200
    assert httpx.get(server.url + "/openapi.json").status_code == 200


@pytest.mark.parametrize(("body", "status", "needle"), [
    ({"source": SRC, "fps": -1}, 422, "fps: Input should be greater than 0"),
    ({"source": SRC, "colour": "red"}, 422, "colour: unknown field"),
    ({"fps": 5}, 422, "source: Field required"),
    ({"source": SRC, "id": "bad id!"}, 422, "stream id must be"),
    ({"source": "synthetic://?sizze=1x1"}, 422, "unknown synthetic option"),
    ({"source": SRC, "backend": {"name": "nope"}}, 422, "unknown backend 'nope'"),
    ({"source": "file:///etc/passwd"}, 403, "not in the server's source allowlist"),
    ({"source": "http://169.254.169.254/latest"}, 403, "--allow-source"),
])
def test_bad_bodies_get_a_clear_message(client: httpx.Client, body: dict, status: int,
                                        needle: str) -> None:
    r = client.post("/api/streams", json=body)
    assert r.status_code == status, r.text
    b = r.json()
    assert needle in (b.get("message") or b["detail"])


def test_duplicate_id_is_409_and_bad_json_is_422(client: httpx.Client) -> None:
    assert client.post("/api/streams", json={"source": SRC, "id": "dup"}).status_code == 201
    r = client.post("/api/streams", json={"source": SRC, "id": "dup"})
    assert r.status_code == 409 and "already exists" in r.json()["detail"]
    r = client.post("/api/streams", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["message"]
    assert client.delete("/api/streams/dup").status_code == 204


def test_credentials_never_returned(server: ServerThread, client: httpx.Client) -> None:
    src = "rtsp://admin:hunter2@10.9.8.7/live?token=abc123"
    r = client.post("/api/streams", json={"source": src, "id": "secret",
                                          "backend": {"name": "motion",
                                                      "options": {"api_key": "sk-xyz"}}})
    assert r.status_code in (201, 422), r.text
    texts = [r.text, client.get("/api/streams").text]
    if r.status_code == 201:
        assert r.json()["config"]["source"] == "rtsp://***@10.9.8.7/live?token=***"
        texts.append(client.get("/api/streams/secret").text)
        client.delete("/api/streams/secret")
    for t in texts:
        assert "hunter2" not in t and "abc123" not in t and "sk-xyz" not in t


def test_generated_grpc_stubs_match_the_proto(tmp_path: Path) -> None:
    from grpc_tools import protoc

    root = Path(__file__).resolve().parents[1]
    rc = protoc.main(["protoc", f"-Ivlmstream/server/grpcgen={root / 'proto'}",
                      f"--python_out={tmp_path}", f"--grpc_python_out={tmp_path}",
                      str(root / "proto" / "vlmstream.proto")])
    assert rc == 0
    for name in ("vlmstream_pb2.py", "vlmstream_pb2_grpc.py"):
        fresh = (tmp_path / "vlmstream/server/grpcgen" / name).read_text()
        committed = (root / "src/vlmstream/server/grpcgen" / name).read_text()
        assert fresh == committed, f"{name} is stale: regenerate it (see proto/vlmstream.proto)"
