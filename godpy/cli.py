"""The ``godpy`` command: parse, act, report. The only module that imports click."""

from __future__ import annotations

import sys

import click

from godpy.version import __version__


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file to run (app.god.py).",
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
    type=click.Path(dir_okay=False),
    help="Append the daemon's log to this file instead of stderr.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="Lowest level logged.",
)
@click.option("--no-events", is_flag=True, help="Poll instead of using netlink exit events.")
@click.version_option(__version__, "-V", "--version", prog_name="godpy")
@click.pass_context
def main(ctx, config_path, foreground, log_path, log_level, no_events):
    """godpy: a process monitor. `godpy -c app.god.py -D` runs the daemon in front."""
    if ctx.invoked_subcommand is not None:
        return
    if config_path is None:
        click.echo(ctx.get_help())
        ctx.exit(2)
    if not foreground:
        raise click.UsageError(
            "running in the background needs the control socket, which is not built yet; "
            "use -D to run in the foreground"
        )
    ctx.exit(run_foreground(config_path, log_path, log_level, not no_events))


def run_foreground(config_path: str, log_path: str | None, log_level: str, events: bool) -> int:
    """Load the config and serve until SIGTERM/SIGINT; return the exit code."""
    from godpy import log
    from godpy.daemon import Daemon
    from godpy.errors import ConfigError

    log.setup(log_level, log_path)
    daemon = Daemon(config_path, use_events=events)
    try:
        daemon.load()
    except ConfigError as exc:
        for line in exc.problems:
            click.echo(f"godpy: {line}", err=True)
        click.echo("godpy: config not loaded; nothing was started", err=True)
        return 1
    daemon.start()
    return daemon.run()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
