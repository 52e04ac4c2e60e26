"""Connections that a frozen or unreachable server cannot hold: options, bounded connects,
a watchdog, a pool.

A stopped server refuses connections at once; a frozen one (a suspended VM, a network
partition, a process stopped with SIGSTOP) answers nothing: not the query, not its own
``statement_timeout``, not a cancel request. What bounds the time it can cost:

- :func:`with_defaults` fills in the libpq options a URL does not set: TCP keepalives
  (``keepalives_idle`` 10 s, ``keepalives_interval`` 5 s, ``keepalives_count`` 3: an idle
  connection to a vanished host is dropped within about 25 s) and ``tcp_user_timeout``
  (data unacknowledged for that long drops the connection), plus ``connect_timeout``.
  The same defaults go into each foreign server of a partitioned index (see
  :mod:`.build`). They catch dead hosts and partitions; a frozen process on a live
  host still acknowledges TCP, which only the two mechanisms below can catch.
- :func:`connect_within` waits for a new connection no longer than the caller has
  left; the attempt itself goes on in a daemon thread (bounded by ``connect_timeout``)
  and a connection that arrives too late is closed.
- :class:`Watchdog` watches each search transaction: past its deadline plus a margin,
  it shuts the connection's socket down, which wakes the thread waiting on it with an
  ``OperationalError``; the connection is then thrown away. On a healthy server the
  server's ``statement_timeout`` (set to the same deadline) answers first, and a cancel
  request would be no better than it: the watchdog is for servers that answer nothing.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from ...errors import IndexerError

#: libpq options every connection gets unless its URL sets them (seconds, except
#: ``tcp_user_timeout``: milliseconds).
KEEPALIVES = {"keepalives": "1", "keepalives_idle": "10", "keepalives_interval": "5",
              "keepalives_count": "3"}
SEARCH_OPTIONS = {**KEEPALIVES, "connect_timeout": "5", "tcp_user_timeout": "10000"}
#: Rebuilds stream data for minutes: a server may stall reading it longer than a search
#: would wait, so their connections allow a longer silence.
BUILD_OPTIONS = {**KEEPALIVES, "connect_timeout": "10", "tcp_user_timeout": "60000"}
#: Foreign servers (coordinator -> shard): connect_timeout 2 s is libpq's minimum; a
#: shard that takes longer to accept a connection cannot help a 2 s search.
FDW_OPTIONS = {**KEEPALIVES, "connect_timeout": "2", "tcp_user_timeout": "10000"}


def check_url(url: str, what: str = "database URL") -> dict[str, str]:
    """The options of a connection URL (or ``key=value`` string), or IndexerError.

    The error never shows the password: neither the URL nor libpq's reason does (libpq
    quotes the text it could not parse, which may be the password). A URL whose user
    name or password holds an unencoded ``@``, ``/``, ``?`` or ``#`` is refused too:
    libpq would read part of the password as a host, port or database name.
    """
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error as exc:
        raise IndexerError(f"the {what} cannot be parsed ({redact(url)}): "
                           f"{mask_quoted(first_line(exc))}") from None
    if _ambiguous(url):
        raise IndexerError(
            f"the {what} is ambiguous ({redact(url)}): percent-encode the characters "
            "@ / ? # : in its user name and password (@ is %40, / is %2F)")
    return {k: str(v) for k, v in info.items()}


def redact(url: str) -> str:
    """A connection URL without its password, for messages: ``postgresql://u@h:5432/db``.

    >>> redact("postgresql://fil:secret@db:5433/fil?sslmode=require")
    'postgresql://fil@db:5433/fil'
    >>> redact("host=db password=my secret")  # libpq cannot parse it
    'host=db password=***'
    >>> redact("postgresql://fil:se/cret@db/fil")  # nor can it read this one as meant
    'postgresql://db/fil'
    """
    try:
        info = None if _ambiguous(url) else psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        info = None
    if info is None:
        if "://" in url:  # keep what follows the last @, without the query string
            scheme, rest = url.split("://", 1)
            rest = re.split(r"[?#]", rest.rsplit("@", 1)[-1], maxsplit=1)[0]
            return f"{scheme}://{rest}"
        return re.sub(r"(password\s*=\s*).*?(?=\s+\w+\s*=|$)", r"\1***", url)
    host = info.get("host") or info.get("hostaddr") or "localhost"
    user = f"{info['user']}@" if info.get("user") else ""
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{user}{host}{port}/{info.get('dbname', '')}"


def _ambiguous(url: str) -> bool:
    """True for a URL with an ``@`` outside its user part: an unencoded character in the
    password made libpq end the user part early."""
    if "://" not in url:
        return False
    rest = url.split("://", 1)[1]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    return authority.count("@") > 1 or "@" in rest[len(authority):]


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (PostgreSQL adds detail lines)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def mask_quoted(reason: str) -> str:
    """libpq's reason with the quoted text masked, except option names.

    >>> mask_quoted('missing "=" after "secret" in connection info string')
    'missing "=" after "…" in connection info string'
    >>> mask_quoted('invalid integer value "x" for connection option "port"')
    'invalid integer value "…" for connection option "port"'
    """
    names = _option_names()
    return re.sub(r'"([^"]*)"', lambda m: m.group(0) if m.group(1) in names
                  or m.group(1) == "=" else '"…"', reason)


def _option_names() -> frozenset[str]:
    return frozenset(o.keyword.decode() for o in psycopg.pq.Conninfo.get_defaults())


def with_defaults(url: str, defaults: dict[str, str]) -> str:
    """The connection string with ``defaults`` for the options it does not set itself.

    >>> url = with_defaults("postgresql://fil@db/fil?connect_timeout=3",
    ...                     {"connect_timeout": "5", "keepalives": "1"})
    >>> info = psycopg.conninfo.conninfo_to_dict(url)
    >>> info["connect_timeout"], info["keepalives"], info["host"]
    ('3', '1', 'db')
    """
    info = {k: str(v) for k, v in psycopg.conninfo.conninfo_to_dict(url).items()
            if v is not None}
    return psycopg.conninfo.make_conninfo(**{**defaults, **info})


class ConnectTimeout(Exception):  # noqa: N818 - a signal, like TimeoutError
    """No connection could be had within the time given."""


def connect_within(conninfo: str, seconds: float, **kwargs: Any) -> psycopg.Connection[Any]:
    """``psycopg.connect(conninfo, **kwargs)``, given up on after ``seconds``.

    Raises ConnectTimeout when the time runs out (the attempt finishes in the
    background, within its ``connect_timeout``, and its connection is closed), or what
    ``psycopg.connect`` raised.
    """
    lock = threading.Lock()
    done = threading.Event()
    box: dict[str, Any] = {}

    def attempt() -> None:
        try:
            conn = psycopg.connect(conninfo, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc
            done.set()
            return
        with lock:
            late = box.get("abandoned", False)
            if not late:
                box["conn"] = conn
        done.set()
        if late:
            conn.close()

    threading.Thread(target=attempt, name="fil-pg-connect", daemon=True).start()
    done.wait(max(0.0, seconds))
    with lock:
        if "conn" in box:
            return box["conn"]
        if "error" in box:
            raise box["error"]
        box["abandoned"] = True
    raise ConnectTimeout(f"no connection within {seconds:.1f} s")


def break_connection(conn: psycopg.Connection[Any]) -> None:
    """Shut the connection's socket down: a thread blocked on it wakes with an error.

    The file descriptor stays open (psycopg closes it with the connection), so it cannot
    be reused by another file meanwhile.
    """
    with contextlib.suppress(Exception):
        fd = conn.pgconn.socket
        sock = socket.socket(fileno=fd)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.detach()  # not ours to close


class Watch:
    """One watched transaction: fired once its connection was broken."""

    __slots__ = ("conn", "due", "fired", "done")

    def __init__(self, conn: psycopg.Connection[Any], due: float) -> None:
        self.conn = conn
        self.due = due
        self.fired = False
        self.done = False


class Watchdog:
    """Breaks the connections whose server has not answered by their deadline.

    ``watch(conn, seconds)`` before using a connection, ``release(watch)`` after (and
    before the connection is closed or reused): it says whether the watchdog fired, in
    which case the connection is broken and must be closed. One daemon thread, started
    on first use (and again in a forked child).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Watch]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, conn: psycopg.Connection[Any], seconds: float) -> Watch:
        """Start watching ``conn``: it is broken if still watched ``seconds`` from now."""
        w = Watch(conn, self.clock() + max(0.0, seconds))
        with self._cond:
            heapq.heappush(self._heap, (w.due, next(self._seq), w))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fil-pg-watchdog",
                                                daemon=True)
                self._thread.start()
            if self._heap[0][2] is w:
                self._cond.notify()
        return w

    def release(self, w: Watch) -> bool:
        """Stop watching; True when the watchdog had already broken the connection."""
        with self._cond:
            w.done = True
            return w.fired

    @contextlib.contextmanager
    def watching(self, conn: psycopg.Connection[Any], seconds: float) -> Iterator[Watch]:
        """Watch ``conn`` for the block; a connection broken by the watchdog is closed."""
        w = self.watch(conn, seconds)
        try:
            yield w
        finally:
            if self.release(w):
                conn.close()

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                left = self._heap[0][0] - self.clock()
                if left > 0:
                    self._cond.wait(left)
                    continue
                w = heapq.heappop(self._heap)[2]
                w.fired = True
                break_connection(w.conn)


class Pool:
    """A few open connections shared by the threads of one process.

    ``factory(seconds)`` opens a connection within ``seconds``. A connection is kept for
    reuse only when it comes back healthy and idle (not in a transaction).
    """

    def __init__(self, factory: Callable[[float], psycopg.Connection[Any]], size: int) -> None:
        self.factory = factory
        self.size = size
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def connection(self, seconds: float) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection, or a new one opened within ``seconds``."""
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self.factory(seconds)
        try:
            yield conn
        finally:
            reusable = (not conn.closed and not conn.broken
                        and conn.info.transaction_status == TransactionStatus.IDLE)
            with self._lock:
                if reusable and len(self._idle) < self.size:
                    self._idle.append(conn)
                    conn = None
            if conn is not None:
                conn.close()

    def discard_idle(self) -> None:
        """Close the idle connections (after a failure, they are likely dead too)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def scalar(cursor: psycopg.Cursor[Any]) -> Any:
    """The first column of a query's one row (for queries that always return a row)."""
    row = cursor.fetchone()
    if row is None:
        raise IndexerError("a query that always returns a row returned none")
    return row[0]
