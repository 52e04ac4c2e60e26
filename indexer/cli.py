"""Command line: ``python -m indexer`` (installed as ``fil``): rebuild, update, delete, optimize,
stats, search.

A thin layer over the library: parse options, call it, report. Library errors carry
data; this module words them in English, names its own options (``--per-page``, not
the API's ``per_page``), and ends with one line on stderr and an exit status, never a
traceback. Every hint it prints is a whole command that works as printed: it repeats
the index, backend and sources the user gave (shell-quoted); a database URL given
through FIL_DATABASE_URL is left in the environment rather than printed.

Exit status: 0 success; 1 an error (one line on stderr); 2 a usage error;
3 ``--strict`` and an input was rejected or skipped; 4 another change holds the index's
write lock; 5 the index is damaged; 6 ``delete`` named threads that are not in the index;
70 a bug in Fil (one line, not a traceback).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import click
from click.core import ParameterSource

from . import about
from .errors import (
    QUERY_MESSAGES_EN,
    IndexDamagedError,
    IndexerError,
    IndexMissingError,
    IndexWriteError,
    NothingToIndexError,
    QueryError,
    RebuildLockedError,
    SourceMissingError,
    UnsupportedError,
)
from .ingest.parsing import ReadReport, iter_threads, plan_sources
from .progress import Progress
from .search.pipeline import MAX_PAGE, MAX_PER_PAGE
from .search.present import hit_url, plain_snippet, results_json
from .search.results import Hit, Notice
from .service import Service, open_service
from .settings import BACKENDS, DEFAULT_INDEX_DIR, DEFAULT_SOURCE_DIR, SETTINGS, Settings
from .store.base import BuildReport

EXIT_ERROR = 1  # an error, said in one line on stderr
EXIT_USAGE = 2  # bad options or arguments (click's own status)
EXIT_REJECTED = 3  # --strict and some input was rejected or skipped
EXIT_LOCKED = 4  # another change holds the write lock
EXIT_DAMAGED = 5  # the index exists but cannot be read
EXIT_NOT_FOUND = 6  # delete: some thread ids are not in the index
EXIT_INTERNAL = 70  # a bug: one line instead of a traceback (EX_SOFTWARE)

#: API parameter names as this command line spells them.
OPTION_NAMES = {"page": "--page", "per_page": "--per-page"}

_SETTING = {s.field: s for s in SETTINGS}


class Failure(click.ClickException):
    """One line on stderr (``Error: ...``) and an exit status."""

    def __init__(self, message: str, status: int = EXIT_ERROR) -> None:
        super().__init__(message)
        # click types exit_code as a class variable, but reads it from the instance
        self.exit_code = status  # type: ignore[misc]


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 thread``, ``0 threads``, ``29 passages``.

    >>> plural(1, "thread"), plural(0, "thread"), plural(2, "entry", "entries")
    ('1 thread', '0 threads', '2 entries')
    """
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def program_name() -> str:
    """How the user ran this program, as a shell would run it again.

    ``python3 -m indexer`` when run as a module (``sys.orig_argv`` keeps the interpreter
    as typed), else the script's name (``fil``).
    """
    orig = getattr(sys, "orig_argv", [])
    if len(orig) >= 3 and orig[1:3] == ["-m", "indexer"]:
        return f"{shlex.quote(orig[0])} -m indexer"
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "fil"
    return "fil" if name in ("__main__.py", "-c", "") else name


# -- where a command works, and the hints that repeat it ---------------------------------


