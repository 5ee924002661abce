"""Scheduler behaviour on real threads: batching, fairness, deadlines, degradation, faults."""

from collections import Counter, defaultdict

import numpy as np
from conftest import run_pipeline_for

from vlmstream.backends.base import register
from vlmstream.backends.testing import NullBackend

SYN = "synthetic://?size=320x240&fps=30&seed={}"


def seqs_by_stream(results):
    out = defaultdict(list)
    for r in results:
        out[r.stream_id].append(r.seq)
    return out


def test_results_name_their_frame_and_seq_strictly_increases():
    pipe, results = run_pipeline_for([SYN.format(i) for i in range(3)], seconds=2, fps=15)
    by = seqs_by_stream(results)
    assert set(by) == {"s0", "s1", "s2"}
    for sid, seqs in by.items():
        assert seqs == sorted(set(seqs)), sid
    # Each result's picture really is that stream's frame: the synthetic source draws
    # "<seed>:<seq>" and motion boxes follow the stream's own square.
    for r in results:
        assert r.arrival_ts <= r.stages.get("sink")


def test_batches_span_streams_and_respect_max_batch():
    pipe, results = run_pipeline_for([SYN.format(i) for i in range(6)], seconds=2, fps=10,
                                     backend="sleep", options={"batch_ms": 30}, max_batch=4)
    sizes = list(pipe.metrics.batch_sizes)
    assert max(sizes) <= 4
    assert np.mean(sizes) > 1.5  # frames of different streams share a forward pass


def test_slow_backend_keeps_p99_under_budget_and_no_stream_starves():
    budget = 400.0
    pipe, results = run_pipeline_for(
        [SYN.format(i) for i in range(6)], seconds=5, fps=15, budget_ms=budget,
        backend="sleep", options={"batch_ms": 60, "per_image_ms": 10}, max_batch=2)
    lat = [r.latency_ms for r in results]
    assert lat and np.percentile(lat, 99) < budget
    per = Counter(r.stream_id for r in results)
    assert len(per) == 6 and min(per.values()) >= 0.6 * max(per.values())
    s = pipe.summary()
    dropped = sum(sum(st["dropped"].values()) for st in s["streams"].values())
    assert dropped > 0  # load was shed and counted, not queued
    assert s["backends"]["sleep"]["rate_scale"] < 1.0  # streams were degraded
    assert any(r.degraded for r in results)


def test_frames_that_cannot_finish_in_budget_are_dropped_as_stale():
    # A 150 ms model cannot meet a 100 ms budget: after the first try, frames are shed.
    pipe, results = run_pipeline_for([SYN.format(0)], seconds=2, fps=10, budget_ms=100,
                                     backend="sleep", options={"batch_ms": 150})
    st = pipe.summary()["streams"]["s0"]
    assert st["dropped"].get("stale", 0) > 0
    assert len(results) <= 2


class _Flaky(NullBackend):
    name = "flaky"

    def __init__(self, **kw):
        super().__init__(**kw)
        self.calls = 0

    def infer(self, images, task, previous=None):
        self.calls += 1
        if self.calls % 3 == 0:
            raise RuntimeError("simulated CUDA error")
        return super().infer(images, task, previous)


register("flaky-test")(lambda **o: _Flaky(**o))


def test_backend_fault_drops_that_batch_only():
    pipe, results = run_pipeline_for([SYN.format(i) for i in range(2)], seconds=1.5, fps=10,
                                     backend="flaky-test", task="null")
    s = pipe.summary()["streams"]
    assert sum(st["dropped"].get("error", 0) for st in s.values()) > 0
    assert len(results) > 5  # batches before and after the faults produced results


def test_oldest_policy_analyses_every_frame_of_a_file_in_order(small_video):
    pipe, results = run_pipeline_for([str(small_video)], seconds=30, fps=240, policy="oldest",
                                     budget_ms=60_000, realtime=False)
    assert [r.seq for r in results] == list(range(60))


def test_fast_file_with_oldest_policy_waits_for_a_slow_model_instead_of_dropping(small_video):
    pipe, results = run_pipeline_for([str(small_video)], seconds=30, fps=240, policy="oldest",
                                     budget_ms=60_000, realtime=False, backend="sleep",
                                     options={"batch_ms": 5}, max_batch=4)
    assert [r.seq for r in results] == list(range(60))
    assert pipe.summary()["streams"]["s0"]["dropped"] == {}


class _Oom(NullBackend):
    """Out of memory on every batch while ``broken`` is set."""

    name = "oom"
    broken = True

    def infer(self, images, task, previous=None):
        from vlmstream.backends import BackendOverloaded

        if _Oom.broken:
            raise BackendOverloaded("CUDA out of memory (simulated)")
        return super().infer(images, task, previous)


register("oom-test")(lambda **o: _Oom(**o))


def test_overloaded_backend_moves_streams_to_the_fallback_and_back():
    import time

    from vlmstream.config import BackendConfig, StreamConfig, TaskConfig
    from vlmstream.pipeline import Pipeline

    pipe = Pipeline()
    got = []
    pipe.subscribe(got.append)
    bc = BackendConfig(name="oom-test", cooldown_s=1.0,
                       fallback=BackendConfig(name="null", options={}))
    for i in range(2):
        pipe.add_stream(StreamConfig(source=SYN.format(i), id=f"c{i}", fps=10, backend=bc,
                                     task=TaskConfig(kind="null")))
    _Oom.broken = True
    pipe.start()
    try:
        time.sleep(1.0)
        assert got and {r.backend for r in got} == {"null"}  # every result says who made it
        _Oom.broken = False
        time.sleep(2.0)
    finally:
        pipe.stop()
    assert got[-1].backend == "oom"  # back on the primary after the cooldown
    for sid in ("c0", "c1"):
        seqs = [r.seq for r in got if r.stream_id == sid]
        assert seqs == sorted(set(seqs))


class _Closable(NullBackend):
    name = "closable"
    closed = 0

    def close(self):
        _Closable.closed += 1


register("closable-test")(lambda **o: _Closable(**o))


def test_a_backend_no_stream_uses_is_released_after_a_grace_period():
    import time

    from vlmstream.config import BackendConfig, StreamConfig, TaskConfig
    from vlmstream.pipeline import Pipeline

    pipe = Pipeline()
    pipe.release_after_s = 0.5
    bc = BackendConfig(name="closable-test")
    cfg = StreamConfig(source=SYN.format(0), id="a", backend=bc, task=TaskConfig(kind="null"))
    pipe.add_stream(cfg)
    pipe.start()
    try:
        pipe.remove_stream("a")
        pipe.add_stream(cfg)  # back within the grace period: the same backend, not reloaded
        time.sleep(1.0)
        assert _Closable.closed == 0 and len(pipe._schedulers) == 1
        pipe.remove_stream("a")
        deadline = time.time() + 5
        while _Closable.closed == 0 and time.time() < deadline:
            time.sleep(0.05)
        assert _Closable.closed == 1 and pipe._schedulers == {}
    finally:
        pipe.stop()
    assert _Closable.closed == 1  # not closed twice
