"""godpy's version, kept apart so the CLI can print it without importing the daemon."""

__version__ = "0.1.0"
