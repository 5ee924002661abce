import numpy as np

from vlmstream.buffers import StreamBuffer, StreamCounters
from vlmstream.frames import Frame
from vlmstream.sampling import DropPolicy, MotionGate, Sampler

T0 = 10_000.0


def img(v: int = 0) -> np.ndarray:
    a = np.full((72, 128, 3), 40, np.uint8)
    a[20:50, v:v + 30] = 250
    return a


def make(policy, fps=10.0, max_latency_ms=1000.0, gate=None):
    c = StreamCounters()
    b = StreamBuffer(c, seconds=2, fps=30)
    return b, c, Sampler(b, c, fps=fps, policy=policy, max_latency_ms=max_latency_ms, gate=gate)


def feed(b, n, start_seq=0, t0=T0, fps=30, image=None):
    for i in range(start_seq, start_seq + n):
        b.put(Frame("s", i, image if image is not None else img(i % 90), pts=i / fps,
                    arrival_ts=t0 + i / fps))


def test_latest_analyses_freshest_and_counts_rate_drops():
    b, c, s = make(DropPolicy.LATEST, fps=10)
    feed(b, 5)
    f = s.poll(T0 + 5 / 30)
    assert f is not None and f.seq == 4
    assert c.dropped["rate"] == 4
    assert s.poll(T0 + 5 / 30 + 0.01) is None  # not due again until 1/fps later
    feed(b, 2, start_seq=5)
    assert s.poll(T0 + 5 / 30 + 0.1) is not None


def test_latest_rate_matches_target_over_time():
    b, c, s = make(DropPolicy.LATEST, fps=10)
    got = []
    for i in range(300):  # 10 s of 30 fps
        now = T0 + i / 30
        b.put(Frame("s", i, img(i % 90), pts=i / 30, arrival_ts=now))
        f = s.poll(now)
        if f is not None:
            got.append(f.seq)
    assert 95 <= len(got) <= 101
    assert got == sorted(got)


def test_oldest_keeps_order_and_subsamples_by_pts():
    b, c, s = make(DropPolicy.OLDEST, fps=10)
    feed(b, 30)
    seqs = []
    while (f := s.poll(T0 + 1.0)) is not None:
        seqs.append(f.seq)
    assert seqs == list(range(0, 30, 3))
    assert c.dropped["rate"] == 20


def test_stale_frames_are_never_analysed():
    for policy in DropPolicy:
        b, c, s = make(policy, fps=30, max_latency_ms=100)
        feed(b, 3)
        assert s.poll(T0 + 1.0) is None, policy
        assert c.dropped["stale"] >= 1


def test_adaptive_backs_off_when_late_and_recovers():
    b, c, s = make(DropPolicy.ADAPTIVE, fps=20, max_latency_ms=200)
    for _ in range(5):
        s.feedback(0.15, superseded=False)  # 150 ms of a 200 ms budget: too late
    assert s.effective_fps < 20 * 0.4
    for _ in range(40):
        s.feedback(0.01, superseded=False)
    assert s.effective_fps == 20
    # The other policies ignore feedback.
    _, _, latest = make(DropPolicy.LATEST)
    latest.feedback(10.0, superseded=True)
    assert latest.effective_fps == 10


def test_gate_skips_static_frames_and_forces_scene_cuts():
    gate = MotionGate(keepalive_s=100)
    b, c, s = make(DropPolicy.LATEST, fps=30, gate=gate)
    still = img(10)
    t = T0
    first = None
    for i in range(10):  # the same picture over and over
        b.put(Frame("s", i, still, pts=i / 30, arrival_ts=t + i / 30))
        f = s.poll(t + i / 30)
        if f is not None:
            first = first or f
            s.dispatched(f)
    assert first is not None and first.seq == 0
    assert c.dropped["static"] >= 5
    # A completely different picture arrives between ticks: analysed at once.
    cut = np.full_like(still, 220)
    b.put(Frame("s", 10, cut, pts=10 / 30, arrival_ts=t + 10 / 30))
    f = s.poll(t + 10 / 30 + 0.001)
    assert f is not None and f.seq == 10 and s.scene_cut_pending


def test_dispatched_frame_becomes_the_previous_picture():
    b, c, s = make(DropPolicy.OLDEST, fps=30)
    feed(b, 2)
    f0 = s.poll(T0 + 0.1)
    s.dispatched(f0)
    f1 = s.poll(T0 + 0.1)
    s.dispatched(f1)
    assert f0.previous is None and f1.previous is f0.image


def test_latest_takes_frames_on_arrival_instead_of_ageing_them_until_the_tick():
    b, c, s = make(DropPolicy.LATEST, fps=10)
    waits = []
    for i in range(300):  # 30 fps source, polled every millisecond
        t = T0 + i / 30
        b.put(Frame("s", i, img(i % 90), pts=i / 30, arrival_ts=t))
        for k in range(33):
            f = s.poll(t + k / 1000)
            if f is not None:
                waits.append(f.stages.get("sampled") - f.arrival_ts)
    assert 98 <= len(waits) <= 101
    assert max(waits) < 0.002


def test_latest_falls_back_to_the_held_frame_at_the_tick():
    b, c, s = make(DropPolicy.LATEST, fps=10)
    b.put(Frame("s", 0, img(), pts=0, arrival_ts=T0))
    assert s.poll(T0) is not None  # the first frame starts the tick grid
    b.put(Frame("s", 1, img(), pts=0.01, arrival_ts=T0 + 0.01))
    assert s.poll(T0 + 0.01) is None  # too early: held
    assert s.next_due == T0 + 0.1
    f = s.poll(T0 + 0.1)  # nothing fresher came: the held frame at the tick
    assert f is not None and f.seq == 1
