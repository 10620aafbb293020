"""EventHandler: pid -> callbacks, the self-test, and falling back to polling."""

import logging

from conftest import needs_root

from godpy.event_handler import EventHandler


class _FailingBackend:
    name = "broken"

    def __init__(self, on_exit, on_overflow):
        pass

    def start(self):
        raise OSError(1, "Operation not permitted")


def test_callbacks_run_once_for_their_pid():
    """dispatch_exit runs the callbacks of that pid once, and no others."""
    eh, calls = EventHandler(), []
    eh.register(10, lambda p: calls.append(("a", p["pid"])))
    eh.register(10, lambda p: calls.append(("b", p["pid"])))
    eh.register(11, lambda p: calls.append(("c", p["pid"])))
    eh.dispatch_exit(10, {"pid": 10})
    eh.dispatch_exit(10, {"pid": 10})
    assert calls == [("a", 10), ("b", 10)]
    assert eh.watching(11) and not eh.watching(10)


def test_deregister_forgets_one_callback():
    """A deregistered callback is not called; the pid is forgotten when none remain."""
    eh, calls = EventHandler(), []

    def cb(p):
        calls.append(p)

    eh.register(5, cb)
    eh.deregister(5, cb)
    eh.dispatch_exit(5, {"pid": 5})
    assert calls == [] and not eh.watching(5)


def test_unavailable_backend_falls_back_to_polling_with_one_warning(caplog):
    """If the backend cannot start, start() returns False and logs one warning."""
    eh = EventHandler()
    with caplog.at_level(logging.WARNING, logger="godpy"):
        assert eh.start(_FailingBackend) is False
    assert not eh.loaded
    warnings = [r for r in caplog.records if "polling instead" in r.getMessage()]
    assert len(warnings) == 1 and "Operation not permitted" in warnings[0].getMessage()


@needs_root
def test_netlink_backend_passes_its_self_test():
    """As root, the netlink backend starts and sees a killed child's exit."""
    eh = EventHandler()
    try:
        assert eh.start() is True
        assert eh.self_test()
    finally:
        eh.stop()
