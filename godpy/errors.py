"""Exceptions that carry what the user needs to fix a problem."""

from __future__ import annotations


class GodpyError(Exception):
    """Base class for godpy's own errors."""


class ConfigError(GodpyError):
    """One or more problems in a config file, each a line of `file:line: text`.

    Attributes:
        problems: the individual messages, already prefixed with their location.
    """

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class AttributeProblem(GodpyError, AttributeError):
    """A config set an attribute that does not exist or gave it a bad value.

    Raised at the assignment itself so the loader can name the exact line.
    """


class PluginError(AttributeProblem):
    """A plugin could not be found, loaded or registered.

    The message names the plugin and its provider, what was expected and what was found;
    a config naming it gets the message at that line.
    """
