"""Progress events with an ETA, and cancellation by token, event or callable."""

import threading

import pytest

from motionwright.errors import Cancelled
from motionwright.progress import CancelToken, Reporter, is_cancelled


def test_reporter_emits_events_with_eta():
    events = []
    reporter = Reporter("decode", 4, events.append)
    for _ in range(4):
        reporter.step()
    assert [e.done for e in events] == [1, 2, 3, 4]
    assert all(e.total == 4 and e.stage == "decode" for e in events)
    assert events[-1].eta == 0 and events[-1].fraction == 1.0
    assert events[0].eta is not None and events[0].eta >= 0


def test_cancel_token_stops_at_next_step():
    token = CancelToken()
    reporter = Reporter("render", 10, None, token)
    reporter.step()
    token.cancel()
    with pytest.raises(Cancelled, match="after 2 of 10"):
        reporter.step()


def test_cancel_accepts_event_and_callable():
    event = threading.Event()
    assert not is_cancelled(event)
    event.set()
    assert is_cancelled(event)
    assert is_cancelled(lambda: True)
    assert not is_cancelled(None)
    with pytest.raises(TypeError):
        is_cancelled(3)
