import numpy as np
import pytest

from vlmstream.buffers import StreamBuffer, StreamCounters
from vlmstream.frames import Frame


def frame(seq: int, t: float = 0.0) -> Frame:
    return Frame("s", seq, np.zeros((4, 4, 3), np.uint8), pts=seq / 30, arrival_ts=t or 1000.0 + seq)


def test_buffer_holds_about_its_duration_and_counts_overflow():
    c = StreamCounters()
    b = StreamBuffer(c, seconds=0.5, fps=30)
    assert b.capacity == 15
    for i in range(40):
        b.put(frame(i))
    assert len(b) == 15
    assert c.frames_in == 40
    assert c.dropped["overflow"] == 25
    assert b.peek_oldest().seq == 25 and b.peek_latest().seq == 39


def test_take_all_returns_oldest_first_and_empties():
    b = StreamBuffer(StreamCounters(), seconds=1, fps=10)
    for i in range(5):
        b.put(frame(i))
    assert [f.seq for f in b.take_all()] == [0, 1, 2, 3, 4]
    assert len(b) == 0 and b.take_oldest() is None and b.peek_latest() is None


def test_zero_second_buffer_keeps_only_the_latest():
    b = StreamBuffer(StreamCounters(), seconds=0, fps=30)
    for i in range(3):
        b.put(frame(i))
    assert [f.seq for f in b.take_all()] == [2]


@pytest.mark.parametrize("seconds", [-0.1, 2.5])
def test_buffer_rejects_out_of_range_duration(seconds):
    with pytest.raises(ValueError, match="0-2 s"):
        StreamBuffer(StreamCounters(), seconds=seconds)


def test_put_wakes_the_scheduler():
    import threading

    ev = threading.Event()
    b = StreamBuffer(StreamCounters(), wakeup=ev)
    b.put(frame(0))
    assert ev.is_set()


def test_blocking_buffer_waits_for_room_and_close_releases_it():
    import threading
    import time

    b = StreamBuffer(StreamCounters(), seconds=0.1, fps=10, block_when_full=True)
    b.put(frame(0))
    t = threading.Thread(target=b.put, args=(frame(1),))
    t.start()
    time.sleep(0.15)
    assert t.is_alive() and len(b) == 1  # producer waits, nothing dropped
    assert b.take_oldest().seq == 0
    t.join(1)
    assert not t.is_alive() and b.take_oldest().seq == 1
    b.put(frame(2))
    t2 = threading.Thread(target=b.put, args=(frame(3),))
    t2.start()
    b.close()
    t2.join(1)
    assert not t2.is_alive()
