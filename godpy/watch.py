"""Watch: a Task that keeps one process in the desired state."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future

from godpy import keepalive
from godpy.condition import normalize_notify
from godpy.process import Process, signal_number
from godpy.readiness import Readiness
from godpy.task import UNMONITORED, Task, duration
from godpy.watch_config import WatchConfig
from godpy.watch_readiness import WatchReadiness

STATES = ("init", "up", "start", "restart", "stop", "failed")
#: A process that has run this long (or stable_after, if shorter) came up: a start or
#: restart command reports success then.
CONFIRM = 0.5
_SIGNAL_ATTRS = ("stop_signal", "restart_signal")
_EXIT_CAUSES = ("process_exits", "process_running", "exit_code")


class Watch(WatchReadiness, WatchConfig, Task):
    """A process under supervision: the running side (its declared side, the attributes
    and their checks, is ``WatchConfig``).

    States: ``unmonitored``, ``init``, ``up``, ``start``, ``restart``, ``stop``, ``failed``.
    Only the watch's driver thread runs its methods, except ``snapshot``.
    """

    kind = "watch"
    valid_states = STATES
    initial_state = "init"

    def __init__(self, plugins=None, **attrs):
        self._process: Process | None = None
        self._keepalive: keepalive.Keepalive | None = None
        self._backoff = None  # keepalive's Backoff
        self._deferred = None  # the timer of a start waiting out its backoff
        self._next_start_at: float | None = None
        self._landing: str | None = None
        self._failure: str | None = None
        self._notify_failed = None
        self._waiters: list[tuple[Future, int]] = []  # (outcome, deaths when asked)
        self._deaths = 0  # moves back to start: the process died or did not come up
        self._death: str | None = None  # why, the last time
        self._stopped = False  # the operator stopped it: it stays stopped
        self._respec = False  # the process an earlier godpy ran had other settings
        self._sleep = time.sleep
        self._held: list[str] | None = None  # the dependencies a start waits for
        self._unmet = _none  # -> names of dependencies not ready now (any thread)
        self._late = _none  # -> "dependency db not ready after 30s" for each late one
        self._blocked: str | None = None  # why a held start failed (a late dependency)
        self._readiness = Readiness()  # set up from the config in _readiness_setup
        self._run = 0  # the program's runs so far: a timer of an earlier run is stale
        self._deadline = None  # the timer of the wait for readiness (start_timeout)
        self._deadline_at = 0.0  # when it falls due, on the driver's clock
        self._stop_ticket = None  # the shutdown backlog's ticket of a halt under way
        self._dog = None  # the watchdog's timer
        super().__init__(plugins, **attrs)

    def __setattr__(self, name, value):
        if name in _SIGNAL_ATTRS and value is not None:
            try:
                signal_number(value)
            except ValueError as exc:
                from godpy.errors import AttributeProblem

                raise AttributeProblem(f"{self.describe()}: {name}: {exc}") from None
        super().__setattr__(name, value)

    @property
    def process(self) -> Process | None:
        """The watched process (built when the config block closes)."""
        return self._process

    @property
    def pid(self) -> int | None:
        """Pid of the watched process, or None."""
        return self._process.pid if self._process else None

    # -- helpers that install metrics ----------------------------------------------------
    def attach_runtime(
        self, driver, events=None, notifier=None, on_change=None, event_log=None, on_record=None
    ) -> None:
        """Task wiring, plus: our child's exit (SIGCHLD) reaches the driver as a message,
        and the process's starts, stops and exits reach the EventLog."""
        super().attach_runtime(driver, events, notifier, on_change, event_log, on_record)
        self._readiness_setup()
        if self._process is not None:
            self._process.on_exit = self._child_exited
            self._process.on_event = self.publish
            self._process.on_sent = self._signal_sent

    def use_output(self, channel) -> None:
        """Capture the program's output through ``channel`` (the daemon's output keeper;
        before the driver runs)."""
        if self._process is not None:
            channel.configure(self.output_settings())
            self._process.output = channel

    def attach_dependencies(self, unmet, late=None) -> None:
        """``unmet()`` names the dependencies not ready now; a start waits until it
        names none (the daemon, owner of the graph, tells us when one changes).
        ``late()`` says which of them are not ready after their ``start_timeout``."""
        self._unmet = unmet
        self._late = late or _none

    def use_notify(self, address: str | None) -> None:
        """The program gets NOTIFY_SOCKET=``address`` (and WATCHDOG_USEC); before the
        driver runs. None: godpy has no notify socket (the program is never ready)."""
        if self._process is None or not self.sd_notify:
            return
        if address is None:
            self._process.notify_env = None
            return
        env = {"NOTIFY_SOCKET": address}
        if self.watchdog:
            env["WATCHDOG_USEC"] = str(int(self.watchdog * 1_000_000))
        self._process.notify_env = env

    def detach_runtime(self) -> None:
        """The driver is going away: the daemon reaps our children from now on."""
        if self._process is not None:
            self._process.on_exit = None

    def _child_exited(self) -> bool:
        """Main thread, on SIGCHLD: ask the driver to reap; False when it is gone."""
        future = self._driver.message("reap_child")
        return not (future.done() and future.exception() is not None)

    def refresh(self, event: dict | None = None) -> None:
        """Before a check: reap our child, follow the pid file (so a condition's
        ``watched_pid()`` reads what is true now, without side effects of its own). An
        exit event's status says at once that our child is gone."""
        status = (event or {}).get("status") if isinstance(event, dict) else None
        if status is not None:
            code = -(status & 0x7F) if status & 0x7F else status >> 8
            self._process.collect(event.get("pid"), code)
        else:
            self._process.current_pid()

    def reap_child(self) -> None:
        """Collect our child's exit status; without exit events, re-check at once."""
        self._process.reap()
        if self._events is None and self._state != UNMONITORED:
            self.poll_now()

    def landing_state(self, to_state: str) -> str:
        """God's simple mode: a start or restart state without metrics lands in ``up``.

        A start that gave up (``start_retries``) lands in ``failed``.
        """
        if self._landing is not None:
            landed, self._landing = self._landing, None
            return landed
        if to_state in ("start", "restart") and not self._metrics.get(to_state):
            return "up"
        return to_state

    def monitor(self) -> None:
        """Enter ``init`` when it has conditions, else ``up``."""
        if self._state == UNMONITORED:
            self.move("init" if self._metrics.get("init") else "up")

    def move(self, to_state: str) -> None:
        """Leave the current state (a start waiting out its backoff is cancelled)."""
        self._cancel_deferred()
        if to_state not in ("failed", "start"):
            self._failure = None
        if to_state == "start" and self._state in ("start", "restart", "up"):
            self._deaths += 1
            self._process.reap()
            self._death = self._process.exit_reason() or "process is not running"
        super().move(to_state)

    def moved(self) -> None:
        """Readiness and the waiters follow the new state before the daemon hears of
        it: a dependent judges readiness from the snapshot, and one that found an `up`
        dependency not ready yet waited for a notice that never came."""
        self._sync_readiness()
        self._settle_waiters()

    def action(self, name: str) -> None:
        """Run the start, stop or restart action, with hooks and grace periods."""
        if name == "start":
            self._start()
        elif name == "stop":
            self._act("stop", self._process.stop, self.stop_grace)
        elif name == "restart":
            self._restart()

    def action_pending(self) -> bool:
        """True while a start waits out its backoff or for its dependencies (its
        conditions wait with it)."""
        return self._deferred is not None or self._held is not None

    def _start(self) -> None:
        """Start unless the process runs after all; under keepalive, with the backoff."""
        if self._process.settle():
            self.applog(logging.INFO, "process %s is running; not starting another", self.pid)
            return
        unmet = self._unmet()
        if unmet:
            self.applog(logging.INFO, "waiting for %s before starting", ", ".join(unmet))
            self._held = unmet
            self._check_blocked()
            return
        delay = 0.0 if self._backoff is None else self._backoff.next_delay(self._process.lived())
        if delay is None:
            self._give_up()
        elif delay > 0:
            self._next_start_at = self._driver.clock() + delay
            self._deferred = self._driver.message_at(delay, "call", self._deferred_start)
            self.applog(
                logging.INFO,
                "%s; starting again in %s",
                self._process.exit_reason() or "process is not running",
                duration(delay),
            )
        else:
            self._act("start", self._process.start, self.start_grace)

    def _deferred_start(self) -> None:
        if self._deferred is None or self._state != "start":
            return
        self._deferred = self._next_start_at = None
        self._action = "starting"
        try:
            if not self._process.settle():
                self._act("start", self._process.start, self.start_grace)
        finally:
            self._action = None
        self.enable_state()
        self._sync_readiness()
        self._settle_waiters()
        self.changed()

    def dependency_changed(self, name: str, state: str) -> None:
        """Dependency ``name`` entered ``state``: a held start goes on once every
        dependency is ready; with ``restart_with_dependencies``, a dependency's restart
        (a crash, a limit) stops this process, which starts again once it is up."""
        if self._state == "up" and state in ("start", "restart") and self.restart_with_dependencies:
            self.applog(logging.INFO, "%s is restarting; stopping to start again after it", name)
            self._pending_cause = ("restart_with_dependencies", f"{name} restarted")
            if self._backoff is not None:
                self._backoff.rearm()  # our stop, not a death: start again at once
            self._action = "stopping"
            try:
                self.action("stop")
            finally:
                self._action = None
            self.move("start")
        elif self._held is not None and self._state == "start":
            unmet = self._unmet()
            if unmet:
                if unmet != self._held:
                    self._held = unmet
                    self.applog(logging.INFO, "waiting for %s before starting", ", ".join(unmet))
                self._check_blocked()
                return
            self.applog(logging.INFO, "%s ready; starting", ", ".join(self._held))
            self._held = self._blocked = None
            self._action = "starting"
            try:
                self._start()
            finally:
                self._action = None
            if not self.action_pending():
                self.enable_state()
            self._sync_readiness()
            self._settle_waiters()
            self.changed()

    def _check_blocked(self) -> None:
        """A held start fails (its commands answer so) while a dependency is late; it
        goes on waiting, and starts once the dependency is ready."""
        blocked = "; ".join(self._late()) or None
        if blocked != self._blocked:
            self._blocked = blocked
            if blocked:
                self.applog(logging.WARNING, "start failed: %s; starting once it is ready", blocked)
            self._settle_waiters()

    def _cancel_deferred(self) -> None:
        self._held = self._blocked = None
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = self._next_start_at = None

    def _give_up(self) -> None:
        tries = self._backoff.quick_deaths
        last = self._process.exit_reason() or "process is not running"
        self._failure = f"gave up after {tries} quick death(s) in a row: {last}"
        self._landing = "failed"
        self.publish("failed", {"pid": None, "reason": self._failure})
        self.applog(
            logging.ERROR, "failed: %s; 'godpy start %s' tries again", self._failure, self.name
        )
        if self._notify_failed is not None:
            names, priority, category = normalize_notify(self._notify_failed)
            message = f"{self.name} failed: {self._failure}"
            self.send_notification(names, message, priority, category, self._backoff)

    def _act(self, name: str, func, grace: float) -> None:
        self.settle()  # an action may take long: the record (a stop's intent) goes first
        self.run_hooks("before", name)
        if name == "start" and not self._process.self_daemonizing:
            self.applog(logging.INFO, "start: %s", self.start)
        func()
        if name == "start":
            self._after_start()
            self._begin_run()
        self.run_hooks("after", name)
        if grace + self.grace > 0:
            self._sleep(grace + self.grace)

    def _after_start(self) -> None:
        """The new process runs (its pid file written): if this start answers an exit,
        other exits of a burst may still wait for their drivers; their starts come
        before the rest of this one's bookkeeping (``backlog``)."""
        ticket, self._ticket = self._ticket, None
        _yield_to_backlog(ticket)

    def _signal_sent(self) -> None:
        """A stop has sent its signal: at shutdown, the other watches' signals come
        before the rest of this stop (``backlog``)."""
        ticket, self._stop_ticket = self._stop_ticket, None
        _yield_to_backlog(ticket)

    def _restart(self) -> None:
        self.run_hooks("before", "restart")
        if self._process.restart():
            self._process.restarts += 1
            self._begin_run()  # it restarts itself: ready again when it says so
        else:
            self._act("stop", self._process.stop, self.stop_grace)
            self._act("start", self._process.start, self.start_grace)
        self.run_hooks("after", "restart")
        if self.restart_grace + self.grace > 0:
            self._sleep(self.restart_grace + self.grace)

    # -- operations sent as messages -----------------------------------------------------
    def control(self, command: str):
        """Carry out a CLI-style command; return its outcome, or a Future of it.

        Every command first cancels the watch's timers (a flapping retry, a backoff
        start): the operator's intent wins. ``start``/``monitor``: monitor unless already
        up (a ``failed`` watch is re-armed); ``stop``: unmonitor and stop the process;
        ``restart``: move to restart; ``unmonitor``: stop watching only. For start,
        monitor and restart the Future resolves, on this driver, once the process is up
        (and has run ``CONFIRM`` seconds) or has clearly failed.
        """
        self.cancel_timers()
        self._stopped = command == "stop"
        if command in ("start", "monitor", "restart") and self._backoff is not None:
            self._backoff.rearm()
        if command in ("start", "monitor"):
            if self._state != "up":
                if self._state != UNMONITORED:
                    self.move(UNMONITORED)
                self.monitor()
        elif command == "stop":
            self.unmonitor()
            self._action = "stopping"
            try:
                self.action("stop")
            finally:
                self._action = None
            pid = self._process.current_pid()
            self.changed()
            return self.outcome(pid is None, None if pid is None else f"pid {pid} still runs")
        elif command == "restart":
            self.move("restart")
        elif command == "unmonitor":
            self.unmonitor()
            self.changed()
            return self.outcome(True)
        else:
            raise ValueError(f"unknown command {command!r}")
        waiter: Future = Future()
        self._waiters.append((waiter, self._deaths))
        self._settle_waiters()
        return waiter

    def _settle_waiters(self) -> None:
        """Resolve the commands waiting for this watch to come up or fail (driver only)."""
        if not self._waiters:
            return
        waiting = []
        for waiter, deaths in self._waiters:
            if waiter.cancelled():
                continue
            verdict = self._verdict(deaths)
            if verdict is None:
                waiting.append((waiter, deaths))
            elif not waiter.done():
                waiter.set_result(self.outcome(*verdict))
        self._waiters = waiting

    def _verdict(self, deaths: int) -> tuple[bool, str | None] | None:
        """(ok, reason) once clear, else None: up for CONFIRM seconds, or failed."""
        reason = self._process.exit_reason() or "process is not running"
        if self._state == "up" and self._action is None:
            if self._process.current_pid() is None:
                return None if self._keepalive is not None else (False, reason)
            lived = self._process.lived()
            wait = min(CONFIRM, self._backoff.stable_after if self._backoff else CONFIRM)
            if lived is not None and lived < wait:
                self._driver.message_at(wait - lived, "call", self._settle_waiters)
                return None
            if not self._readiness.ready:  # up, not ready: wait for it, or its deadline
                late = self._readiness.late
                return (False, self._readiness.not_ready()) if late else None
            return True, None
        if self._held is not None and self._blocked:
            return False, self._blocked
        if self._state == "failed":
            return False, self._failure
        if self._state == UNMONITORED:
            return False, self.cause() or "unmonitored"
        if self._deferred is not None:
            return False, f"{reason}; next start in {duration(self._next_start_in())}"
        if self._deaths > deaths:
            return False, self._death
        return None

    def _next_start_in(self) -> float:
        at = self._next_start_at
        return 0.0 if at is None else max(0.0, at - self._driver.clock())

    # -- the state file -------------------------------------------------------------------
    def intent(self) -> str:
        """``monitored``, ``unmonitored``, ``stopped`` (by the operator) or ``failed``."""
        if self._halted is not None:
            return self._halted
        if self._state == "failed":
            return "failed"
        return "stopped" if self._stopped else super().intent()

    def persist(self) -> dict:
        """The task's record plus the process (pid, start time, counters, last exit), the
        quick deaths in a row and why it failed (driver thread)."""
        record = super().persist()
        record.update(self._process.export())
        record["quick_deaths"] = self._backoff.quick_deaths if self._backoff else 0
        record["failure"] = self._failure
        record["halted"] = self._halted is not None
        record["ready"] = self._readiness.ready and self._state == "up"
        return record

    def restore(self, saved: dict) -> None:
        """Re-adopt the process an earlier godpy ran, if it still runs (identity-checked),
        and carry its counters and history on (before the driver starts)."""
        super().restore(saved)
        alive = self._process.restore(saved)
        if alive and saved.get("ready"):  # it said so to the last godpy: it will not again
            self._readiness_setup()
            self._readiness.notified = True
            self._readiness.passed = set(self._readiness.checks)
        self._respec = alive and saved.get("spec") not in (None, self._process.fingerprint())
        if not alive and saved.get("pid") and saved.get("intent") == "monitored":
            self._process.last_exit = "exited while godpy was down"
        if self._backoff is not None:
            self._backoff.quick_deaths = int(saved.get("quick_deaths") or 0)
        self._stopped = saved.get("intent") == "stopped"

    def resume(self) -> None:
        """A failed watch stays failed, a stopped one stopped; the rest as Task's."""
        saved = self._restored or {}
        stopped = saved.get("intent") == "stopped"
        respec = self._respec and saved.get("intent") == "monitored"
        if (stopped or respec) and self._process.current_pid() is not None:
            why = "stopped by the operator" if stopped else "run with other settings"
            self.applog(logging.INFO, "its process was %s before godpy went down", why)
            self._action = "stopping"  # an interrupted stop, or a restart that is due
            try:
                self.action("stop")
            finally:
                self._action = None
        if saved.get("intent") == "failed":
            self._restored = None
            self._state, self._failure = "failed", saved.get("failure")
            self.changed()
            return
        super().resume()

    def take_intent(self, old: Watch) -> None:
        """Replacing ``old`` on reload: an operator's stop still holds, and what its
        program said of its readiness (main loop, while neither driver runs a command)."""
        self._stopped = old._stopped
        mine, theirs = self._readiness, old._readiness  # its program said READY=1 once
        self._readiness_setup()
        mine.notified, mine.status, mine.last_ping = theirs.notified, theirs.status, None
        if theirs.ready:
            mine.passed = set(mine.checks)

    def halt(self, ticket=None) -> None:
        """The daemon shuts down: stop monitoring and stop the process, keeping intent.

        ``ticket``: this stop's place in the shutdown's backlog, given up once the
        signal is sent (or, by the daemon, once the halt is done): every watch's signal
        goes before any watch's bookkeeping."""
        self._stop_ticket = ticket
        try:
            super().halt()
            self._action = "stopping"
            try:
                self.action("stop")
            finally:
                self._action = None
        finally:
            self._stop_ticket = None
        self.changed()

    def remove_file(self, path: str) -> bool:
        """Delete ``path`` with the rights of the watch's user (for behaviors); False when
        there was nothing to delete.

        Raises:
            OSError: it exists and could not be deleted.
        """
        return self._process.remove_file(path)

    def send_signal(self, sig) -> int | None:
        """Send ``sig`` to the watched process; return its pid, or None if not running."""
        pid = self._process.current_pid()
        if pid is None or not self._process.signal(sig):
            return None
        self.applog(logging.INFO, "sent signal %s to pid %d", sig, pid)
        return pid

    def _down_reason(self, cause: str | None) -> str | None:
        """Why no process runs, for status."""
        if self._cause and self._cause[0] in _EXIT_CAUSES:  # the exit status says it all
            cause = None
        if self._stopped and self._state == UNMONITORED:
            cause = f"stopped by the operator ('godpy start {self.name}' starts it)"
        proc = self._process
        exit_reason = proc.exit_reason() if proc and not self._failure else None
        reasons = [self._failure or cause, exit_reason]
        return "; ".join(dict.fromkeys(r for r in reasons if r)) or None

    def snapshot(self) -> dict:
        """Plain data for status: name, group, state, pid, uptime, restarts, reason, and
        ``next_start_in`` (seconds until a start waiting out its backoff, else None)."""
        data = super().snapshot()
        proc = self._process
        pid, uptime = proc.observe() if proc else (None, None)
        data["pid"], data["uptime"] = pid, uptime
        data["restarts"] = proc.restarts if proc else 0
        data["reason"] = None if pid else self._down_reason(data.get("reason"))
        if self._next_start_at is not None and self._driver is not None:
            data["next_start_in"] = round(self._next_start_in(), 3)
        held = self._held
        if held and pid is None:
            data["reason"] = f"waiting for {', '.join(held)}"
            if self._blocked:
                data["reason"] = f"{self._blocked}; {data['reason']}"
        r = self._readiness
        up = data["state"] == "up" and pid is not None
        data["not_ready"] = r.not_ready() if up and r.configured else None
        data["notify_status"] = r.status if pid else None
        data["late"] = r.late

        if data["state"] == "up" and pid is None and data["action"] is None:
            data["state"] = "down"  # status never shows up without a live process
        return data


def _none() -> list[str]:
    """No dependency is unmet (a watch outside a daemon)."""
    return []


def _yield_to_backlog(ticket) -> None:
    """The urgent part of a driver's work is done (a start answering an exit, a stop's
    signal at shutdown): give up ``ticket``, and let the drivers that still have theirs
    to do go first (``backlog``)."""
    if ticket is not None:
        ticket.done()
        ticket.backlog.wait_clear()
