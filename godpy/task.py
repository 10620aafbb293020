"""Task: a generic state machine whose states hold metrics of conditions."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from godpy.behavior import BehaviorError
from godpy.command_runner import run_command
from godpy.condition import EventCondition, PollCondition, TriggerCondition, normalize_notify
from godpy.log import get_logger, watch_log
from godpy.task_config import LIFECYCLE, UNMONITORED, TaskConfig


class Task(TaskConfig):
    """A named state machine driven by its conditions (see TaskConfig for its attributes).

    Only the task's driver thread changes its state; other threads send it messages.
    """

    def __init__(self, plugins=None, **attrs):
        self._state = UNMONITORED
        self._active: set = set()
        self._triggers: list[TriggerCondition] = []
        self._driver = None
        self._events = None
        self._notifier: Callable | None = None
        self._cause: tuple[str, str | None] | None = None  # (condition name, its info)
        self._pending_cause: tuple[str, str | None] | None = None
        self._timers: dict = {}  # Future -> due time on the driver's clock
        self._action: str | None = None  # "starting", ... while an action runs
        self._on_change: Callable | None = None
        self._on_record: Callable | None = None
        self._dirty = False  # the record changed since the daemon last had it
        self._ticket = None  # the backlog ticket of the exit event being handled
        self._event_log = None  # the daemon's EventLog (``godpy events``)
        self._halted: str | None = None  # the intent a daemon shutdown left alone
        self._halted_retry_at: float | None = None  # and the retry it cancelled
        self._restored: dict | None = None  # the state file's record, until resumed
        super().__init__(plugins, **attrs)

    @property
    def state(self) -> str:
        """The current state (read-only; only the driver changes it)."""
        return self._state

    @property
    def driver(self):
        """The driver serving this task (None before the daemon starts it)."""
        return self._driver

    @property
    def events(self):
        """The event handler for event conditions (None when polling only)."""
        return self._events

    # -- runtime wiring ------------------------------------------------------------------
    def attach_runtime(
        self, driver, events=None, notifier=None, on_change=None, event_log=None, on_record=None
    ) -> None:
        """Give the task its driver, event handler and notification hook, the EventLog
        it publishes to, ``on_change(task)``, called on the driver whenever the task's
        state or readiness may have changed, and ``on_record(task)``, called on the
        driver when it has nothing more due and the task's record changed meanwhile."""
        self._driver = driver
        self._events = events
        self._notifier = notifier
        self._on_change = on_change
        self._event_log = event_log
        self._on_record = on_record

    def changed(self) -> None:
        """Tell the daemon that this task changed (driver thread): at once (its
        dependents hear of each state), and its record once the driver settles."""
        self._dirty = True
        if self._on_change is not None:
            self._on_change(self)

    def settle(self) -> None:
        """The driver has nothing more due (driver thread): hand on the record if it
        changed. A restart moves twice, one dispatch after the other; one record then
        is enough (building and queueing each cost the restart 0.1 ms)."""
        if self._dirty:
            self._dirty = False
            if self._on_record is not None:
                self._on_record(self)

    def publish(self, kind: str, fields: dict) -> None:
        """Add an event of this task to the daemon's EventLog (driver thread; cheap)."""
        if self._event_log is not None:
            self._event_log.publish(self.name, self.group, kind, fields)

    def applog(self, level: int, message: str, *args) -> None:
        """Log ``"<name> <message>"`` and keep it in this task's log ring."""
        watch_log(level, f"{self.name} {message}", args, self.name)

    # -- state machine (driver thread only) ----------------------------------------------
    def move(self, to_state: str) -> None:
        """Leave the current state for ``to_state``: detach, act, attach, broadcast."""
        from_state = self._state
        self.applog(logging.INFO, "move '%s' to '%s'", from_state, to_state)
        self.publish("state", {"from": from_state, "to": to_state})
        self._cause, self._pending_cause = self._pending_cause, None
        for metric in self._metrics.get(from_state, ()):
            metric.disable()
        if to_state == UNMONITORED:
            for metric in self._metrics.get(LIFECYCLE, ()):
                metric.disable()
        self._action = ACTIONS.get(to_state)
        try:
            self.action(to_state)
        finally:
            self._action = None
        landed = self.landing_state(to_state)
        if from_state == UNMONITORED and landed != UNMONITORED:
            for metric in self._metrics.get(LIFECYCLE, ()):
                metric.enable()
        self._state = landed
        if not self.action_pending():
            self.enable_state()
        for cond in list(self._triggers):
            cond.process("state_change", (from_state, to_state))
        if landed != to_state:
            self.applog(logging.INFO, "landed in '%s'", landed)
            self.publish("state", {"from": to_state, "to": landed})
        self.moved()
        self.changed()  # last: the dependents judge the task from a whole snapshot

    def moved(self) -> None:
        """Hook run at the end of a move, before the daemon hears of it (Watch: its
        readiness and the callers waiting for it follow the new state)."""

    def enable_state(self) -> None:
        """Attach the current state's conditions (after its action has run)."""
        for metric in self._metrics.get(self._state, ()):
            metric.enable()

    def action_pending(self) -> bool:
        """True when the current state's action waits for a timer (its conditions too)."""
        return False

    def refresh(self, event: dict | None = None) -> None:
        """Bring what the task knows of the world up to date before a check or an event
        (Watch: its process); a generic task has nothing to refresh."""

    def landing_state(self, to_state: str) -> str:
        """The state actually entered after the action of ``to_state`` (hook for Watch)."""
        return to_state

    def action(self, name: str) -> None:
        """Run the command bound to state ``name`` with the behaviors' hooks around it."""
        command = self._commands.get(name)
        if command is None:
            return
        self.run_hooks("before", name)
        self.applog(logging.INFO, "%s: %s", name, getattr(command, "__name__", command))
        try:
            if callable(command):
                command()
            else:
                result = run_command(command, self.command_timeout)
                if result.timed_out:
                    self.applog(
                        logging.WARNING,
                        "%s command still running after %gs; killed",
                        name,
                        self.command_timeout,
                    )
                elif result.code:
                    self.applog(
                        logging.WARNING,
                        "%s command exited with code %s: %s",
                        name,
                        result.code,
                        result.last_line(),
                    )
        except Exception as exc:
            get_logger().exception(
                "%s %s command failed: %s", self.name, name, exc, extra={"watch": self.name}
            )
        self.run_hooks("after", name)

    def run_hooks(self, when: str, action: str) -> None:
        """Call ``<when>_<action>`` on every behavior; log results and errors."""
        for beh in self._behaviors:
            hook = beh.hook(when, action)
            if hook is None:
                continue
            try:
                result = hook()
            except BehaviorError as exc:
                self.applog(
                    logging.ERROR, "%s_%s failed in %s: %s", when, action, beh.describe(), exc
                )
                continue
            except Exception as exc:
                get_logger().exception(
                    "%s %s_%s failed in %s: %s",
                    self.name,
                    when,
                    action,
                    beh.describe(),
                    exc,
                    extra={"watch": self.name},
                )
                continue
            if result:
                self.applog(
                    logging.INFO, "%s_%s: %s (%s)", when, action, result, type(beh).__name__
                )

    def attach(self, cond) -> None:
        """Activate a condition: schedule a poll now, register an event, join triggers."""
        self._active.add(cond)
        if isinstance(cond, PollCondition):
            self._driver.schedule(cond, cond.first_check)
        elif isinstance(cond, EventCondition):
            cond.arm()
            cond.register()
        elif isinstance(cond, TriggerCondition):
            cond.arm()
            self._triggers.append(cond)

    def detach(self, cond) -> None:
        """Deactivate a condition; pending operations in the queue are left alone."""
        self._active.discard(cond)
        if isinstance(cond, PollCondition):
            self._driver.unschedule(cond)
            cond.reset()
        elif isinstance(cond, EventCondition):
            cond.disarm()
            cond.deregister()
        elif isinstance(cond, TriggerCondition):
            cond.disarm()
            if cond in self._triggers:
                self._triggers.remove(cond)

    def test_condition(self, cond: PollCondition) -> bool:
        """Refresh, then test ``cond``; an exception is logged and counts as False."""
        self.refresh()
        try:
            return cond.check()
        except Exception as exc:
            get_logger().exception(
                "%s error in %s: %s", self.name, cond.describe(), exc, extra={"watch": self.name}
            )
            return False

    def handle_poll(self, cond: PollCondition) -> None:
        """Test a due poll condition, log it, notify, and move or reschedule."""
        if cond not in self._active:
            return
        result = self.test_condition(cond)
        destination = (cond.metric.destination or {}).get(result)
        if result and cond.transition is not None:
            destination = cond.transition
        self.log_line(cond, result, destination is not None)
        if result and cond.notify:
            self.notify(cond)
        if destination is not None:
            self._pending_cause = _cause(cond)
            self.move(destination)
        if cond in self._active and not self._driver.scheduled(cond):
            self._driver.schedule(cond, cond.interval)

    def trigger(self, cond, token: int, payload=None) -> None:
        """Post an event or trigger of ``cond`` to the front of the driver's queue."""
        ticket = payload.get("ticket") if isinstance(payload, dict) else None
        future = self._driver.message("handle_event", cond, token, payload)
        if ticket is not None:  # given up once served, or never served (driver stopped)
            future.add_done_callback(lambda _: ticket.done())

    def handle_event(self, cond, token: int, payload=None) -> None:
        """React to a fired event or trigger condition, unless it is stale.

        An exit event's backlog ticket (``backlog``) is given up once this returns
        (``trigger``), or earlier, when the task has acted on it (a Watch: its new
        process started)."""
        self._ticket = payload.pop("ticket", None) if isinstance(payload, dict) else None
        try:
            self._handle_event(cond, token, payload)
        finally:
            self._ticket = None

    def _handle_event(self, cond, token: int, payload=None) -> None:
        if cond not in self._active or not cond.is_current(token):
            self.applog(logging.DEBUG, "ignored stale event from %s", type(cond).__name__)
            return
        self.refresh(payload)
        if not cond.accept(payload):
            return
        destination = cond.transition or (cond.metric.destination or {}).get(True)
        self.log_line(cond, True, True)
        if cond.notify:
            self.notify(cond)
        if destination is not None:
            self._pending_cause = _cause(cond)
            self.move(destination)

    def log_line(self, cond, result: bool, triggers: bool) -> None:
        """Log one line per test: ``[trigger]`` at info level, ``[ok]`` at debug level."""
        status, level = ("[trigger]", logging.INFO) if triggers else ("[ok]", logging.DEBUG)
        info = cond.info
        lines = [info] if isinstance(info, str) or info is None else list(info)
        for text in lines:
            text = f" {text}" if text else ""
            self.applog(level, "%s%s (%s)", status, text, type(cond).__name__)
        self._last_line = f"{self.name} {status}{' ' + '; '.join(map(str, lines)) if info else ''}"

    def notify(self, cond) -> None:
        """Hand a triggered condition's message to the notification hook."""
        names, priority, category = normalize_notify(cond.notify)
        message = getattr(self, "_last_line", f"{self.name} [trigger]")
        self.send_notification(names, message, priority, category, cond)

    def send_notification(self, names, message, priority=None, category=None, source=None):
        """Send ``message`` to contacts ``names`` through the notification hook.

        ``source`` is the condition (or behavior) that speaks; failures are logged.
        """
        notice = {"contacts": list(names), "message": message}
        self.publish("notify", {**notice, "priority": priority, "category": category})
        if self._notifier is None:
            self.applog(logging.INFO, "notify %s: %s", ", ".join(names), message)
            return
        try:
            self._notifier(self, source, names, message, priority, category)
        except Exception as exc:
            get_logger().exception(
                "%s notification failed: %s", self.name, exc, extra={"watch": self.name}
            )

    # -- operations sent as messages -----------------------------------------------------
    def monitor(self) -> None:
        """Start monitoring: enter the initial state."""
        if self._state == UNMONITORED:
            self.move(self.initial_state)

    def unmonitor(self) -> None:
        """Stop monitoring: every condition and timer is dropped, processes are left alone."""
        self.cancel_timers()
        if self._state != UNMONITORED:
            self.move(UNMONITORED)

    def after(self, delay: float, func: Callable, *args):
        """Run ``func(*args)`` on this task's driver in ``delay`` seconds: a timer.

        Any operator command on the task (``stop``, ``unmonitor``, ``monitor``, ...)
        cancels it: the operator's intent wins over every timer. Returns a Future whose
        ``cancel()`` cancels it.
        """
        future = self._driver.message_at(delay, "call", self._fire_timer, func, args)
        # a new dict each time: status reads it from other threads while we change it
        self._timers = {**self._timers, future: self._driver.clock() + delay}
        return future

    def _fire_timer(self, func: Callable, args: tuple):
        self._timers = {t: at for t, at in self._timers.items() if not (t.done() or t.running())}
        return func(*args)

    def next_timer_in(self) -> float | None:
        """Seconds until the earliest pending timer (from any thread), or None."""
        pending = [at for t, at in self._timers.items() if not t.done()]
        if not pending or self._driver is None:
            return None
        return max(0.0, min(pending) - self._driver.clock())

    def cancel_timers(self) -> int:
        """Cancel every pending timer of this task; return how many were cancelled."""
        timers, self._timers = self._timers, {}
        cancelled = sum(1 for timer in timers if timer.cancel())
        if cancelled:
            self.applog(logging.INFO, "cancelled %d pending timer(s)", cancelled)
        return cancelled

    # -- the state file -------------------------------------------------------------------
    def intent(self) -> str:
        """What the operator wants: ``monitored`` or ``unmonitored`` (Watch adds more)."""
        if self._halted is not None:
            return self._halted
        return "unmonitored" if self._state == UNMONITORED else "monitored"

    def persist(self) -> dict:
        """This task's record for the state file (driver thread)."""
        retry = self.next_timer_in()
        retry_at = None if retry is None else round(time.time() + retry, 3)
        return {
            "intent": self.intent(),
            "retry_at": self._halted_retry_at if self._halted else retry_at,
            "cause": None if self._cause is None else list(self._cause),
        }

    def restore(self, saved: dict) -> None:
        """Take an earlier godpy's record (before the driver starts); ``resume`` acts."""
        self._restored = saved
        cause = saved.get("cause")
        if isinstance(cause, list) and len(cause) == 2:  # why it was unmonitored
            self._cause = (str(cause[0]), None if cause[1] is None else str(cause[1]))

    def resume(self) -> None:
        """Carry on as the record says: monitor, or stay unmonitored (with its retry)."""
        saved, self._restored = self._restored or {}, None
        intent = saved.get("intent", "monitored" if self.autostart else "unmonitored")
        if intent == "monitored":
            self.monitor()
            return
        retry_at = saved.get("retry_at")
        if intent == "unmonitored" and isinstance(retry_at, (int, float)):
            self.applog(logging.INFO, "monitoring resumes at the retry the last godpy set")
            self.after(max(0.0, retry_at - time.time()), self.monitor)
        self.changed()

    def halt(self) -> None:
        """The daemon shuts down: stop monitoring, keeping the operator's intent."""
        self._halted = self.intent()
        retry, cause = self.next_timer_in(), self._cause  # kept for the next godpy
        self._halted_retry_at = None if retry is None else round(time.time() + retry, 3)
        self.cancel_timers()
        if self._state != UNMONITORED:
            self.move(UNMONITORED)
        self._cause = cause

    def control(self, command: str) -> dict:
        """Carry out a CLI command on a generic task; returns its outcome.

        ``start``/``monitor`` monitor it, ``stop``/``unmonitor`` stop monitoring,
        ``restart`` does both in turn. A task has no process: it always succeeds.
        """
        self.cancel_timers()
        if command in ("stop", "unmonitor", "restart"):
            self.unmonitor()
        if command in ("start", "monitor", "restart"):
            self.monitor()
        elif command not in ("stop", "unmonitor"):
            raise ValueError(f"unknown command {command!r}")
        self.changed()
        return self.outcome(True)

    def cause(self) -> str | None:
        """``flapping: process is flapping ...``: what moved the task last, for status."""
        if self._cause is None:
            return None
        name, info = self._cause
        return f"{name}: {info}" if info else name

    def outcome(self, ok: bool, reason: str | None = None) -> dict:
        """What a command achieved: ``{"state", "ok", "reason"}``."""
        return {"state": self._state, "ok": ok, "reason": reason}

    def poll_now(self) -> None:
        """Test every active poll condition at once (an event may have been lost)."""
        for cond in list(self._active):
            if isinstance(cond, PollCondition):
                self._driver.schedule(cond, 0)

    def call(self, func: Callable, *args) -> Any:
        """Run ``func(*args)`` here, on the driver: how a condition's timer comes back.

        ``driver.message_at(delay, "call", func, ...)`` is a timer that runs with the
        task's state to itself (flapping's ``retry_in``).
        """
        return func(*args)

    def snapshot(self) -> dict:
        """Plain data describing the task, for status output (read from any thread).

        ``reason`` names the condition that sent the task to ``unmonitored`` or ``stop``
        (and when a timer will monitor it again); ``action`` is the action in flight.
        """
        cause = self.cause() if self._state in (UNMONITORED, "stop") else None
        retry = self.next_timer_in() if self._state == UNMONITORED else None
        if cause and retry is not None:
            cause = f"{cause}; retry in {duration(retry)}"
        return {
            "name": self.name,
            "group": self.group,
            "kind": self.kind,
            "state": self._state,
            "action": self._action,
            "reason": cause,
            "next_start_in": None if retry is None else round(retry, 3),
        }


#: The action in flight while a move to each state runs its command.
ACTIONS = {"start": "starting", "stop": "stopping", "restart": "restarting"}


def _cause(cond) -> tuple[str, str | None]:
    """What moved a task: the condition's name, and what it said."""
    info = cond.info
    name = getattr(cond, "plugin_name", None) or cond.describe().split(" ", 1)[-1]
    return name, info if isinstance(info, str) and info else None


def duration(seconds: float) -> str:
    """``0.1s``, ``12.8s``, ``9m12s``, ``2h05m``."""
    if seconds < 10:
        return f"{seconds:.2g}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"
