"""Serve Fil with waitress: ``python -m search_app`` (installed as ``fil-serve``).

Options have the names of :data:`indexer.settings.SETTINGS`, each with its environment
variable: ``--host`` (FIL_HOST), ``--port`` (FIL_PORT), ``--threads`` (FIL_THREADS),
``--index`` (FIL_INDEX_DIR), ``--source`` (FIL_SOURCES), ``--backend`` (FIL_BACKEND),
``--database-url`` (FIL_DATABASE_URL), ``--shard`` (FIL_PG_SHARDS); FIL_WRITE_TOKEN
enables the write API. ``--version`` prints the version, stemmer and index format.

When there is no index at all, it is first built from ``--source`` (default
``index_data/threads``), so a fresh checkout works with this one command. An index that
exists but can't be read (damaged, or from another version) is never rebuilt over: the
server says why, serves pages that answer 503, and logs the cause on each request.

The server is a command-line program, so its console messages are in English like the
``fil`` command's; only the web pages are in French. It says where it serves only once
the port is bound; a port it can't bind is one line and exit status 1.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from indexer import about
from indexer.errors import (
    BackendUnavailableError,
    IndexDamagedError,
    IndexerError,
    IndexMissingError,
    NothingToIndexError,
    RebuildLockedError,
)
from indexer.ingest.parsing import ReadReport, iter_threads, plan_sources
from indexer.service import Service
from indexer.settings import BACKENDS, DEFAULT_INDEX_DIR, DEFAULT_SOURCE_DIR, SETTINGS, Settings

from . import create_app, get_service

#: waitress refuses larger bodies before the app sees them (the write API's limit).
MAX_REQUEST_BODY = 16 * 1024 * 1024 + 64 * 1024
EXIT_ERROR = 1

_SETTING = {s.field: s for s in SETTINGS}


def _help(field: str, text: str) -> str:
    return f"{text} [env {_SETTING[field].env}]"


def parse_args(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, Settings]:
    """Options (each with its environment variable), and the settings they make."""
    parser = argparse.ArgumentParser(
        prog=server_program(),
        description="Serve the Fil search engine (waitress WSGI server). Builds the index "
                    "from --source first when there is none.",
        epilog=f"{_SETTING['write_token'].env} (environment only) enables the write API "
               "(POST /api/threads, DELETE /api/threads/<id>) for requests bearing it.")
    parser.add_argument("--version", action="store_true",
                        help="show the version, the stemmer in use and the index format")
    parser.add_argument("--host", help=_help("host", "listening address (default 127.0.0.1)"))
    parser.add_argument("--port", type=int, help=_help("port", "listening port (default 8000; "
                                                        "0: any free port)"))
    parser.add_argument("--threads", type=int, help=_help("threads", "worker threads "
                                                          "(default 4)"))
    parser.add_argument("--index", metavar="DIR", help=_help(
        "index_dir", f"index directory of the embedded store (default {DEFAULT_INDEX_DIR})"))
    parser.add_argument("--source", action="append", metavar="PATH",
                        help=_help("sources", "thread files or folders the index is built from "
                                   f"when there is none; repeatable (default "
                                   f"{DEFAULT_SOURCE_DIR}; ':'-separated in the environment)"))
    parser.add_argument("--backend", choices=BACKENDS,
                        help=_help("backend", "where the index lives (default whoosh)"))
    parser.add_argument("--database-url", metavar="URL", help=_help(
        "database_url", "PostgreSQL URL for --backend postgres"))
    parser.add_argument("--shard", action="append", metavar="URL",
                        help=_help("shards", "PostgreSQL shard URL; repeatable"))
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env().override(
            host=args.host, port=args.port, threads=args.threads, index_dir=args.index,
            sources=tuple(args.source or ()), backend=args.backend,
            database_url=args.database_url, shards=tuple(args.shard or ()))
    except ValueError as exc:  # e.g. FIL_PORT=abc
        parser.error(f"invalid setting in the environment: {exc}")
    if not 0 <= settings.port <= 65535:
        parser.error(f"invalid port: {settings.port}")
    if settings.threads < 1:
        parser.error(f"invalid number of threads: {settings.threads}")
    return args, settings


def server_program() -> str:
    """How this server was started, as a shell would start it again."""
    orig = getattr(sys, "orig_argv", [])
    if len(orig) >= 3 and orig[1:3] == ["-m", "search_app"]:
        return f"{shlex.quote(orig[0])} -m search_app"
    return "fil-serve"


def cli_program() -> str:
    """The command line (``fil``) as this server's user would run it."""
    orig = getattr(sys, "orig_argv", [])
    if len(orig) >= 3 and orig[1:3] == ["-m", "search_app"]:
        return f"{shlex.quote(orig[0])} -m indexer"
    return "fil"


