"""Serve Fil with waitress: ``python -m search_app [--host H] [--port P] [--threads N]``.

Options: ``--index DIR`` (index location), ``--source DIR`` (threads to index if missing);
each has an environment fallback (FIL_HOST, FIL_PORT, FIL_THREADS, FIL_INDEX_DIR, FIL_SOURCE_DIR).

When no index exists yet, it is first built from the thread files in ``--source``
(default ``index_data/threads``), so a fresh checkout works with this one command.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from indexer.errors import (
    BackendUnavailableError,
    IndexerError,
    IndexMissingError,
    RebuildLockedError,
)
from indexer.ingest.parsing import read_sources
from indexer.service import Service
from indexer.settings import DEFAULT_INDEX_DIR, DEFAULT_SOURCE_DIR, Settings

from . import create_app, get_service

MAX_REQUEST_BODY = 1024 * 1024  # waitress refuses larger bodies before the app sees them


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options, each with an environment fallback."""
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="python -m search_app",
        description="Sert le moteur de recherche Fil (serveur WSGI waitress).")
    parser.add_argument("--host", default=env.get("FIL_HOST", "127.0.0.1"),
                        help="adresse d'écoute (FIL_HOST, défaut 127.0.0.1)")
    parser.add_argument("--port", type=int, default=env.get("FIL_PORT", "8000"),
                        help="port d'écoute (FIL_PORT, défaut 8000)")
    parser.add_argument("--threads", type=int, default=env.get("FIL_THREADS", "4"),
                        help="nombre de fils d'exécution (FIL_THREADS, défaut 4)")
    parser.add_argument("--index", default=env.get("FIL_INDEX_DIR", DEFAULT_INDEX_DIR),
                        help=f"dossier de l'index (FIL_INDEX_DIR, défaut {DEFAULT_INDEX_DIR})")
    parser.add_argument("--source", default=env.get("FIL_SOURCE_DIR", DEFAULT_SOURCE_DIR),
                        help="fils de discussion indexés si l'index manque "
                             f"(FIL_SOURCE_DIR, défaut {DEFAULT_SOURCE_DIR})")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"port invalide : {args.port}")
    if args.threads < 1:
        parser.error(f"nombre de fils invalide : {args.threads}")
    return args


def index_missing(backend: Service) -> bool:
    """True when the backend has no index to search yet (a cheap empty search)."""
    try:
        backend.search("", page=1, per_page=1)
    except IndexMissingError:
        return True
    return False


def ensure_index(backend: Service, source: str | os.PathLike[str]) -> bool:
    """Build the index from ``source`` when it is missing; False if that was impossible."""
    try:
        if not index_missing(backend):
            return True
    except BackendUnavailableError as exc:  # e.g. its database is down: the app answers
        print(f"warning: {exc}; serving anyway: searches answer 503 until it is back",
              file=sys.stderr)  # 503 (Retry-After) meanwhile, and recovers by itself
        return True
    print(f"Aucun index trouvé : construction à partir de {source} …", file=sys.stderr)
    try:
        read = read_sources([source])
        for line in read.rejected:
            print(f"  ignoré : {line}", file=sys.stderr)
        for line in read.warnings:
            print(f"  attention : {line}", file=sys.stderr)
        report = backend.rebuild(read.threads)
    except RebuildLockedError:
        print("Une reconstruction de l'index est déjà en cours ; le serveur démarre "
              "quand même et l'utilisera dès qu'elle sera terminée.", file=sys.stderr)
        return True
    except IndexerError as exc:
        print(f"Impossible de construire l'index : {exc}", file=sys.stderr)
        return False
    print(f"Index construit : {report.threads} fil(s), {report.passages} passage(s) "
          f"en {report.seconds:.1f} s.", file=sys.stderr)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m search_app`` and ``fil-serve``."""
    args = parse_args(argv)
    from waitress import serve

    try:
        app = create_app(settings=Settings.from_env().override(index_dir=Path(args.index)))
    except IndexerError as exc:
        print(f"Configuration invalide : {exc}", file=sys.stderr)
        return 1
    if not ensure_index(get_service(app), args.source):
        print("Construisez l'index avec « python -m indexer rebuild SOURCE » puis relancez.",
              file=sys.stderr)
        return 1
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Fil est servi sur http://{host}:{args.port}/ (Ctrl+C pour arrêter)",
          file=sys.stderr)
    try:
        serve(app, host=args.host, port=args.port, threads=args.threads, ident="Fil",
              max_request_body_size=MAX_REQUEST_BODY, clear_untrusted_proxy_headers=True)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"Impossible d'écouter sur {args.host}:{args.port} : {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
