"""A watch's readiness, on its driver thread: sd_notify's READY=1 and WATCHDOG=1, the
``ready_if`` checks, and the deadline of the wait (``start_timeout``).

A mixin of ``Watch`` (its state, process, driver and log are the watch's own); the pure
bookkeeping is ``readiness.Readiness``.
"""

from __future__ import annotations

import logging

from godpy.readiness import READY_IF, parse
from godpy.task import UNMONITORED, duration


class WatchReadiness:
    """Readiness methods of ``Watch`` (driver thread only)."""

    def _readiness_setup(self) -> None:
        """Readiness as the config says: sd_notify's READY=1, and each ready_if check."""
        r = self._readiness
        r.notify = self.sd_notify is True
        r.checks = {
            cond: getattr(cond, "plugin_name", None) or type(cond).__name__
            for metric in self._metrics.get(READY_IF, ())
            for cond in metric.conditions
        }

    def _is_ready(self) -> bool:
        """Up with a live process, nothing in flight, and ready as configured."""
        return (
            self._state == "up"
            and self._action is None
            and self._readiness.ready
            and self._process.current_pid() is not None
        )

    def _begin_run(self) -> None:
        """A new run of the program (a start, or a restart it does itself): not ready
        until it says so; the wait's deadline runs from the first run not ready."""
        self._run += 1
        if self._driver is None:  # actions run by hand, outside a daemon: no timers
            return
        if self._dog is not None:
            self._dog.cancel()
            self._dog = None
        r = self._readiness
        waiting = r.since is not None
        r.begin(self._driver.clock())
        if not waiting:
            self._arm_deadline(self.start_timeout)

    def _arm_deadline(self, delay: float) -> None:
        """The wait's deadline in ``delay`` seconds. A timer still pending that falls due
        no later stays: it re-arms for what is left when it fires. So a restart, which is
        ready again long before, makes no timer (it cost each restart 0.05 ms)."""
        due = self._driver.clock() + delay
        if self._deadline is not None:
            if self._deadline_at <= due and not self._deadline.done():
                return
            self._deadline.cancel()
        self._deadline = self._driver.message_at(delay, "call", self._deadline_due)
        self._deadline_at = due

    def _deadline_due(self) -> None:
        """``start_timeout`` after the wait began: still not ready is late (its
        dependents' starts fail, and they wait on)."""
        self._deadline = None
        r = self._readiness
        if r.since is None or r.late or self._state == UNMONITORED:
            return
        if self._is_ready():
            self._sync_readiness()
            return
        left = r.since + self.start_timeout - self._driver.clock()
        if left > 0:
            self._arm_deadline(left)
            return
        r.late = f"not ready after {duration(self.start_timeout)}"
        if r.configured:
            self.applog(logging.WARNING, "%s (waiting for %s)", r.late, r.waiting_for())
        else:  # a crash loop says enough by itself
            self.applog(logging.INFO, "%s (not up)", r.late)
        self._settle_waiters()
        self.changed()

    def _sync_readiness(self) -> None:
        """After anything that may change readiness: the ready_if checks are polled only
        while up and not ready; once ready, the wait ends and the watchdog watches."""
        r = self._readiness
        checks = [c for c in r.checks if c not in r.passed]
        if self._state == UNMONITORED:
            r.settled()
            r.note = None
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
        elif self._is_ready():
            # a pending deadline stays: it finds nothing to wait for (one no-op call),
            # and the next restart needs no new timer
            if r.since is not None:
                r.settled()
                if r.configured:
                    r.note = None
                    self.applog(logging.INFO, "ready")
                    self.changed()
            self._arm_watchdog()
        elif self._state == "up" and self._action is None and self._process.pid is not None:
            if r.since is None:  # a process godpy re-adopted, not known to be ready
                r.since = self._driver.clock()
                self._arm_deadline(self.start_timeout)
            for cond in checks:
                if cond not in self._active:
                    self.attach(cond)
            return
        for cond in r.checks:
            if cond in self._active:
                self.detach(cond)

    def handle_poll(self, cond) -> None:
        """A ready_if check: once it holds it is done until the next run; other
        conditions as a Task's."""
        if cond not in self._readiness.checks:
            super().handle_poll(cond)
            return
        if cond not in self._active:
            return
        result = self.test_condition(cond)
        self.log_line(cond, result, result)
        if result:
            self.detach(cond)
            self._readiness.held(cond)
            self._sync_readiness()
            self._settle_waiters()
        elif cond in self._active and not self._driver.scheduled(cond):
            self._driver.schedule(cond, cond.interval)

    def notified(self, pid: int, uid: int, data: bytes) -> None:
        """A datagram on the notify socket from ``pid`` (the reader thread found it ours;
        it is believed only if ``pid`` still is, and runs as the watch's user)."""
        if self.sd_notify is not True or self._state == UNMONITORED:
            return
        if uid != self._process.spec.uid or not self._process.sent_by(pid):
            self.applog(
                logging.INFO,
                "sd_notify: ignored a message from pid %d (uid %d): not this watch's process"
                " running as uid %d",
                pid,
                uid,
                self._process.spec.uid,
            )
            return
        fields = parse(data)
        if self._readiness.take(fields, self._driver.clock()):
            self.applog(logging.INFO, "sd_notify: READY=1 from pid %d", pid)
        self._sync_readiness()
        self._settle_waiters()

    def _arm_watchdog(self) -> None:
        if not self.watchdog or self.sd_notify is not True or self._dog is not None:
            return
        left = self._readiness.ping_due(self._driver.clock(), self.watchdog)
        if left is not None:
            self._dog = self._driver.message_at(max(0.0, left), "call", self._bark, self._run)

    def _bark(self, run: int) -> None:
        """The watchdog's timer: a program silent for ``watchdog`` is restarted."""
        self._dog = None
        if run != self._run or self._state != "up" or self._action is not None:
            return
        left = self._readiness.ping_due(self._driver.clock(), self.watchdog)
        if left is None:
            return
        if left > 0:
            self._arm_watchdog()
            return
        why = f"no WATCHDOG=1 for {duration(self.watchdog)}"
        self.applog(logging.WARNING, "watchdog: %s; restarting", why)
        self._readiness.note = f"watchdog: {why}"
        self._pending_cause = ("watchdog", why)
        self.move("restart")
