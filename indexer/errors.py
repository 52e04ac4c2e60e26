"""Errors raised by the library; the CLI and the web app turn them into messages."""

from __future__ import annotations


class IndexerError(Exception):
    """Base class for every error the library reports to a person."""


class ThreadParseError(IndexerError):
    """A thread file (or one line of it) that cannot be read: names the place and the reason."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")


class SourceMissingError(IndexerError):
    """A source path given to a rebuild does not exist."""


class IndexMissingError(IndexerError):
    """No index has been built at the configured location yet."""


class RebuildLockedError(IndexerError):
    """Another rebuild holds the lock on this index."""


class QueryError(IndexerError):
    """A query (or a search parameter) that cannot be run: the message says why."""
