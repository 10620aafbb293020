"""The ``godpy`` command: parse, call the daemon, format. The only module importing click.

Exit codes (LSB, as systemctl and supervisorctl users expect): 0 success / every selected
watch up; 1 other errors (unknown name, failed command, bad config); 2 usage errors;
3 some selected watch not up (``status``); 4 no daemon reachable; 5 the control socket is
not trusted (another user could swap a folder on its path, or it is served by a uid other
than root, ours or $GODPY_OWNER): nothing was sent.
"""

from __future__ import annotations

import contextlib
import os
import sys

import click

from godpy.version import __version__

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_UP, EXIT_NO_DAEMON = 0, 1, 2, 3, 4
EXIT_UNTRUSTED = 5


class Failure(click.ClickException):
    """A user-facing error with its exit code; printed as one line on stderr."""

    def __init__(self, message: str, code: int = EXIT_ERROR):
        super().__init__(message)
        self.exit_code = code

    def show(self, file=None) -> None:
        click.echo(f"godpy: {self.format_message()}", err=True)


#: One shared instance: each click.Path() looks up a translation (gettext), which adds up
#: to a millisecond of start-up over a dozen commands.
_FILE = click.Path(dir_okay=False)
#: The socket is 0600: another user's is not readable, and connecting tells them so
#: (exit 4) instead of click's usage error.
_SOCKET = click.Path(dir_okay=False, readable=False)


def _remember_socket(ctx, param, value):
    if value:
        ctx.find_root().ensure_object(dict)["socket"] = value


def _socket_option(func):
    return click.option(
        "--socket",
        envvar="GODPY_SOCKET",
        type=_SOCKET,
        expose_value=False,
        callback=_remember_socket,
        is_eager=True,
        help="Control socket (default: /run/godpy/godpy.sock for root, else per user; "
        "also $GODPY_SOCKET).",
    )(func)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(),
    help="Config to run: a file (app.god.py), a folder (its *.god.py files) or a quoted "
    "glob ('conf.d/*.god.py'); starts the daemon.",
)
@click.option(
    "-D",
    "--no-daemonize",
    "foreground",
    is_flag=True,
    help="Stay in the foreground and log to stderr.",
)
@click.option(
    "-l",
    "--log",
    "log_path",
    type=_FILE,
    help="Append the daemon's log to this file.",
)
@click.option(
    "-P",
    "--pid",
    "pid_path",
    type=_FILE,
    help="Write the daemon's pid here (background mode).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "warn", "error", "fatal"]),
    default="info",
    show_default=True,
    help="Lowest level logged (God's warn and fatal are warning and critical).",
)
@click.option("--no-events", is_flag=True, help="Poll instead of using netlink exit events.")
@click.option(
    "--insecure-config",
    is_flag=True,
    help="Run a config that users other than root and the daemon's could have written "
    "(warns; the config runs with the daemon's rights).",
)
@click.option(
    "--state",
    "state_path",
    metavar="FILE",
    help="State file kept across restarts (default: next to the socket; God.state_file).",
)
@click.option(
    "--socket-group",
    metavar="GROUP",
    help="Let members of GROUP command the daemon (socket 0660); overrides God.socket_group.",
)
@click.option(
    "--metrics",
    "metrics_address",
    metavar="HOST:PORT",
    callback=lambda ctx, param, value: _checked_address(value),
    help="Serve Prometheus metrics at http://HOST:PORT/metrics (127.0.0.1:9101, "
    "[::1]:9101); overrides God.metrics_address.",
)
@_socket_option
@click.version_option(__version__, "-V", "--version", prog_name="godpy")
@click.pass_context
def main(
    ctx,
    config_path,
    foreground,
    log_path,
    pid_path,
    log_level,
    no_events,
    insecure_config,
    state_path,
    socket_group,
    metrics_address,
):
    """godpy: a process monitor.

    `godpy -c app.god.py` starts the daemon in the background (`-D`: in front);
    the commands below talk to it.
    """
    ctx.ensure_object(dict)
    if ctx.invoked_subcommand is not None:
        return
    if config_path is None:
        click.echo(ctx.get_help())
        ctx.exit(EXIT_USAGE)
    from godpy.runner import RunOptions, run

    options = RunOptions(
        config=os.path.abspath(config_path),
        foreground=foreground,
        log_path=log_path and os.path.abspath(log_path),
        pid_path=pid_path and os.path.abspath(pid_path),
        log_level=log_level,
        events=not no_events,
        socket=_socket(ctx),
        insecure_config=insecure_config,
        socket_group=socket_group,
        state_path=state_path and os.path.abspath(state_path),
        metrics_address=metrics_address,
    )
    ctx.exit(run(options))


