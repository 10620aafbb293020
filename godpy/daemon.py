"""Daemon: owns the tasks, contacts, event handler, children, notifier and control socket.

The main thread installs signal handlers that only enqueue the signal; its loop reaps
children and carries out what signals and the ``terminate``/``quit`` commands ask for.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import signal
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from godpy import config, reload, sd_notify
from godpy import log as godlog
from godpy.dependencies import Graph, ready
from godpy.driver import Driver
from godpy.event_handler import EventHandler
from godpy.event_log import EventLog
from godpy.log import WatchLogBuffer, get_logger
from godpy.notifier import Notifier, Policy
from godpy.notify_socket import NotifySocket, address_for
from godpy.output import OutputKeeper, keeper_path
from godpy.process import Children
from godpy.session import RELOADABLE
from godpy.state_file import StateFile
from godpy.state_file import default_path as default_state_path
from godpy.task import UNMONITORED, Task
from godpy.watch import Watch

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_HANDLED = (*_STOP_SIGNALS, signal.SIGCHLD, signal.SIGHUP, signal.SIGUSR1)


class Daemon:
    """A running godpy.

    Args:
        config_path: the config file to load.
        use_events: try netlink process events (``--no-events`` turns it off).
        socket_path: where to serve the control socket (None: no control socket).
        insecure_config: load a config others could have written, with a warning.
        socket_group: a group whose members may use the control socket (overrides
            ``God.socket_group``).
        state_path: the state file (overrides ``God.state_file``; default: next to the
            control socket; None without either: no state file).
        systemd: speaks sd_notify to systemd (default: a disabled one, silent).
        metrics_address: serve Prometheus metrics there (``--metrics``, a
            ``metrics.Address``; overrides ``God.metrics_address``).
    """

    def __init__(
        self,
        config_path: str,
        use_events: bool = True,
        socket_path: str | None = None,
        insecure_config: bool = False,
        socket_group: str | None = None,
        state_path: str | None = None,
        systemd: sd_notify.Notifier | None = None,
        metrics_address=None,
    ):
        self.config_path = config_path
        self.socket_group = socket_group
        self.insecure_config = insecure_config
        self.config_warnings: list[str] = []
        self.use_events = use_events
        self.socket_path = socket_path
        self.children = Children()
        self.events = EventHandler(on_overflow=self.recheck_all)
        self.tasks: dict[str, Task] = {}
        self.graph = Graph(())  # of self.tasks; the main loop replaces it, others read it
        self.contacts: dict = {}
        self.notifier: Notifier | None = None
        self.settings: dict = {}
        self.signals: queue.SimpleQueue = queue.SimpleQueue()
        self.log_buffer = WatchLogBuffer()
        self.event_log = EventLog()  # what `godpy events` streams
        self.server = None
        self._exit: dict | None = None
        self._exited = threading.Event()
        self.state_path = state_path
        self.state: StateFile | None = None  # owned by the main loop
        self._child_signalled = False  # a SIGCHLD is queued for the main loop
        self.systemd = systemd or sd_notify.Notifier()  # only the main loop sends
        self.output = OutputKeeper(keeper_path(socket_path))
        self.metrics_address = metrics_address
        self.metrics = None  # the metrics server, when metrics are on
        self.notify_socket: NotifySocket | None = None  # made for the first sd_notify watch
        self._notify_failed = False

    # -- start ---------------------------------------------------------------------------
    def load(self) -> None:
        """Start the event system, then load and check the config (raises ConfigError)."""
        events = self.use_events and self.events.start()
        self.children.owners_reap = bool(events)  # each driver reaps on its exit event
        try:
            session = config.load(
                self.config_path, events, self.children, insecure=self.insecure_config
            )
        except Exception:
            self.events.stop()
            raise
        if not session.events:
            self.events.stop()
        self.settings = session.settings
        self.config_warnings = session.warnings
        self.contacts = dict(session.contacts)
        self.log_buffer.size = int(session.settings["log_buffer_size"])
        for task in session.tasks:
            self.tasks[task.name] = task
        self.graph = Graph(self.tasks.values())
        self._restore()

    def _restore(self) -> None:
        """Read the state file; each task takes its record (before any driver runs)."""
        path = self.state_path or self.settings.get("state_file")
        if path is None and self.socket_path:
            path = default_state_path(self.socket_path)
        if path is None:
            return
        self.state = StateFile(path)
        for name, record in self.state.load(self.tasks).items():
            self.tasks[name].restore(record)

    def start(self) -> None:
        """Serve the control socket, give every task a driver, monitor the autostart ones.

        Raises:
            RuntimeError or OSError: the control socket or metrics could not be served.
        """
        self._serve_metrics()
        if self.socket_path:
            from godpy.control import METHODS, ControlApi
            from godpy.control_server import ControlServer

            group = self.socket_group or self.settings.get("socket_group")
            self.server = ControlServer(
                self.socket_path, ControlApi(self), METHODS, self._refused, group=group
            )
            self.server.start()
            shared = f" (group {group} may use it)" if group is not None else ""
            get_logger().info("control socket: %s%s", self.socket_path, shared)
        get_logger().addHandler(self.log_buffer)
        watches = sum(isinstance(t, Watch) for t in self.tasks.values())
        if watches or self.socket_path:
            self.output.start(self.children, watches)
        interval = float(self.settings.get("notify_interval", Policy.interval))
        self.notifier = Notifier(self.contacts, Policy(interval=interval))
        self.notifier.start()
        for name in (n for layer in self.graph.layers() for n in layer):
            task = self.tasks[name]
            # dependencies first (their dependents wait for them anyway); its first
            # message is queued before the next thread is made: the watches started first
            # are already running while the last threads are created
            if self.state is not None and name in self.state.records:
                self._drive(task, "resume")
            elif task.autostart:
                self._drive(task, "monitor")
            else:
                self._drive(task)
        get_logger().info("godpy started with %d task(s)", len(self.tasks))

    def _serve_metrics(self) -> None:
        """Serve ``/metrics`` when asked to (``--metrics`` wins over the config's)."""
        address = self.metrics_address or self.settings.get("metrics_address")
        if address is None:
            return
        from godpy.metrics import MetricsServer

        self.settings["metrics_address"] = address  # what a `load` compares with
        self.metrics = MetricsServer(address, lambda: list(self.tasks.values()))
        self.metrics.start()
        get_logger().info("metrics: http://%s/metrics", address)

    def _drive(self, task: Task, first: str | None = None) -> None:
        """Give ``task`` its driver thread, with ``first`` (a message) to serve."""
        driver = Driver(task)
        events = self.events if self.events.loaded else None
        task.attach_runtime(
            driver, events, self.notify, self._changed, self.event_log, self._record
        )
        if isinstance(task, Watch) and self.output.running:
            task.use_output(self.output.channel(task.name))
        if isinstance(task, Watch):
            task.attach_dependencies(
                lambda: self.unmet(task.name), lambda: self.late_dependencies(task.name)
            )
            if task.sd_notify is True:
                self._use_notify(task)
        if first is not None:
            driver.message(first)
        driver.start()

    def _use_notify(self, task: Watch) -> None:
        """Give an sd_notify watch the notify socket, made for the first one (at the
        start or by a ``load``: main loop)."""
        if self.notify_socket is None and not self._notify_failed:
            address = address_for(self.socket_path)
            for attempt in (address, f"{address}-{os.urandom(4).hex()}"):
                sock = NotifySocket(attempt)
                try:
                    sock.start()
                except OSError as exc:
                    get_logger().error("notify socket %s: %s", attempt, exc)
                    continue
                self.notify_socket = sock
                get_logger().info("notify socket: %s", attempt)
                break
            self._notify_failed = self.notify_socket is None
        if self.notify_socket is None:
            task.applog(logging.ERROR, "sd_notify: godpy has no notify socket; never ready")
            return
        task.use_notify(self.notify_socket.address)
        self.notify_socket.add(task)

    def _record(self, task: Task) -> None:
        """A task's record changed (its driver thread): the main loop writes the file."""
        if self.state is not None:
            self.signals.put(("persist", task, task.persist()))

    def _changed(self, task: Task) -> None:
        """A task's state or readiness changed (its driver thread): the main loop tells
        the task's dependents."""
        if self.graph.dependents(task.name):
            self.submit(self._tell_dependents, task, task.state)

    def _tell_dependents(self, task: Task, state: str) -> None:
        """Main loop: ``task`` entered ``state``; each dependent's driver hears of it."""
        if self.tasks.get(task.name) is not task:
            return  # replaced or removed meanwhile
        for name in self.graph.dependents(task.name):
            dependent = self.tasks.get(name)
            if isinstance(dependent, Watch) and dependent.driver is not None:
                dependent.driver.message("dependency_changed", task.name, state)

    def _regraph(self) -> None:
        """The set of tasks changed (main loop): a new graph, and every watch with
        dependencies looks again at what it waits for."""
        self.graph = Graph(self.tasks.values())
        for name, task in self.tasks.items():
            if isinstance(task, Watch) and self.graph.dependencies(name):
                task.driver.message("dependency_changed", "", "")

    def unmet(self, name: str) -> list[str]:
        """The dependencies of task ``name`` that are not ready now (any thread)."""
        graph = self.graph
        return [d for d in graph.dependencies(name) if not ready(graph.tasks[d].snapshot())]

    def late_dependencies(self, name: str) -> list[str]:
        """``dependency db not ready after 30s`` for each dependency of task ``name``
        past its ``start_timeout`` without being ready (any thread)."""
        graph, found = self.graph, []
        for dep in graph.dependencies(name):
            row = graph.tasks[dep].snapshot()
            if row.get("late") and not ready(row):
                found.append(f"dependency {dep} {row['late']}")
        return found

    def submit(self, func, *args) -> Future:
        """Run ``func(*args)`` on the main loop, the one owner of the set of tasks and of
        the state file (control threads call this); return a Future of its result."""
        future: Future = Future()
        self.signals.put(("call", func, args, future))
        return future

    def _refused(self, uid: int) -> None:
        get_logger().warning("control socket: refused a connection from uid %d", uid)

    def notify(self, task, cond, names, message, priority, category) -> None:
        """Notification hook (driver threads): queue the message for the notifier."""
        if self.notifier is None:
            task.applog(logging.INFO, "notify %s: %s", ", ".join(names), message)
            return
        self.notifier.notify(task, cond, names, message, priority, category)

    def recheck_all(self) -> None:
        """Events may have been lost: every task tests its poll conditions now."""
        for task in list(self.tasks.values()):
            if task.driver is not None:
                task.driver.message("poll_now")

    # -- changes while running (called from control threads) -----------------------------
    def load_more(self, path: str, action: str, insecure: bool = False) -> dict:
        """Load another config (main loop): each task is compared with the running one.

        Same-name tasks are kept (``unchanged``), replaced in place (``updated``) or
        restarted with their new process settings (``restarted``); new ones are
        ``added``; ``action`` says what happens to tasks the file does not define:
        ``leave`` (``left``), ``stop`` (``stopped`` and forgotten) or ``remove``
        (``removed``, processes left running). The file starts from the daemon's settings;
        a setting it changes is applied or refused with a warning. Contacts are added
        (same-name ones replaced). ``insecure`` loads a file others could have written.
        Raises ConfigError (nothing changed) when the file is bad.
        """
        events = self.events.loaded
        running = list(self.tasks.values()) if action == "leave" else []
        session = config.load(
            path,
            events,
            self.children,
            self.contacts,
            insecure,
            settings=self.settings,
            running=running,
        )
        self._apply_settings({n: session.settings[n] for n in RELOADABLE})
        self.contacts.update(session.contacts)
        if self.notifier is not None:
            self.notifier.update(session.contacts)
        results = {}
        for task in session.tasks:
            old = self.tasks.get(task.name)
            results[task.name] = verdict = reload.plan(old, task)
            if verdict != "unchanged":
                self._replace(old, task, verdict)
        for name in sorted(set(self.tasks) - set(results)):
            if action == "leave":
                results[name] = "left"
            else:
                self.remove_task(self.tasks[name], stop=action == "stop")
                results[name] = "stopped" if action == "stop" else "removed"
        self._regraph()
        summary = ", ".join(f"{n} {v}" for n, v in sorted(results.items()))
        get_logger().info("loaded %s: %s", path, summary or "nothing")
        return {"errors": [], "results": results, "warnings": session.warnings}

    def _replace(self, old: Task | None, new: Task, verdict: str) -> None:
        """Put ``new`` in ``old``'s place: it takes over the process and its history, and
        is monitored if ``old`` was (a ``restarted`` one after its old process stopped)."""
        monitor = new.autostart if old is None else old.state != UNMONITORED
        if old is not None:
            if verdict == "restarted" and monitor:
                old.driver.message("halt").result(self.terminate_timeout())
            self._retire(old)
            if self.notify_socket is not None:
                self.notify_socket.discard(old)
            if isinstance(new, Watch) and isinstance(old, Watch):
                new.process.inherit(old.process)
                new.take_intent(old)
            if self.state is not None:
                self.state.drop(new.name)
        self.tasks[new.name] = new
        self._drive(new)
        if monitor:
            new.driver.message("monitor")
        else:
            new.driver.message("changed")

    def _apply_settings(self, applied: dict) -> None:
        self.settings.update(applied)
        if "log_buffer_size" in applied:
            self.log_buffer.size = int(applied["log_buffer_size"])
        if "notify_interval" in applied and self.notifier is not None:
            interval = float(applied["notify_interval"])
            self.notifier.policy = dataclasses.replace(self.notifier.policy, interval=interval)

    def remove_task(self, task: Task, stop: bool = False) -> None:
        """Unmonitor (and with ``stop`` stop) a task, end its driver and forget it."""
        if stop and isinstance(task, Watch):
            task.driver.message("control", "stop").result(task.stop_timeout + 30)
        self._retire(task)
        if self.notify_socket is not None:
            self.notify_socket.discard(task)
        self.tasks.pop(task.name, None)
        self._regraph()
        self.log_buffer.forget(task.name)
        self.output.forget(task.name)
        if self.state is not None:
            self.state.drop(task.name)

    @staticmethod
    def _retire(task: Task) -> None:
        try:
            task.driver.message("unmonitor").result(60)
        except Exception:
            pass
        task.driver.shutdown()
        if isinstance(task, Watch):
            task.detach_runtime()

    def request_exit(self, stop_watches: bool) -> dict:
        """Ask the main loop to exit (after stopping the watches); wait for the outcome."""
        self.signals.put("terminate" if stop_watches else "quit")
        self._exited.wait(self.terminate_timeout() + 30)
        return self._exit or {"stopped": False, "failed": []}

    # -- main loop -----------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        """Signal handlers only enqueue; the main loop acts."""
        for sig in _HANDLED:
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, _frame) -> None:
        # One queued SIGCHLD at a time: each makes the main loop look at every child, and
        # 200 programs killed at once would otherwise mean 200 such scans.
        if signum == signal.SIGCHLD:
            if self._child_signalled:
                return
            self._child_signalled = True
        self.signals.put(signum)

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT, ``terminate`` or ``quit``; return the exit code."""
        self.install_signal_handlers()
        # start() has returned: config loaded, control socket served, every autostart
        # watch given its first start. READY=1 is sent here rather than by the runner so
        # that the main loop is the one thread that ever talks to systemd.
        self.systemd.ready(self._status_line)
        while True:
            try:
                item = self.signals.get(timeout=self._wait())
            except queue.Empty:
                item = None
            now = time.monotonic()
            if item == signal.SIGCHLD:
                self._child_signalled = False  # a SIGCHLD from now on is queued again
                self.children.signalled(now)
            self.children.tick(now)
            if isinstance(item, tuple):
                self._serve(item)
            elif item in _STOP_SIGNALS:
                get_logger().info("received %s; stopping", signal.Signals(item).name)
                return self.terminate()
            elif item == "terminate":
                return self.terminate()
            elif item == "quit":
                return self.quit()
            elif item == signal.SIGHUP:
                godlog.reopen()
                self.output.reopen()
                get_logger().info("received SIGHUP; log files reopened")
            elif item == signal.SIGUSR1:
                self.log_status()
            if self.signals.empty():
                self.save()  # once the burst of records is in
            self.systemd.tick(time.monotonic(), self._status_line)

    def _serve(self, item: tuple) -> None:
        """A message to the main loop: a task's new record, or a call from a control
        thread (``load``, ``remove``)."""
        if item[0] == "persist":
            _, task, record = item
            if self.tasks.get(task.name) is task:  # not a task replaced meanwhile
                self.state.put(task.name, record)
            return
        _, func, args, future = item
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(func(*args))
        except BaseException as exc:
            future.set_exception(exc)

    def _save_pending(self) -> None:
        """The drivers have stopped: take their last records and write the file."""
        while True:
            try:
                item = self.signals.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, tuple) and item[0] == "persist":
                self._serve(item)
            elif isinstance(item, tuple) and item[3].set_running_or_notify_cancel():
                item[3].set_exception(RuntimeError("godpy is stopping"))
        if self.state is not None:
            self.state.flush()

    def save(self) -> None:
        """Write the state file if a record changed (main loop; paced by the file)."""
        if self.state is not None:
            self.state.save(time.monotonic())

    def _wait(self) -> float:
        """How long the main loop may sleep: until a held-back write of the state file,
        or the next watchdog ping or status line for systemd."""
        now = time.monotonic()
        held = None if self.state is None else self.state.save_due_in(now)
        if held is not None:
            return held
        return min(1.0, self.systemd.wait(now), self.children.scan_in(now))

    def _status_line(self) -> str:
        # states as the drivers last set them: a full snapshot of each watch every second
        # would cost 1,000 watches 2 % of a core under systemd
        tasks = list(self.tasks.values())
        return sd_notify.status_line({"kind": t.kind, "state": t.state} for t in tasks)

    def log_status(self) -> None:
        """Write every task's state to the log (SIGUSR1)."""
        for task in sorted(self.tasks.values(), key=lambda t: t.name):
            snap = task.snapshot()
            get_logger().info("status %s: %s pid=%s", task.name, snap["state"], snap.get("pid"))

    # -- stop ----------------------------------------------------------------------------
    def terminate_timeout(self) -> float:
        """``God.terminate_timeout``, else the longest stop_timeout plus a margin."""
        configured = self.settings.get("terminate_timeout")
        if configured is not None:
            return float(configured)
        stops = [t.stop_timeout for t in self.tasks.values() if isinstance(t, Watch)]
        return max(stops, default=0) + 10.0

    def terminate(self) -> int:
        """Stop every watch (in parallel, one driver each), then the daemon; exit code."""
        self.systemd.stopping()
        deadline = time.monotonic() + self.terminate_timeout()
        failed = []
        backlog = self.events.backlog
        for layer in self.graph.shutdown_layers():  # dependents before what they need
            pending = []
            for task in (self.tasks[name] for name in layer):
                if task.driver is None:
                    continue
                # halt keeps each task's intent in the state file; a watch's ticket: every
                # stop signal of the layer goes before the bookkeeping of any (backlog)
                if isinstance(task, Watch):
                    ticket = backlog.enter()
                    future = task.driver.message("halt", ticket)
                    future.add_done_callback(lambda _, t=ticket: t.done())
                else:
                    future = task.driver.message("halt")
                pending.append((task, future))
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
        return self._shutdown({"stopped": not failed, "failed": failed})

    def quit(self) -> int:
        """Stop the daemon and leave every watched process running."""
        self.systemd.stopping()
        get_logger().info("quit: leaving %d task(s) running", len(self.tasks))
        return self._shutdown({"stopped": False, "failed": [], "left_running": True})

    def _shutdown(self, outcome: dict) -> int:
        for task in self.tasks.values():
            if task.driver is not None:
                task.driver.shutdown()
            if isinstance(task, Watch):
                task.detach_runtime()
        self._save_pending()
        if self.notify_socket is not None:
            self.notify_socket.stop()
        if self.notifier is not None:
            self.notifier.close()
        self.events.stop()
        # the keeper ends once the programs are gone; programs left running keep theirs
        self.output.close(stop=outcome["stopped"])
        self.children.reap()
        if self.metrics is not None:
            self.metrics.stop()
        self.event_log.close()  # `godpy events` readers end (exit 0)
        if self.server is not None:
            self.server.release_path()  # new clients see no daemon from now on
        self._exit = outcome
        self._exited.set()
        if self.server is not None:
            time.sleep(0.05)  # let a waiting terminate/quit call send its answer
            self.server.stop()
        self.systemd.close()
        get_logger().removeHandler(self.log_buffer)
        get_logger().info("godpy stopped")
        return 1 if outcome["failed"] else 0
