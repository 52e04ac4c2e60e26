"""Constants and small helpers shared by the tests (paths, the seed thread, opening stores).

Every test file takes its paths and seed facts from here instead of redefining them.

Time: GENEROUS_SECONDS below is the one time bound of the whole suite. No test asserts
that something is fast; tests count operations instead (questions asked of a store,
characters analysed, requests made). Waits that could hang if the code under test is
broken (a subprocess, a server thread, a lock) give up after GENEROUS_SECONDS, so a bug
fails the test instead of blocking the run; when the code is right they never get near it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from whoosh.filedb.filestore import FileStorage
from whoosh.index import Index

from indexer.ingest.model import Thread
from indexer.service import Service
from indexer.store.base import BuildReport
from indexer.store.whoosh import writer
from indexer.store.whoosh.manifest import read_current
from indexer.store.whoosh.segment import PASSAGES
from indexer.store.whoosh.store import EmbeddedStore

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEED_DIR = ROOT / "index_data" / "threads"
SEED_ID = "lippi-billautshow-2009-02"
SEED_FILE = SEED_DIR / f"{SEED_ID}.txt"
SEED_TITLE = "Connaissez-vous les gens de Lippi ?"
#: The five passages of the seed that hold « très haut débit » (README, API contract).
SEED_TOP_FIVE = {("post", 2), ("post", 14), ("post", 15), ("comment", 1), ("comment", 13)}
PIAF_THREADS = SHARED / "eval" / "piaf" / "threads.jsonl"
PIAF_QUERIES = PIAF_THREADS.with_name("queries.jsonl")
FR_PARAGRAPHS = SHARED / "bench" / "fr_paragraphs.jsonl.gz"
FIXTURES = Path(__file__).resolve().parent / "data"
#: Where tests write files meant for people (the browser's screenshots); git-ignored.
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
#: The README's picture, refreshed on purpose only: ``python tests/screenshots.py``.
README_SCREENSHOT = ROOT / "docs" / "screenshot-results.png"

#: The suite's only time bound (seconds): how long a wait may last before the test fails
#: instead of hanging. Generous on purpose: it must never fail on a slow, shared machine.
GENEROUS_SECONDS = 60


def in_ci() -> bool:
    """True under CI (``CI`` set to anything but empty/0/false/no): missing tools fail."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Skip the test for a missing tool or file, or fail it under CI (see :func:`in_ci`)."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set: not skipping)")
    pytest.skip(reason)


def require_file(path: Path, what: str) -> Path:
    """``path`` when it exists; else skip (fail under CI) naming what is missing."""
    if not path.exists():
        unavailable(f"{what} not found at {path}")
    return path


def wait_until(condition: Callable[[], object], what: str, poll: float = 0.01) -> None:
    """Return once ``condition()`` is true; fail after GENEROUS_SECONDS (``what`` never came)."""
    deadline = time.monotonic() + GENEROUS_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"waited {GENEROUS_SECONDS} s: {what}"
        time.sleep(poll)


def child_env() -> dict[str, str]:
    """The environment of a child ``python``: this checkout first on its path, no Fil settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIL_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def shell_env(**extra: str) -> dict[str, str]:
    """:func:`child_env` with this interpreter's folder first on PATH, so ``python``,
    ``fil`` and ``fil-serve`` in a shell line are this environment's."""
    env = child_env()
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONWARNINGS"] = "ignore::SyntaxWarning,ignore::DeprecationWarning"
    env.update(extra)
    return env


def shell(command: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run one command line with bash, as a person would type it (see :func:`shell_env`)."""
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=shell_env(**env),
                          capture_output=True, text=True, timeout=GENEROUS_SECONDS,
                          check=False)


_STUCK_REBUILD = """
import sys, threading
from pathlib import Path
from indexer.ingest.model import Thread
from indexer.store.whoosh.writer import rebuild

index_dir, ready, word, n = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])

def threads():
    for i in range(n):
        yield Thread(id=f"{word}-{i}", title=word, paragraphs=(f"{word} numero {i}.",))
    ready.write_text("ok")
    threading.Event().wait()  # halfway through the rebuild, holding its lock, until killed
    yield Thread(id="never", title="never", paragraphs=("jamais",))

