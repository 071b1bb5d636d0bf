"""The project's exceptions: each kind maps to one exit code, and each message is one line for people."""

from __future__ import annotations


class NameclfError(Exception):
    """Base class: a one-line message naming the problem and the fix."""

    exit_code = 1


class UsageError(NameclfError):
    """Bad options or arguments."""

    exit_code = 2


class DataError(NameclfError):
    """The dataset or an input file is missing or unusable."""

    exit_code = 3


class NetworkError(NameclfError):
    """A download failed."""

    exit_code = 4


class ModelError(NameclfError):
    """A saved model is missing, damaged or of an unknown format."""

    exit_code = 5


class Interrupted(NameclfError):
    """Ctrl-C or SIGTERM stopped a long run; the message says what was kept."""

    exit_code = 130


def shorten(text: str, most: int = 40) -> str:
    """A value quoted in an error message, cut short: a binary file's 'language' can be a page long."""
    return text if len(text) <= most else text[: most - 1] + "…"


def one_line(message: str) -> str:
    """A message on one line, whatever a path or name inside it holds."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in message)