@dataclass(frozen=True, slots=True)
class Where:
    """The store a command works on, as options a hint must repeat to work as printed."""

    prog: str
    settings: Settings
    index_typed: str  # the index as the user wrote it (relative paths stay relative)
    url_typed: bool  # the database URL came from --database-url (else: the environment)
    shards_typed: bool

    def options(self) -> list[str]:
        """The options that select this store."""
        s = self.settings
        if s.backend == "whoosh":
            return ["--index", self.index_typed]
        out = ["--backend", s.backend]
        if self.url_typed and s.database_url:
            out += ["--database-url", s.database_url]
        if self.shards_typed:
            for url in s.shards:
                out += ["--shard", url]
        return out

    def command(self, name: str, *args: str) -> str:
        """A whole command line for this store: ``fil rebuild --index idx --source src``."""
        return " ".join([self.prog, name, *(shlex.quote(a) for a in [*self.options(), *args])])

    def rebuild_hint(self, sources: tuple[str, ...] | None = None) -> str:
        """The rebuild command for this store, from these sources (default: the settings')."""
        sources = self.settings.sources if sources is None else sources
        return self.command("rebuild", *[a for src in sources for a in ("--source", src)])

    def location(self, reported: str = "") -> str:
        """The index, as a person reads it (a store's own report, e.g. a redacted URL)."""
        if self.settings.backend == "whoosh":
            return self.index_typed
        return reported or "the PostgreSQL database"

    def open(self) -> Service:
        """The service over this store (one line if its backend can't be loaded)."""
        s = self.settings
        try:
            return open_service(s.backend, s.index_dir, s.database_url, s.shards)
        except IndexerError as exc:
            raise Failure(str(exc)) from None


def store_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every command: which store, where (names from indexer.settings)."""
    shard = _SETTING["shards"]
    func = click.option(shard.option, "shards", multiple=True, metavar="URL",
                        help=f"PostgreSQL shard URL, repeatable [env {shard.env}].")(func)
    url = _SETTING["database_url"]
    func = click.option(url.option, "database_url", envvar=url.env, default=None, metavar="URL",
                        help=f"PostgreSQL URL for --backend postgres [env {url.env}].")(func)
    backend = _SETTING["backend"]
    func = click.option(backend.option, "backend", envvar=backend.env, default="whoosh",
                        type=click.Choice(BACKENDS), show_default=True,
                        help=f"Where the index lives [env {backend.env}].")(func)
    index = _SETTING["index_dir"]
    func = click.option(index.option, "index_dir", envvar=index.env, default=DEFAULT_INDEX_DIR,
                        show_default=True, type=click.Path(file_okay=False),
                        help=f"Index directory (embedded store) [env {index.env}].")(func)
    return func


def source_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--source`` (repeatable), defaulting to FIL_SOURCES, then the seed folder."""
    src = _SETTING["sources"]
    return click.option(src.option, "sources", multiple=True, type=click.Path(),
                        metavar="PATH",
                        help="Thread file or folder (.txt, .jsonl, .json, optionally .gz); "
                             f"repeatable. Default: {DEFAULT_SOURCE_DIR} "
                             f"[env {src.env}, ':'-separated].")(func)


def where(index_dir: str, backend: str, database_url: str | None, shards: tuple[str, ...],
          sources: tuple[str, ...] = ()) -> Where:
    """The store (and sources) of the running command, from its options and the environment."""
    ctx = click.get_current_context()
    try:
        settings = Settings.from_env().override(index_dir=index_dir, backend=backend,
                                                database_url=database_url, shards=shards,
                                                sources=sources)
    except ValueError as exc:  # e.g. FIL_THREADS=abc
        raise Failure(f"invalid setting in the environment: {exc}") from None
    return Where(ctx.find_root().info_name or "fil", settings, index_dir,
                 ctx.get_parameter_source("database_url") == ParameterSource.COMMANDLINE,
                 bool(shards))