rebuild(Path(index_dir), threads())
"""


@contextlib.contextmanager
def stuck_rebuild(index_dir: Path, word: str,
                  threads: int = 50) -> Iterator[subprocess.Popen[bytes]]:
    """A child process halfway through a rebuild of ``index_dir``: it holds the rebuild lock
    and has written part of a ``seg-*.tmp`` segment (``threads`` threads saying ``word``),
    and waits there until killed (on exit at the latest)."""
    ready = index_dir.parent / f"stuck-{word}.ready"
    ready.unlink(missing_ok=True)
    child = subprocess.Popen(
        [sys.executable, "-c", _STUCK_REBUILD, str(index_dir), str(ready), word, str(threads)],
        env={**child_env(), "PYTHONWARNINGS": "ignore"}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    try:
        wait_until(lambda: ready.exists() or child.poll() is not None,
                   "the child rebuild never got halfway")
        assert child.poll() is None, child.communicate()[1].decode(errors="replace")
        yield child
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
        child.communicate(timeout=GENEROUS_SECONDS)



def embedded(index_dir: str | os.PathLike[str]) -> Service:
    """A search service over an embedded index directory."""
    return Service(EmbeddedStore(index_dir))


def postgres(url: str, shards: Sequence[str] = ()) -> Service:
    """A search service over a PostgreSQL database (and its shards)."""
    from indexer.store.postgres.store import PostgresStore

    return Service(PostgresStore(url, shards=shards))


def build_index(threads: Iterable[Thread], index_dir: str | os.PathLike[str],
                progress: Callable[[int], None] | None = None) -> BuildReport:
    """Rebuild an embedded index from threads (the writer's rebuild, argument order of old)."""
    return writer.rebuild(Path(index_dir), threads, progress)


def segment_dirs(index_dir: str | os.PathLike[str]) -> list[Path]:
    """The folders of the current manifest's segments."""
    _, manifest = read_current(Path(index_dir))
    return [Path(index_dir) / s.name for s in manifest.segments]


def whoosh_index(index_dir: str | os.PathLike[str]) -> Index:
    """The Whoosh index of an embedded index's only segment (for checks through Whoosh)."""
    [folder] = segment_dirs(index_dir)
    return FileStorage(str(folder)).open_index(PASSAGES)


def current_manifest(index_dir: str | os.PathLike[str]) -> str | None:
    """The manifest CURRENT names, or None when there is no index."""
    from indexer.store.whoosh.manifest import current_name

    return current_name(Path(index_dir))
def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- counting what a search asks of its store -------------------------------------------


class CountingStore:
    """A real store that counts the questions each snapshot is asked (and their sizes).

    Wraps the store the app or the service would use, answers with it, and records in
    ``calls`` how many times each question was asked, and in ``largest`` the biggest
    ``k``/``limit`` passed, so tests can bound a search's work without a clock.
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self.name = store.name
        self.calls: Counter[str] = Counter()
        self.largest: Counter[str] = Counter()

    def reset(self) -> None:
        """Forget what was counted so far."""
        self.calls.clear()
        self.largest.clear()

    @contextlib.contextmanager
    def snapshot(self, deadline: Any) -> Iterator[Any]:
        self.calls["snapshot"] += 1
        with self.store.snapshot(deadline) as snap:
            yield _CountingSnapshot(snap, self)

    def thread(self, thread_id: str) -> Any:
        self.calls["thread"] += 1
        return self.store.thread(thread_id)

    def rebuild(self, threads: Any, progress: Any = None) -> Any:
        return self.store.rebuild(threads, progress=progress)

    def stats(self) -> Any:
        return self.store.stats()

    def close(self) -> None:
        self.store.close()


class _CountingSnapshot:
    """A snapshot whose answers come from the real one, each question counted."""

    SIZES = {"match": 3, "expand_prefix": 1, "facets": 3, "sample_texts": 1}  # arg index

    def __init__(self, snap: Any, owner: CountingStore) -> None:
        self._snap = snap
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._snap, name)
        owner = self._owner

        def counted(*args: Any, **kwargs: Any) -> Any:
            owner.calls[name] += 1
            at = self.SIZES.get(name)
            if at is not None and len(args) > at:
                owner.largest[name] = max(owner.largest[name], int(args[at]))
            return method(*args, **kwargs)

        return counted


# -- a real HTTP server ------------------------------------------------------------------


class Server:
    """A WSGI app under waitress on 127.0.0.1 (a free port), in a background thread."""

    def __init__(self, app: Any, threads: int = 4) -> None:
        import waitress

        # poll(): a test session holds many memory-mapped segments, so descriptors past
        # 1024, which select() can't watch (the real server uses poll() too)
        self.server = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads,
                                             asyncore_use_poll=True)
        self.port = self.server.effective_port
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.run, name="waitress", daemon=True)
        self.thread.start()

    def url(self, q: str, **params: object) -> str:
        query = urllib.parse.urlencode({"q": q, **params})
        return f"{self.base_url}/api/search?{query}"

    def get(self, q: str, **params: object) -> tuple[int, dict[str, Any]]:
        """GET /api/search: (status, JSON body); raises on transport or JSON errors."""
        try:
            with urllib.request.urlopen(self.url(q, **params), timeout=GENEROUS_SECONDS) as resp:
                return resp.status, json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, {"raw": exc.read()[:300].decode("utf-8", "replace")}

    def stop(self) -> None:
        """Close every channel from inside the loop thread (so its loop ends), then join."""
        server = self.server

        def close_all() -> None:
            for channel in list(server._map.values()):
                if channel is not server and channel is not server.trigger:
                    channel.close()
            server.close()

        server.trigger.pull_trigger(close_all)
        self.thread.join(timeout=GENEROUS_SECONDS)
        assert not self.thread.is_alive(), "waitress did not stop"
        server.task_dispatcher.shutdown()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
