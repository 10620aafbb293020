"""The event-system self-test run in the ``godpy check`` process itself, when no daemon
answers (as ``god check`` does): start netlink, see a test process's exit, stop."""

from __future__ import annotations

import logging
import time

from godpy.event_handler import EventHandler
from godpy.log import get_logger


class _Collect(logging.Handler):
    """Keeps the messages the event handler logs (why netlink is unavailable)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run_self_test(events: EventHandler | None = None) -> dict:
    """Start the event system here, time the exit event of a test process, stop it.

    Args:
        events: the event handler to test (default: a fresh netlink one).

    Returns:
        ``{"events": backend name or "polling", "ok": bool, "detail": text}``, the shape
        of the daemon's answer to ``check``.
    """
    events = events or EventHandler()
    logger, collect = get_logger(), _Collect()
    logger.addHandler(collect)
    try:
        if not events.start():
            why = "; ".join(collect.messages) or "process-exit events are unavailable"
            return {"events": "polling", "ok": False, "detail": why}
        started = time.monotonic()
        ok = events.self_test()
        took = (time.monotonic() - started) * 1000
        name = events.backend.name
    finally:
        logger.removeHandler(collect)
        events.stop()
    detail = (
        f"exit event of a test process received in {took:.1f} ms"
        if ok
        else "no exit event received for a test process within 2 s"
    )
    return {"events": name, "ok": ok, "detail": detail}