def fail(exc: IndexerError, at: Where, sources: tuple[str, ...] | None = None) -> NoReturn:
    """Word a library error for the command line and exit with its status."""
    if isinstance(exc, RebuildLockedError):
        raise Failure(f"{exc}", EXIT_LOCKED)
    if isinstance(exc, IndexDamagedError):
        raise Failure(f"the index at {at.location()} is damaged: {exc}; rebuild it with: "
                      f"{at.rebuild_hint(sources)}", EXIT_DAMAGED)
    if isinstance(exc, IndexMissingError):
        where = f"at {at.location()}" if at.settings.backend == "whoosh" else "in the database"
        raise Failure(f"no index {where}; build it with: {at.rebuild_hint(sources)}")
    if isinstance(exc, QueryError):
        raise Failure(query_error_en(exc))
    if isinstance(exc, UnsupportedError):
        raise Failure(f"the {exc.backend} backend does not support {exc.operation} yet; "
                      f"rebuild instead: {at.rebuild_hint(sources)}")
    if isinstance(exc, IndexWriteError):
        raise Failure(f"{exc}; the index was left as it was")
    if isinstance(exc, SourceMissingError):
        raise Failure(f"{exc}; the index was left as it was")
    raise Failure(str(exc))


@contextlib.contextmanager
def reporting(at: Where, sources: tuple[str, ...] | None = None) -> Iterator[None]:
    """Turn library errors (and OS errors outside the store) into one line and a status."""
    try:
        yield
    except IndexerError as exc:
        fail(exc, at, sources)
    except OSError as exc:
        raise Failure(f"{exc.strerror or exc}"
                      + (f": {exc.filename}" if exc.filename else "")) from None


def query_error_en(exc: QueryError) -> str:
    """A query error in English, naming this command line's options."""
    fields = dict(exc.fields)
    if exc.code in ("not_integer", "out_of_range"):
        fields["name"] = OPTION_NAMES.get(fields.get("name", ""), fields.get("name", ""))
    return QUERY_MESSAGES_EN[exc.code].format(**fields)


def notice_en(n: Notice) -> str:
    """A search notice in English."""
    if n.code == "prefix_short":
        return f"{n.word}: a prefix needs at least {n.limit} letters; searched as a word"
    if n.code == "prefix_capped":
        return f"{n.word}: prefix too common, limited to its {n.limit} most frequent words"
    if n.code == "rescued":
        return f"{n.word}: in no passage; searched as {n.other}"
    if n.code == "timed_out":
        return "the search took too long: partial results"
    return n.code


# -- the group ------------------------------------------------------------------------


