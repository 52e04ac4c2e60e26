"""Command line: ``python -m indexer rebuild | stats | search`` (also installed as ``fil``).

A thin layer over the library: parse options, call it, report. Library errors become
one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import html
import json
import re
import sys
from collections.abc import Callable
from typing import Any

import click

from .errors import IndexerError, RebuildLockedError
from .ingest.parsing import read_sources
from .search.results import Notice
from .service import open_service
from .settings import DEFAULT_INDEX_DIR, DEFAULT_SOURCE_DIR

EXIT_REJECTED = 3  # --strict and some inputs were rejected
EXIT_LOCKED = 4  # another rebuild holds the lock


def _backend_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every command: where the index lives and which backend holds it."""
    func = click.option("--database-url", envvar="FIL_DATABASE_URL", default=None,
                        help="PostgreSQL URL for --backend postgres [env FIL_DATABASE_URL].")(func)
    func = click.option("--backend", envvar="FIL_BACKEND", default="whoosh",
                        type=click.Choice(["whoosh", "postgres"]), show_default=True,
                        help="Search backend [env FIL_BACKEND].")(func)
    func = click.option("--index", "index_dir", envvar="FIL_INDEX_DIR",
                        default=DEFAULT_INDEX_DIR, show_default=True,
                        type=click.Path(file_okay=False),
                        help="Index directory (Whoosh backend) [env FIL_INDEX_DIR].")(func)
    return func


@click.group()
def cli() -> None:
    """Fil: search French discussion threads (blog posts and their comments)."""


@cli.command()
@click.option("--source", "sources", multiple=True, type=click.Path(),
              help="Thread file or folder (.txt blog exports, .jsonl); repeatable. "
                   f"Default: {DEFAULT_SOURCE_DIR} [env FIL_SOURCES, ':'-separated].")
@_backend_options
@click.option("--strict", is_flag=True,
              help=f"Exit with status {EXIT_REJECTED} when any input was rejected.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar, only the summary.")
def rebuild(sources: tuple[str, ...], index_dir: str, backend: str, database_url: str | None,
            strict: bool, quiet: bool) -> None:
    """Rebuild the index from thread files; the old index answers until the new one is complete.

    \b
    Example:
        python -m indexer rebuild --source index_data/threads --source more/
    """
    import os

    if not sources:
        env = os.environ.get("FIL_SOURCES")
        sources = tuple(s for s in env.split(":") if s.strip()) if env else ()
        sources = sources or (DEFAULT_SOURCE_DIR,)
    try:
        read = read_sources(sources)
    except IndexerError as exc:
        raise click.ClickException(f"{exc}; index left unchanged") from None
    for line in read.rejected:
        click.echo(f"rejected: {line}", err=True)
    for line in read.warnings:
        click.echo(f"warning: {line}", err=True)
    if not read.threads:
        raise click.ClickException(
            f"no thread could be read from {', '.join(sources)}; index left unchanged")
    total = sum(len(t.paragraphs) + len(t.comments) for t in read.threads)
    show_bar = not quiet and sys.stderr.isatty()
    try:
        engine = open_service(backend, index_dir, database_url)
        if show_bar:
            with click.progressbar(length=total, label="Indexing", file=sys.stderr) as bar:
                report = engine.rebuild(read.threads, progress=bar.update)
        else:
            report = engine.rebuild(read.threads)
        engine.close()
    except RebuildLockedError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_LOCKED)
    except IndexerError as exc:
        raise click.ClickException(f"{exc}; index left unchanged") from None
    rate = report.passages / report.seconds if report.seconds else 0.0
    click.echo(f"Indexed {report.threads} threads, {report.passages} passages, "
               f"{len(read.rejected)} rejected inputs in {report.seconds:.2f} s "
               f"({rate:,.0f} passages/s) -> {report.location}")
    if strict and read.rejected:
        sys.exit(EXIT_REJECTED)


@cli.command()
@_backend_options
def stats(index_dir: str, backend: str, database_url: str | None) -> None:
    """Show the current index: threads, passages, distinct terms, size on disk."""
    try:
        engine = open_service(backend, index_dir, database_url)
        st = engine.stats()
        engine.close()
    except IndexerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"index:    {st.location}")
    click.echo(f"built:    {st.built_at or 'unknown'}")
    click.echo(f"threads:  {st.threads}")
    click.echo(f"passages: {st.passages}")
    click.echo(f"terms:    {st.terms}")
    click.echo(f"size:     {st.size_bytes / 2**20:.2f} MiB ({st.size_bytes} bytes)")


_MARK_RE = re.compile(r"</?mark>")


@cli.command()
@click.argument("query")
@_backend_options
@click.option("--page", type=int, default=1, show_default=True, help="Result page (1-based).")
@click.option("--per-page", type=int, default=10, show_default=True, help="Results per page.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def search(query: str, index_dir: str, backend: str, database_url: str | None, page: int,
           per_page: int, as_json: bool) -> None:
    """Search the index from the terminal (same engine and query language as the web page).

    \b
    Example:
        python -m indexer search 'tres haut debit author:billaut'
    """
    try:
        engine = open_service(backend, index_dir, database_url)
        res = engine.search(query, page=page, per_page=per_page)
        engine.close()
    except IndexerError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        out = {"query": res.query, "total": res.total, "page": res.page,
               "per_page": res.per_page, "suggestion": res.suggestion, "matched": res.matched,
               "results": [{"thread_id": h.thread_id, "kind": h.kind, "position": h.position,
                            "author": h.author, "date": h.date, "score": h.score,
                            "snippet": h.snippet} for h in res.hits]}
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    note = " (no passage has every word: showing passages with any)" if res.matched == "any" \
        else ""
    click.echo(f"{res.total} results{note} ({res.elapsed_ms:.1f} ms)")
    if res.suggestion:
        click.echo(f"Did you mean: {res.suggestion}")
    for notice in res.notices:
        click.echo(f"note: {notice_en(notice)}")
    for n, h in enumerate(res.hits, start=(res.page - 1) * res.per_page + 1):
        where = f"¶{h.position}" if h.kind == "post" else f"comment {h.position}"
        who = f" — {h.author}" if h.author else ""
        when = f", {h.date}" if h.date else ""
        click.echo(f"{n:>3}. {h.thread_id} {where}{who}{when}  [{h.score:.3f}]")
        text = html.unescape(_MARK_RE.sub(lambda m: "]" if m.group().startswith("</") else "[",
                                          h.snippet))
        click.echo(f"     {text}")


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


def main() -> None:
    """Console-script entry point (``fil``)."""
    cli(prog_name="fil")
