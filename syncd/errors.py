"""Structured errors raised by syncd's core and edges, each carrying its exit code (the
README's exit-code table, "Using it with your Readwise account").

The command line (`syncd.cli`) is the one place that turns them into a line on stderr and an
exit status; nothing below it prints or exits.
"""

from __future__ import annotations


class SyncdError(Exception):
    """Base class: `str(error)` is the one-line message shown to the user."""

    exit_code = 1


class ConfigError(SyncdError):
    """A missing, unreadable or invalid configuration (or usage error)."""

    exit_code = 2

    def __init__(self, source: object, key: str | None, problem: str) -> None:
        where = f"{source}" if source else "config"
        if key:
            where += f": at '{key}'"
        super().__init__(f"{where}: {problem}")
        self.source = source
        self.key = key
        self.problem = problem


class UsageError(SyncdError):
    """A command given something it cannot act on."""

    exit_code = 2


class AuthError(SyncdError):
    """Readwise refused the token (401/403)."""

    exit_code = 3


class UnreachableError(SyncdError):
    """Readwise could not be reached, or kept failing, after every retry."""

    exit_code = 4


class VaultError(SyncdError):
    """The vault cannot be written, or another syncd holds it."""

    exit_code = 5


class TemplateError(ConfigError):
    """A template that does not compile or fails to render; names the template and line."""