def print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``: version, stemmer, index format."""
    if not value or ctx.resilient_parsing:
        return
    for line in about.version_lines("fil"):
        click.echo(line)
    ctx.exit()


@click.group()
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=print_version,
              help="Show the version, the stemmer in use and the index format, then exit.")
def cli() -> None:
    """Fil: search French discussion threads (blog posts and their comments).

    Exit status: 0 success, 1 error, 2 usage error, 3 --strict and something was
    rejected, 4 the index is locked by another change, 5 the index is damaged,
    6 delete: some threads were not found.
    """


# -- reading sources, with progress ----------------------------------------------------


@dataclass(slots=True)
class Reading:
    """Sources being read for a change: the stream of threads, its report, its progress."""

    report: ReadReport
    threads: Iterator[Any]
    progress: Progress | None

    def indexed(self, n: int) -> None:
        if self.progress is not None:
            self.progress.on_passages(n)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.close()
            self.progress = None

    def faults(self) -> None:
        """Print what was rejected, skipped (as a problem) or warned, one line each."""
        for s in self.report.skipped:
            if s.problem:
                click.echo(f"skipped: {s}", err=True)
        for f in self.report.rejected:
            click.echo(f"rejected: {f}", err=True)
        for w in self.report.warnings:
            click.echo(f"warning: {w}", err=True)

    def counts(self) -> str:
        """``(1 rejected, 0 skipped)``."""
        skipped = sum(1 for s in self.report.skipped if s.problem)
        return f"({len(self.report.rejected):,} rejected, {skipped:,} skipped)"


def read_for_change(service: Service, sources: tuple[str, ...], quiet: bool,
                    writing: str) -> Reading:
    """Check the index is free, plan the sources, and stream their threads (nothing read yet).

    The lock is checked before the sources are even listed; the store takes it again
    before it consumes the first thread, so a locked index never costs a read.
    """
    service.check_writable()
    plan = plan_sources(sources)
    report = ReadReport()
    progress = None
    if not quiet and sys.stderr.isatty():
        progress = Progress(sys.stderr, plan.total_bytes, len(plan.files),
                            lambda: (len(report.files), report.passages), writing)
    threads: Iterator[Any] = iter_threads(plan, report,
                                          on_bytes=progress.on_bytes if progress else None)
    if progress is not None:
        threads = progress.reading(threads)
    return Reading(report, threads, progress)


T = TypeVar("T")


def run_change(at: Where, quiet: bool, writing: str,
               change: Callable[[Service, Reading], T]) -> tuple[T, Reading]:
    """Open the store, stream the sources into ``change``, close both; the reading's faults
    are reported whatever happens (rebuild and update)."""
    reading: Reading | None = None
    try:
        with reporting(at, at.settings.sources):
            service = at.open()
            try:
                reading = read_for_change(service, at.settings.sources, quiet, writing)
                result = change(service, reading)
            finally:
                service.close()
    finally:
        if reading is not None:
            reading.close()
            reading.faults()
    assert reading is not None
    return result, reading


def change_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--source``, the store, ``--strict`` and ``--quiet`` (rebuild and update)."""
    func = click.option("--quiet", "-q", is_flag=True,
                        help="No progress line, only the summary.")(func)
    func = click.option("--strict", is_flag=True,
                        help=f"Exit with status {EXIT_REJECTED} when any input was rejected "
                             "or a file was skipped.")(func)
    return source_option(store_options(func))


# -- rebuild, update --------------------------------------------------------------------


@cli.command()
@change_options
def rebuild(sources: tuple[str, ...], index_dir: str, backend: str, database_url: str | None,
            shards: tuple[str, ...], strict: bool, quiet: bool) -> None:
    """Rebuild the whole index from thread files; the old index answers until the new one is
    complete, and stays when the rebuild fails.

    On a terminal a progress line shows the reading (files, bytes, passages, rate, time
    left), then the writing of the index.

    \b
    Example:
        fil rebuild --source index_data/threads --source more/
    """
    started = time.perf_counter()
    at = where(index_dir, backend, database_url, shards, sources)

    def build(service: Service, reading: Reading) -> BuildReport:
        try:
            return service.rebuild(reading.threads, progress=reading.indexed)
        except NothingToIndexError:
            raise Failure(f"no thread could be read from {', '.join(at.settings.sources)}; "
                          "the index was left as it was") from None

    built, reading = run_change(at, quiet, "Writing the index", build)
    seconds = time.perf_counter() - started
    rate = built.passages / seconds if seconds else 0.0
    click.echo(f"Indexed {plural(built.threads, 'thread')}, {plural(built.passages, 'passage')} "
               f"{reading.counts()} in {seconds:.2f} s, reading included "
               f"({rate:,.0f} passages/s) -> {at.location(built.location)}")
    if strict and reading.report.problems:
        sys.exit(EXIT_REJECTED)


@cli.command()
@change_options
def update(sources: tuple[str, ...], index_dir: str, backend: str, database_url: str | None,
           shards: tuple[str, ...], strict: bool, quiet: bool) -> None:
    """Add new threads and replace changed ones, by id, from thread files.

    A thread whose id is in the index is replaced whole when its content changed, and
    left alone when it did not; new ids are added. Nothing is removed (see delete).
    Searches, and running servers, see the change at their next query.

    \b
    Example:
        fil update --source exports/2024-06.jsonl
    """
    started = time.perf_counter()
    at = where(index_dir, backend, database_url, shards, sources)
    done, reading = run_change(at, quiet, "Updating the index",
                               lambda service, reading: service.update(
                                   reading.threads, progress=reading.indexed))
    seconds = time.perf_counter() - started
    click.echo(f"Updated: {done.added:,} added, {done.replaced:,} replaced, "
               f"{done.unchanged:,} unchanged {reading.counts()}; "
               f"{plural(done.passages, 'passage')} written, "
               f"{plural(done.merged, 'segment')} merged, in {seconds:.2f} s, reading included "
               f"-> {at.location(done.location)}")
    if strict and reading.report.problems:
        sys.exit(EXIT_REJECTED)


