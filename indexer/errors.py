"""Errors raised by the library: they carry data, and each edge (CLI, web) words them itself.

``str()`` of an error is an English sentence for logs and the command line; the web
app renders the French text from the same fields (``search_app/messages.py``).
"""

from __future__ import annotations

from typing import Any


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


class IndexDamagedError(IndexMissingError):
    """An index exists but cannot be read (damaged, or written by another version)."""


class RebuildLockedError(IndexerError):
    """Another rebuild holds the lock on this index."""


class BackendUnavailableError(IndexerError):
    """The store cannot answer right now (a database server down or too slow)."""


class IndexWriteError(IndexerError):
    """Writing the index failed (disk full, no permission, a path that can't be a folder).

    What the failed write had written is removed; the previous index, if any, still
    answers. ``location`` is the index, ``reason`` the system's words (``strerror``),
    ``errno`` its number when known.
    """

    def __init__(self, location: str, reason: str, errno: int | None = None) -> None:
        self.location = location
        self.reason = reason
        self.errno = errno
        super().__init__(f"cannot write the index at {location}: {reason}")


class NothingToIndexError(IndexerError):
    """A rebuild was given no thread at all: the index is left as it was."""


class UnsupportedError(IndexerError):
    """The store does not do this operation (e.g. incremental updates on PostgreSQL yet)."""

    def __init__(self, backend: str, operation: str) -> None:
        self.backend = backend
        self.operation = operation
        super().__init__(f"the {backend} backend does not support {operation} yet")


#: English wording of each query error code; ``{…}`` are the error's fields.
QUERY_MESSAGES_EN = {
    "not_text": "the query must be text",
    "too_long": "query too long ({chars} characters; at most {limit})",
    "too_many_words": "too many words in the query (at most {limit})",
    "too_deep": "too many nested parentheses (at most {limit} levels)",
    "too_many_prefixes": "too many prefixes (word*) in the query (at most {limit})",
    "or_exclusion": "OR cannot join an exclusion (-word): write e.g. « lippi -debit »",
    "missing_value": "{name}: missing value (for example {name}:{example})",
    "bad_kind": "{name}: expects post or comment, not {value!r}",
    "bad_date": "{name}: expects a date YYYY-MM-DD (or YYYY-MM, YYYY), not {value!r}",
    "invalid_date": "{name}: {value!r} is not a valid date",
    "negated_date": "-{name}: a date filter cannot be excluded (use after: or before:)",
    "not_integer": "{name} must be a whole number (got {value!r})",
    "out_of_range": "{name} must be between 1 and {limit}",
    "bad_group": "{name} must be passage or thread, not {value!r}",
    "bad_sort": "{name} must be relevance or date, not {value!r}",
}


class QueryError(IndexerError):
    """A query (or a search parameter) that cannot run: a code and the fields that explain it."""

    def __init__(self, code: str, **fields: Any) -> None:
        self.code = code
        self.fields = fields
        super().__init__(QUERY_MESSAGES_EN[code].format(**fields))
