"""Driver: one thread per task serving a time-ordered queue of polls and operations.

Only the driver thread changes its task's state. Other threads call ``message()``,
which puts an operation at the front of the queue (ahead of every pending poll, behind
earlier operations) and returns a Future for its result.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from godpy.log import get_logger

_FRONT = float("-inf")


class Operation:
    """A method of the task to run on the driver thread, with its arguments."""

    __slots__ = ("name", "args", "future")

    def __init__(self, name: str, args: tuple, future: Future):
        self.name = name
        self.args = args
        self.future = future


class Driver:
    """The per-task event loop.

    Args:
        task: the task whose methods operations call and whose polls are served; its
            ``settle()``, if it has one, runs whenever nothing more is due.
        clock: a monotonic clock in seconds; tests pass a fake one.
    """

    def __init__(self, task, clock: Callable[[], float] = time.monotonic):
        self.task = task
        self.clock = clock
        self._settle = getattr(task, "settle", lambda: None)
        self._heap: list[list] = []
        self._seq = itertools.count()
        self._polls: dict = {}
        self._cv = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- queue ---------------------------------------------------------------------------
    def message(self, name: str, *args) -> Future:
        """Queue ``task.<name>(*args)`` at the front; return a Future of its result."""
        return self._queue(_FRONT, name, args)

    def message_at(self, delay: float, name: str, *args) -> Future:
        """Queue ``task.<name>(*args)`` to run in ``delay`` seconds: a timer.

        Unlike a poll, a timer is neither replaced by a later one nor dropped by a move;
        cancel it with the returned Future's ``cancel()``.
        """
        return self._queue(self.clock() + delay, name, args)

    def _queue(self, at: float, name: str, args: tuple) -> Future:
        future: Future = Future()
        with self._cv:
            stopping = self._stopping
            if not stopping:
                entry = [at, next(self._seq), Operation(name, args, future)]
                heapq.heappush(self._heap, entry)
                self._cv.notify()
        if stopping:  # nobody would ever serve it; fail now rather than at the caller's timeout
            future.set_exception(RuntimeError(f"{self.task.name}: driver stopped"))
        return future

    def schedule(self, condition, delay: float) -> None:
        """Queue a poll of ``condition`` in ``delay`` seconds, replacing a pending one."""
        with self._cv:
            self._cancel(condition)
            entry = [self.clock() + delay, next(self._seq), condition]
            self._polls[condition] = entry
            heapq.heappush(self._heap, entry)
            if self._heap[0] is entry:
                self._cv.notify()

    def unschedule(self, condition) -> None:
        """Drop the pending poll of ``condition``; queued operations are never touched."""
        with self._cv:
            self._cancel(condition)

    def scheduled(self, condition) -> bool:
        """True when a poll of ``condition`` is pending."""
        with self._cv:
            return condition in self._polls

    def due_in(self, condition) -> float | None:
        """Seconds until the pending poll of ``condition`` (None if none)."""
        with self._cv:
            entry = self._polls.get(condition)
            return None if entry is None else entry[0] - self.clock()

    def pending(self) -> int:
        """Number of live entries (operations and polls) in the queue."""
        with self._cv:
            return sum(1 for entry in self._heap if entry[2] is not None)

    def _cancel(self, condition) -> None:
        entry = self._polls.pop(condition, None)
        if entry is not None:
            entry[2] = None

    def pop(self, block: bool = True):
        """Return the next due item, waiting for it when ``block``; None when stopping."""
        with self._cv:
            while True:
                while self._heap and self._heap[0][2] is None:
                    heapq.heappop(self._heap)
                if self._stopping:
                    return None
                wait = None
                if self._heap:
                    wait = self._heap[0][0] - self.clock()
                    if wait <= 0:
                        entry = heapq.heappop(self._heap)
                        item = entry[2]
                        if not isinstance(item, Operation):
                            self._polls.pop(item, None)
                        return item
                if not block:
                    return None
                self._cv.wait(wait)

    # -- serving -------------------------------------------------------------------------
    def dispatch(self, item) -> None:
        """Run one queue item; exceptions are logged with the task's name, never raised."""
        if isinstance(item, Operation):
            if not item.future.set_running_or_notify_cancel():
                return  # the caller cancelled it; setting a result would raise
            try:
                result = getattr(self.task, item.name)(*item.args)
            except Exception as exc:
                get_logger().exception(
                    "%s error in %s: %s",
                    self.task.name,
                    item.name,
                    exc,
                    extra={"watch": self.task.name},
                )
                item.future.set_exception(exc)
            else:
                item.future.set_result(result)
            return
        try:
            self.task.handle_poll(item)
        except Exception as exc:
            get_logger().exception(
                "%s error while polling %s: %s",
                self.task.name,
                type(item).__name__,
                exc,
                extra={"watch": self.task.name},
            )

    def run_pending(self) -> int:
        """Serve every item already due, without waiting (for tests with a fake clock)."""
        served = 0
        while (item := self.pop(block=False)) is not None:
            self.dispatch(item)
            served += 1
        self._settle()
        return served

    def in_driver_thread(self) -> bool:
        """True when called from this driver's own thread."""
        return threading.current_thread() is self._thread

    def start(self) -> None:
        """Start the driver thread."""
        self._thread = threading.Thread(
            target=self._run, name=f"driver-{self.task.name}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self.pop(block=False)
            if item is None:  # nothing due: the task settles before the driver waits
                self._settle()
                item = self.pop()
                if item is None:
                    break
            self.dispatch(item)
        self._settle()
        self._fail_pending()

    def _fail_pending(self) -> None:
        with self._cv:
            items = [entry[2] for entry in self._heap if isinstance(entry[2], Operation)]
            self._heap.clear()
            self._polls.clear()
        for op in items:
            if op.future.set_running_or_notify_cancel():
                op.future.set_exception(RuntimeError(f"{self.task.name}: driver stopped"))

    def shutdown(self, timeout: float | None = 5.0) -> None:
        """Wake the thread, let it finish the current item, and join it."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        if self._thread is None:
            self._fail_pending()  # no thread to do it on its way out
        elif self._thread is not threading.current_thread():
            self._thread.join(timeout)