def rebuild_hint(args: argparse.Namespace, settings: Settings) -> str:
    """The rebuild command for this server's store and sources, as it can be typed."""
    if settings.backend == "whoosh":
        opts = ["--index", str(settings.index_dir)]
    else:
        opts = ["--backend", settings.backend]
        if args.database_url:  # a URL from the environment stays there (no password shown)
            opts += ["--database-url", args.database_url]
        for url in args.shard or ():
            opts += ["--shard", url]
    opts += [a for src in settings.sources for a in ("--source", src)]
    return " ".join([cli_program(), "rebuild", *(shlex.quote(o) for o in opts)])


def say(message: str) -> None:
    """One line on the console (stderr)."""
    print(message, file=sys.stderr, flush=True)


def index_state(service: Service) -> tuple[str, str]:
    """("ready" | "missing" | "damaged" | "unavailable", cause): a cheap empty search."""
    try:
        service.search("", page=1, per_page=1)
    except IndexDamagedError as exc:
        return "damaged", str(exc)
    except IndexMissingError as exc:
        return "missing", str(exc)
    except BackendUnavailableError as exc:
        return "unavailable", str(exc)
    return "ready", ""


def build_seed(service: Service, settings: Settings) -> bool:
    """Build the missing index from the sources, streamed; False when that was impossible."""
    sources = ", ".join(settings.sources)
    say(f"No index yet: building it from {sources}...")
    report = ReadReport()
    try:
        plan = plan_sources(settings.sources)
        built = service.rebuild(iter_threads(plan, report))
    except RebuildLockedError:
        say("Another rebuild of the index is running; serving anyway: the index answers "
            "as soon as that rebuild is done.")
        return True
    except NothingToIndexError:
        say(f"Cannot build the index: no thread could be read from {sources}.")
        return False
    except IndexerError as exc:
        say(f"Cannot build the index: {exc}.")
        return False
    finally:
        for s in report.skipped:
            if s.problem:
                say(f"  skipped: {s}")
        for f in report.rejected:
            say(f"  rejected: {f}")
        for w in report.warnings:
            say(f"  warning: {w}")
    say(f"Index built: {built.threads} thread{'s' * (built.threads != 1)}, "
        f"{built.passages} passage{'s' * (built.passages != 1)} in {built.seconds:.1f} s.")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m search_app`` and ``fil-serve``."""
    args, settings = parse_args(argv)
    if args.version:
        for line in about.version_lines("fil-serve"):
            print(line)
        return 0
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("waitress").setLevel(logging.WARNING)
    try:
        app = create_app(settings=settings.override(index_dir=Path(settings.index_dir)))
    except IndexerError as exc:
        say(f"Error: {exc}")
        return EXIT_ERROR
    service = get_service(app)
    state, cause = index_state(service)
    if state == "missing" and not build_seed(service, settings):
        say(f"Build the index with: {rebuild_hint(args, settings)}, then start the server "
            "again.")
        return EXIT_ERROR
    if state == "damaged":
        say(f"warning: the index cannot be read ({cause}); it is left as it is and pages "
            f"answer 503 until it is rebuilt with: {rebuild_hint(args, settings)}")
    elif state == "unavailable":
        say(f"warning: {cause}; serving anyway (pages answer 503 until it answers).")
    return serve(app, settings)


def raise_open_files_limit(wanted: int = 65536) -> None:
    """Let the process open as many files as its hard limit allows (up to ``wanted``).

    Each segment a process reads keeps a few dozen descriptors open (memory-mapped
    arrays), and updates add segments until merges fold them: a 1,024 soft limit, common
    on Linux, can be reached by a long-running server.
    """
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ImportError, ValueError, OSError):  # not POSIX, or not allowed: keep the limit
        pass


def serve(app: object, settings: Settings) -> int:
    """Bind, say where, then serve until interrupted."""
    from waitress.server import create_server

    raise_open_files_limit()
    try:
        # poll(), not select(): every open segment holds file descriptors (its arrays are
        # memory-mapped), and select() fails on descriptors numbered past 1024
        server = create_server(app, host=settings.host, port=settings.port,
                               threads=settings.threads, ident="Fil",
                               max_request_body_size=MAX_REQUEST_BODY,
                               clear_untrusted_proxy_headers=True, asyncore_use_poll=True)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        say(f"Error: cannot listen on {settings.host}:{settings.port}: {reason}")
        return EXIT_ERROR
    host = getattr(server, "effective_host", settings.host)
    port = getattr(server, "effective_port", settings.port)
    shown = f"[{host}]" if ":" in str(host) else host
    say(f"Serving Fil on http://{shown}:{port}/ (Ctrl+C to stop)")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
