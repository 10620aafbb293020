"""Daemon: owns the tasks, the event handler and the children; runs until told to stop.

The main thread installs signal handlers that only enqueue the signal; its loop reaps
children and carries out what the signals ask for.
"""

from __future__ import annotations

import logging
import queue
import signal
import time
from concurrent.futures import TimeoutError as FutureTimeout

from godpy import config
from godpy.driver import Driver
from godpy.event_handler import EventHandler
from godpy.log import WatchLogBuffer, get_logger
from godpy.process import Children
from godpy.task import Task
from godpy.watch import Watch

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Daemon:
    """A running godpy.

    Args:
        config_path: the config file to load.
        use_events: try netlink process events (``--no-events`` turns it off).
    """

    def __init__(self, config_path: str, use_events: bool = True):
        self.config_path = config_path
        self.use_events = use_events
        self.children = Children()
        self.events = EventHandler(on_overflow=self.recheck_all)
        self.tasks: dict[str, Task] = {}
        self.settings: dict = {}
        self.signals: queue.SimpleQueue = queue.SimpleQueue()
        self.log_buffer = WatchLogBuffer()
        self._running = False

    # -- start ---------------------------------------------------------------------------
    def load(self) -> None:
        """Start the event system, then load and check the config (raises ConfigError)."""
        events = self.use_events and self.events.start()
        try:
            session = config.load(self.config_path, events, self.children)
        except Exception:
            self.events.stop()
            raise
        if not session.events:
            self.events.stop()
        self.settings = session.settings
        self.log_buffer.size = int(session.settings["log_buffer_size"])
        for task in session.tasks:
            self.tasks[task.name] = task

    def start(self) -> None:
        """Give every task a driver and monitor those with ``autostart``."""
        get_logger().addHandler(self.log_buffer)
        events = self.events if self.events.loaded else None
        for task in self.tasks.values():
            driver = Driver(task)
            task.attach_runtime(driver, events, self.notify)
            driver.start()
        for task in self.tasks.values():
            if task.autostart:
                task.driver.message("monitor")
        self._running = True
        get_logger().info("godpy started with %d task(s)", len(self.tasks))

    def notify(self, task, cond, names, message, priority, category) -> None:
        """Notification hook: contacts arrive in their own module; until then, log."""
        task.applog(logging.INFO, "notify %s: %s", ", ".join(names), message)

    def recheck_all(self) -> None:
        """Events may have been lost: every task tests its poll conditions now."""
        for task in list(self.tasks.values()):
            if task.driver is not None:
                task.driver.message("poll_now")

    # -- main loop -----------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        """Signal handlers only enqueue; the main loop acts."""
        for sig in (*_STOP_SIGNALS, signal.SIGCHLD):
            signal.signal(sig, lambda signum, frame: self.signals.put(signum))

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT, then stop every watch; return the exit code."""
        self.install_signal_handlers()
        while True:
            try:
                signum = self.signals.get(timeout=1.0)
            except queue.Empty:
                signum = None
            self.children.reap()
            if signum in _STOP_SIGNALS:
                get_logger().info("received %s; stopping", signal.Signals(signum).name)
                break
        return self.terminate()

    # -- stop ----------------------------------------------------------------------------
    def terminate_timeout(self) -> float:
        """``God.terminate_timeout``, else the longest stop_timeout plus a margin."""
        configured = self.settings.get("terminate_timeout")
        if configured is not None:
            return float(configured)
        stops = [t.stop_timeout for t in self.tasks.values() if isinstance(t, Watch)]
        return max(stops, default=0) + 10.0

    def terminate(self) -> int:
        """Stop every watch (in parallel, one driver each), then every driver; exit code."""
        deadline = time.monotonic() + self.terminate_timeout()
        pending = []
        for task in self.tasks.values():
            if task.driver is None:
                continue
            op = ("control", "stop") if isinstance(task, Watch) else ("unmonitor",)
            pending.append((task, task.driver.message(*op)))
        failed = []
        for task, future in pending:
            try:
                future.result(max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                failed.append(task.name)
            except Exception:
                pass
        if failed:
            get_logger().error(
                "could not stop all watches within %gs: %s",
                self.terminate_timeout(),
                ", ".join(failed),
            )
        for task in self.tasks.values():
            if task.driver is not None:
                task.driver.shutdown()
        self.events.stop()
        self.children.reap()
        get_logger().removeHandler(self.log_buffer)
        get_logger().info("godpy stopped")
        return 1 if failed else 0