def _checked_address(value):
    if value is None:
        return None
    from godpy.metrics import parse_address

    try:
        parse_address(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


# -- client helpers ------------------------------------------------------------------------
def _socket(ctx) -> str:
    from godpy.rpc import default_socket_path

    path = (ctx.find_root().obj or {}).get("socket")
    return os.path.abspath(path) if path else default_socket_path()


def _call(ctx, method: str, *args, timeout: float = 30.0):
    from godpy.rpc import Client

    with _client_errors(), Client(_socket(ctx), timeout) as client:
        return client.call(method, *args)


@contextlib.contextmanager
def _client_errors():
    """Turn the client's errors into one-line failures with their exit codes."""
    from godpy.rpc import NoDaemon, RemoteError, UntrustedSocket

    try:
        yield
    except UntrustedSocket as exc:
        raise Failure(f"untrusted control socket: {exc}", EXIT_UNTRUSTED) from None
    except NoDaemon as exc:
        raise Failure(str(exc), EXIT_NO_DAEMON) from None
    except RemoteError as exc:
        raise Failure(str(exc), EXIT_ERROR) from None


def _names(result: dict) -> str:
    return ", ".join(result["affected"]) or "nothing"


# -- commands ------------------------------------------------------------------------------
def _make_command(name: str, help_text: str):
    @main.command(name, help=help_text)
    @click.argument("target", required=False, metavar="[NAME]")
    @click.option("--no-wait", is_flag=True, help="Return at once (God's fire-and-forget).")
    @click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait.")
    @_socket_option
    @click.pass_context
    def command(ctx, target, no_wait, timeout):
        if not target:
            raise click.UsageError(f"give a watch or group name, or 'all': godpy {name} NAME")
        result = _call(ctx, "command", name, target, not no_wait, timeout, timeout=timeout + 30)
        click.echo(f"Sending '{name}' command to: {_names(result)}")
        failed = []
        for watch, outcome in sorted(result["results"].items()):
            if outcome["ok"]:
                click.echo(f"  {watch}: {outcome['state']}")
                continue
            failed.append(watch)
            why = f"  {outcome['reason']}" if outcome["reason"] else ""
            click.echo(f"  {watch}: {outcome['state']}{why} (see: godpy log {watch})")
        if failed:
            verb = {"stop": "stopped", "unmonitor": "unmonitored"}.get(name, "up")
            raise Failure(f"not {verb}: {', '.join(failed)}")

    return command


for _name, _help in {
    "start": "Start monitoring NAME (a watch, a group or all), starting its process.",
    "stop": "Stop monitoring NAME and stop its process.",
    "restart": "Restart NAME's process (restart command, or stop then start).",
    "monitor": "Start monitoring NAME (like start).",
    "unmonitor": "Stop monitoring NAME; its process is left alone.",
}.items():
    _make_command(_name, _help)


@main.command()
@click.argument("target", required=False, metavar="[NAME]")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_socket_option
@click.pass_context
def status(ctx, target, as_json):
    """Show the state of every watch, or of NAME (a watch or group).

    Exit code 0 when every selected watch is up with a live process, 3 when some is
    not; tasks (no process) never make it fail.
    """
    rows = _call(ctx, "status", target, as_json)  # the table shows no memory or cpu
    from godpy.status_format import healthy, render_json, render_table

    if as_json:
        click.echo(render_json(rows))
    else:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        text = render_table(rows, color)
        if text:
            click.echo(text, color=color)
    ctx.exit(EXIT_OK if all(healthy(r) for r in rows) else EXIT_NOT_UP)


@main.command()
@click.argument("target", metavar="NAME")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until Ctrl-C.")
@_socket_option
@click.pass_context
def log(ctx, target, follow):
    """Print the daemon's recent log lines about watch NAME."""
    import time

    since = 0
    try:
        while True:
            chunk = _call(ctx, "log", target, since)
            for line in chunk["lines"]:
                click.echo(line)
            since = chunk["since"]
            if not follow:
                return
            time.sleep(0.25)
    except KeyboardInterrupt:
        return


@main.command()
@click.argument("target", metavar="NAME")
@click.option(
    "-n", "--lines", default=10, show_default=True, type=click.IntRange(0, 1000),
    help="How many of the last lines to print.",
)  # fmt: skip
@click.option("-f", "--follow", is_flag=True, help="Keep printing new output until Ctrl-C.")
@click.option("--stderr", is_flag=True, help="The program's stderr instead of its stdout.")
@_socket_option
@click.pass_context
def tail(ctx, target, lines, follow, stderr):
    """Print the last lines of watch NAME's own output (kept even without w.log)."""
    import time

    try:
        chunk = _call(ctx, "tail", target, stderr, lines, None)
        while True:
            if chunk["skipped"]:
                click.echo(f"[{chunk['skipped']} bytes not kept]", err=True)
            if chunk["text"]:
                click.echo(chunk["text"], nl=False)
                sys.stdout.flush()
            if not follow:
                return
            time.sleep(0.25)
            chunk = _call(ctx, "tail", target, stderr, 0, chunk["cursor"])
    except KeyboardInterrupt:
        return


@main.command()
@click.argument("target", required=False, metavar="[NAME]")
@click.option(
    "-n", "--last", default=0, type=click.IntRange(0), help="First print the last N kept events."
)
@_socket_option
@click.pass_context
def events(ctx, target, last):
    """Print the daemon's events as they happen, one JSON object per line.

    Exits, starts, stops, state changes, failed starts and notifications of every watch,
    or of NAME (a watch or group); README "Events" lists the fields. Runs until Ctrl-C
    (exit 0) or until the daemon stops (exit 0); exit 4 when no daemon answers, or when
    it goes away without stopping (killed: the last events may be missing).
    """
    import json
    import time

    from godpy.rpc import Client

    try:
        with _client_errors(), Client(_socket(ctx)) as client:
            reply = client.call("events", None, target, 0, last)
            while True:
                for event in reply["events"]:
                    sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
                    sys.stdout.flush()
                if reply["closed"] or _reader_gone(sys.stdout):
                    return
                if reply["busy"] and not reply["events"]:
                    time.sleep(0.5)  # too many readers wait in the daemon: poll
                reply = client.call("events", reply["seq"], target, 1.0)
    except KeyboardInterrupt:
        ctx.exit(EXIT_OK)
    except BrokenPipeError:  # `| head -n 3` is done reading: no message, no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        ctx.exit(EXIT_OK)


def _reader_gone(out) -> bool:
    """True when ``out`` is a pipe whose reader has closed it (``| head`` is done), so
    that the stream ends without waiting for its next event to fail to write."""
    import select

    poller = select.poll()
    poller.register(out.fileno(), 0)  # only errors and hang-ups are reported
    return any(flags & (select.POLLERR | select.POLLHUP) for _, flags in poller.poll(0))


@main.command()
@click.argument("path", metavar="FILE", type=_FILE)
@click.argument(
    "action", required=False, default="leave", type=click.Choice(["leave", "stop", "remove"])
)
@click.option(
    "--insecure-config",
    is_flag=True,
    help="Load FILE even if users other than root and the daemon's could have written it.",
)
@_socket_option
@click.pass_context
def load(ctx, path, action, insecure_config):
    """Load FILE into the running daemon, changing only what changed.

    Each watch is unchanged, updated (conditions and the like: no restart), restarted
    (its process settings changed) or added; ACTION says what happens to watches the file
    no longer defines: leave (default: left), stop (stopped and forgotten) or remove
    (removed, the process left running). A bad file changes nothing.
    """
    if not os.path.isfile(path):
        raise Failure(f"{path}: no such file")
    args = (True,) if insecure_config else ()
    result = _call(ctx, "load", os.path.abspath(path), action, *args, timeout=300)
    for line in result.get("warnings", []):
        click.echo(f"godpy: warning: {line}", err=True)
    if result["errors"]:
        for line in result["errors"]:
            click.echo(f"godpy: {line}", err=True)
        raise Failure("config not loaded; nothing changed")
    click.echo(f"Loaded {path}")
    for name, verdict in sorted(result["results"].items()):
        click.echo(f"  {name}: {verdict}")


@main.command()
@click.argument("target", metavar="NAME")
@click.option("--stop", "stop_too", is_flag=True, help="Stop the process too.")
@_socket_option
@click.pass_context
def remove(ctx, target, stop_too):
    """Stop monitoring NAME and forget it (its process keeps running unless --stop)."""
    removed = _call(ctx, "remove", target, stop_too, timeout=300)
    click.echo(f"Removed: {', '.join(removed)}")


@main.command("signal")
@click.argument("target", metavar="NAME")
@click.argument("sig", metavar="SIG")
@_socket_option
@click.pass_context
def signal_(ctx, target, sig):
    """Send signal SIG (a name such as HUP, or a number) to NAME's process."""
    result = _call(ctx, "signal", target, sig)
    sent = {name: pid for name, pid in result.items() if pid}
    for name, pid in sorted(result.items()):
        click.echo(f"  {name}: sent {sig} to pid {pid}" if pid else f"  {name}: not running")
    if not sent:
        raise Failure(f"no process of '{target}' is running")


@main.command()
@_socket_option
@click.pass_context
def terminate(ctx):
    """Stop every watch and then the daemon."""
    outcome = _call(ctx, "terminate", timeout=600)
    if outcome.get("failed"):
        raise Failure(f"could not stop: {', '.join(outcome['failed'])}; daemon stopped")
    click.echo("Stopped all watches and the daemon")


@main.command()
@_socket_option
@click.pass_context
def quit(ctx):  # noqa: A001 (the command's name)
    """Stop the daemon and leave the watched processes running."""
    _call(ctx, "quit", timeout=120)
    click.echo("Stopped the daemon; watched processes left running")


@main.command()
@click.argument("path", metavar="[FILE]", required=False, type=click.Path())
@click.option(
    "--insecure-config",
    is_flag=True,
    help="Check FILE even if users other than root and yours could have written it.",
)
@click.option("--no-events", is_flag=True, help="Check FILE as for `godpy -c FILE --no-events`.")
@_socket_option
@click.pass_context
def check(ctx, path, insecure_config, no_events):
    """Check config FILE without starting anything, or test the event system.

    With FILE (a file, a folder or a quoted glob, as for -c): load it as the daemon would,
    print every problem at its line and exit 1, or print a summary and exit 0. Nothing
    is started or created. Without FILE: report the running daemon's event system and
    self-test it; with no daemon answering, self-test it here.
    """
    if path is not None:
        _check_config(ctx, path, insecure_config, False if no_events else None)
    where = ""
    try:
        result = _call(ctx, "check", timeout=30)
    except Failure as exc:
        if exc.exit_code != EXIT_NO_DAEMON:
            raise
        from godpy.self_test import run_self_test

        result, where = run_self_test(), " (tested here: no daemon answered)"
    click.echo(f"event system: {result['events']}{where}")
    click.echo(f"{'[ok]' if result['ok'] else '[fail]'} {result['detail']}")
    ctx.exit(EXIT_OK if result["ok"] else EXIT_ERROR)


def _check_config(ctx, path: str, insecure: bool, events: bool | None) -> None:
    """``godpy check FILE``: every problem on stderr and exit 1, or the summary, exit 0."""
    import logging

    from godpy import config
    from godpy.errors import ConfigError
    from godpy.log import get_logger

    get_logger().addHandler(logging.NullHandler())  # warnings are printed below, once
    try:
        session = config.check(os.path.abspath(path), insecure, events)
    except ConfigError as exc:
        for line in exc.problems:
            click.echo(f"godpy: {line}", err=True)
        count = len(exc.problems)
        raise Failure(f"{count} problem{'s' if count > 1 else ''} found") from None
    for line in session.warnings:
        click.echo(f"godpy: warning: {line}", err=True)
    click.echo(config.summary(session))
    ctx.exit(EXIT_OK)


@main.command()
@click.argument("name", required=False)
@click.option("--behaviors", "kind", flag_value="behaviors", help="List behaviors instead.")
@click.option("--contacts", "kind", flag_value="contacts", help="List contacts instead.")
@click.option(
    "--plugins",
    "plugin_dir",
    type=click.Path(exists=True),
    help="Also load plugin files from this folder or file, as God.load_plugins does.",
)
@click.pass_context
def conditions(ctx, name, kind, plugin_dir):
    """List the available conditions (or behaviors, contacts) and their attributes.

    Runs here, without a daemon. Each plugin shows its attributes (default or
    "required", unit) and where it came from (the distribution whose entry point
    registers it, or its file). NAME shows one plugin's whole documentation. Exit code
    1 when some plugin does not load.
    """
    from godpy.errors import PluginError
    from godpy.plugin_help import render
    from godpy.registry import Plugins

    plugins = Plugins()
    try:
        if plugin_dir:
            plugins.load_dir(os.path.abspath(plugin_dir))
        text, problems = render(plugins.families[kind or "conditions"], name)
    except PluginError as exc:
        raise Failure(str(exc)) from None
    if text:
        click.echo(text)
    for problem in problems:
        click.echo(f"godpy: {problem}", err=True)
    ctx.exit(EXIT_ERROR if problems else EXIT_OK)


@main.command("notify-test")
@click.argument("contact", metavar="CONTACT")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for it.")
@_socket_option
@click.pass_context
def notify_test(ctx, contact, timeout):
    """Send a test message to CONTACT (a contact or group) through the running daemon.

    Exit code 0 when every contact took it, 1 when one failed (the error is shown).
    """
    results = _call(ctx, "notify_test", contact, timeout, timeout=timeout + 30)
    for row in results:
        click.echo(f"{'[ok]' if row['ok'] else '[fail]'} {row['contact']}: {row['detail']}")
    failed = [row["contact"] for row in results if not row["ok"]]
    if failed:
        raise Failure(f"test notification failed for: {', '.join(failed)}")


@main.command()
def version():
    """Print godpy's version."""
    click.echo(f"godpy, version {__version__}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
