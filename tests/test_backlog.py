"""Backlog: exits waiting for their drivers; a started driver defers its bookkeeping."""

import threading

from conftest import FakeClock

from godpy.backlog import STALE, Backlog


def test_clear_once_every_ticket_is_done():
    clock = FakeClock()
    backlog = Backlog(clock)
    first, second = backlog.enter(), backlog.enter()
    assert backlog.pending == 2 and not backlog.wait_clear(0)
    first.done()
    first.done()  # done twice counts once
    assert backlog.pending == 1 and not backlog.wait_clear(0)
    second.done()
    assert backlog.pending == 0 and backlog.wait_clear(0)


def test_a_stale_ticket_holds_nobody_up():
    """A ticket whose driver never acts on it (a long stop, a stopped driver) stops
    counting after STALE seconds."""
    clock = FakeClock()
    backlog = Backlog(clock)
    backlog.enter()
    clock.advance(STALE / 2)
    young = backlog.enter()
    clock.advance(STALE / 2)
    assert not backlog.wait_clear(0)  # the young one still counts
    young.done()
    assert backlog.wait_clear(0) and backlog.pending == 0


def test_a_waiting_driver_goes_on_when_the_last_ticket_is_done():
    """The wait ends when the last ticket is done (the fake clock never makes it
    stale, so only the notification can end it)."""
    backlog = Backlog(FakeClock())
    ticket = backlog.enter()
    result = []
    waiter = threading.Thread(target=lambda: result.append(backlog.wait_clear(30)))
    waiter.start()
    ticket.done()
    waiter.join(30)
    assert result == [True]
    assert not waiter.is_alive()
