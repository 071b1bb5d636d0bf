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