# -- delete, optimize ------------------------------------------------------------------


@cli.command()
@click.argument("thread_ids", nargs=-1, required=True, metavar="THREAD_ID...")
@store_options
def delete(thread_ids: tuple[str, ...], index_dir: str, backend: str,
           database_url: str | None, shards: tuple[str, ...]) -> None:
    """Remove threads from the index by id.

    Ids that are not in the index are named on stderr and the status is
    6 (the others are deleted all the same).

    \b
    Example:
        fil delete lippi-billautshow-2009-02
    """
    started = time.perf_counter()
    at = where(index_dir, backend, database_url, shards)
    with reporting(at):
        service = at.open()
        try:
            done = service.delete(thread_ids)
        finally:
            service.close()
    for tid in done.missing:
        click.echo(f"not found: {tid}", err=True)
    seconds = time.perf_counter() - started
    click.echo(f"Deleted {plural(done.deleted, 'thread')} ({len(done.missing):,} not found), "
               f"{plural(done.merged, 'segment')} merged, in {seconds:.2f} s -> "
               f"{at.location(done.location)}")
    if done.missing:
        sys.exit(EXIT_NOT_FOUND)


@cli.command()
@store_options
def optimize(index_dir: str, backend: str, database_url: str | None,
             shards: tuple[str, ...]) -> None:
    """Merge every segment into one, dropping deleted passages (exact statistics again).

    \b
    Example:
        fil optimize --index index_data/index
    """
    started = time.perf_counter()
    at = where(index_dir, backend, database_url, shards)
    with reporting(at):
        service = at.open()
        try:
            done = service.optimize()
        finally:
            service.close()
    seconds = time.perf_counter() - started
    what = (f"merged {plural(done.merged, 'segment')} into one" if done.merged
            else "nothing to merge (one segment, no deleted passage)")
    click.echo(f"Optimized: {what}, in {seconds:.2f} s -> {at.location(done.location)}")


# -- stats -------------------------------------------------------------------------------


@cli.command()
@store_options
def stats(index_dir: str, backend: str, database_url: str | None,
          shards: tuple[str, ...]) -> None:
    """Show the current index: threads, passages, segments, deletions, terms, size, stemmer.

    A damaged index is reported as ``damaged: <cause>`` with status 5.
    """
    at = where(index_dir, backend, database_url, shards)
    with reporting(at):
        service = at.open()
        try:
            try:
                st = service.stats()
            except IndexDamagedError as exc:
                click.echo(f"index:    {at.location()}")
                click.echo(f"damaged:  {exc}")
                raise Failure(f"the index is damaged; rebuild it with: {at.rebuild_hint()}",
                              EXIT_DAMAGED) from None
        finally:
            service.close()
    location = at.location() if at.settings.backend == "whoosh" else st.location
    click.echo(f"index:    {location}")
    click.echo(f"built:    {st.built_at or 'unknown'}")
    click.echo(f"updated:  {st.updated_at or st.built_at or 'unknown'}")
    click.echo(f"threads:  {st.threads}")
    click.echo(f"passages: {st.passages}")
    click.echo(f"deleted:  {st.deleted} (passages deleted, on disk until their segment "
               "is merged)")
    click.echo(f"segments: {st.segments}")
    click.echo(f"terms:    {st.terms}")
    click.echo(f"size:     {st.size_bytes / 2**20:.2f} MiB ({st.size_bytes} bytes)")
    click.echo(f"stemmer:  {about.stemmer()}")


# -- search ------------------------------------------------------------------------------


def hit_label(hit: Hit) -> str:
    """Where a hit is, in English: ``post ¶14`` or ``comment 5 — Thierry, 2009-02-05 21:38``."""
    if hit.kind == "post":
        label = f"post ¶{hit.position}"
    else:
        label = f"comment {hit.position}"
        if hit.paragraph > 1:
            label += f" ¶{hit.paragraph}"
    who = [x for x in (hit.author, hit.date.replace("T", " ") if hit.date else None) if x]
    return f"{label} — {', '.join(who)}" if who else label


def printable(text: str, keep: str = "") -> str:
    r"""Text safe for a terminal: control characters (escape sequences) become spaces.

    >>> printable("a\x1b[31mb\tc")
    'a [31mb c'
    """
    return "".join(ch if ch.isprintable() or ch in keep else " " for ch in text)


@cli.command()
@click.argument("query")
@store_options
@click.option("--page", type=int, default=1, show_default=True,
              help=f"Result page (1-{MAX_PAGE}).")
@click.option("--per-page", type=int, default=10, show_default=True,
              help=f"Results per page (1-{MAX_PER_PAGE}).")
@click.option("--base-url", default="", metavar="URL",
              help="Put this in front of result links (e.g. https://fil.example.org).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the results as the JSON API does: the same keys and result "
                   "objects, notices in English; 'snippet' is HTML (escaped text, matched "
                   "words in <mark>).")
def search(query: str, index_dir: str, backend: str, database_url: str | None,
           shards: tuple[str, ...], page: int, per_page: int, base_url: str,
           as_json: bool) -> None:
    """Search the index from the terminal (same engine and query language as the web page).

    Each result shows the thread's title, where the passage is, its link on the web
    page (/thread/<id>#p14) and a plain-text snippet, matched words in bold on a
    terminal (**like this** otherwise).

    \b
    Example:
        fil search 'tres haut debit author:philrig'
    """
    at = where(index_dir, backend, database_url, shards)
    with reporting(at):
        service = at.open()
        try:
            res = service.search(query, page=page, per_page=per_page)
        finally:
            service.close()
    if as_json:
        import json

        click.echo(json.dumps(results_json(res, query, False, notice_en, base=base_url),
                              ensure_ascii=False, indent=2))
        return
    tty = sys.stdout.isatty()
    marks = ("\x1b[1m", "\x1b[22m") if tty else ("**", "**")
    note = " (no passage has every word: showing passages with any)" \
        if res.matched == "any" else ""
    approx = "at least " if not res.total_exact else ""
    click.echo(f"{approx}{plural(res.total, 'result')}{note} ({res.elapsed_ms:.1f} ms)")
    if res.suggestion:
        click.echo(f"Did you mean: {printable(res.suggestion)}")
    for notice in res.notices:
        click.echo(f"note: {printable(notice_en(notice))}")
    first = (res.page - 1) * res.per_page + 1
    for n, h in enumerate(res.hits, start=first):
        click.echo(f"{n:>3}. {printable(h.thread_title)} — {printable(hit_label(h))}  "
                   f"[{h.score:.3f}]")
        click.echo(f"     {printable(hit_url(h, query, base_url))}")
        snippet = printable(plain_snippet(h.snippet, "\0", "\1"), keep="\0\1")
        click.echo(f"     {snippet.replace(chr(0), marks[0]).replace(chr(1), marks[1])}")


def main() -> None:
    """Console-script entry point (``fil``) and ``python -m indexer``."""
    try:
        cli.main(prog_name=program_name())
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, never a traceback
        click.echo(f"Error: unexpected {type(exc).__name__}: {exc} (this is a bug in Fil)",
                   err=True)
        sys.exit(EXIT_INTERNAL)
