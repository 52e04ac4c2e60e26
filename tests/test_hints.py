"""Every hint the command line and the server print is a command that works as printed.

Each test makes the situation a hint is printed in, takes the hint from the real
program's output, runs it with bash exactly as printed (``python`` is this
environment's), and checks it succeeded and fixed what it was printed for. Paths with
spaces check the shell quoting. Also here: the server announces its address only once
bound (so the URL it prints answers), a busy port, ``--version``, and a damaged index
left untouched by a starting server.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import (
    GENEROUS_SECONDS,
    SEED_DIR,
    SEED_ID,
    segment_dirs,
    shell,
    shell_env,
    wait_until,
)

from indexer import about
from indexer.cli import EXIT_DAMAGED
from indexer.store.whoosh.manifest import CURRENT


def seed_cwd(base: Path) -> Path:
    """A working folder holding ``index_data/threads/`` (the seed), like a fresh checkout."""
    shutil.copytree(SEED_DIR, base / "index_data" / "threads")
    return base


def hint_after(text: str, marker: str) -> str:
    """The command printed after ``marker`` (up to the end of its line, or ``, then``)."""
    m = re.search(re.escape(marker) + r" (.+?)(?:, then start the server again\.)?$", text,
                  re.M)
    assert m, text
    return m[1]


def damage(index: Path) -> Path:
    """Truncate one array of the index's segment; return the damaged file."""
    [seg] = segment_dirs(index)
    target = seg / "col.impact.npy"
    target.write_bytes(target.read_bytes()[:100])
    return target


def search_ok(cwd: Path, *options: str) -> None:
    done = shell(" ".join(["python -m indexer search Sarkozy --json", *options]), cwd)
    assert done.returncode == 0, done.stderr
    assert SEED_ID in done.stdout


# -- the command line -------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["search debit", "stats", "delete x", "optimize"])
def test_no_index_hint_names_the_users_index(tmp_path: Path, command: str) -> None:
    cwd = seed_cwd(tmp_path)
    failed = shell(f"python -m indexer {command} --index 'mon index'", cwd)
    assert failed.returncode == 1 and failed.stdout == ""
    [line] = failed.stderr.splitlines()
    hint = hint_after(line, "build it with:")
    assert hint == "python -m indexer rebuild --index 'mon index' --source index_data/threads"
    fixed = shell(hint, cwd)
    assert fixed.returncode == 0, fixed.stderr
    assert (cwd / "mon index" / CURRENT).exists()
    search_ok(cwd, "--index 'mon index'")


def test_no_index_hint_repeats_sources_from_the_environment(tmp_path: Path) -> None:
    cwd = tmp_path
    shutil.copytree(SEED_DIR, cwd / "mes fils")
    env = {"FIL_SOURCES": "mes fils", "FIL_INDEX_DIR": "ailleurs/idx"}
    failed = shell("python -m indexer stats", cwd, **env)
    hint = hint_after(failed.stderr, "build it with:")
    assert hint == "python -m indexer rebuild --index ailleurs/idx --source 'mes fils'"
    assert shell(hint, cwd).returncode == 0  # works even without the environment
    assert shell("python -m indexer stats", cwd, **env).returncode == 0


@pytest.mark.parametrize("command", ["search debit", "stats"])
def test_damaged_index_hint_rebuilds_it(tmp_path: Path, command: str) -> None:
    cwd = seed_cwd(tmp_path)
    assert shell("python -m indexer rebuild --index idx", cwd).returncode == 0
    damaged = damage(cwd / "idx")
    failed = shell(f"python -m indexer {command} --index idx", cwd)
    assert failed.returncode == EXIT_DAMAGED == 5
    assert "Traceback" not in failed.stderr
    [line] = failed.stderr.splitlines()
    if command == "stats":
        assert failed.stdout.splitlines()[1].startswith(
            f"damaged:  segment idx/{damaged.parent.name} cannot be read (")
    else:
        assert failed.stdout == ""
        assert line.startswith(f"Error: the index at idx is damaged: segment idx/"
                               f"{damaged.parent.name} cannot be read (")
    hint = hint_after(line, "rebuild it with:")
    assert hint == "python -m indexer rebuild --index idx --source index_data/threads"
    fixed = shell(hint, cwd)
    assert fixed.returncode == 0, fixed.stderr
    search_ok(cwd, "--index idx")


def test_postgres_extra_missing_is_one_line_naming_it(tmp_path: Path) -> None:
    """Without psycopg (the ``postgres`` extra), one line says what to install."""
    hide = ("import sys, runpy; sys.modules['psycopg'] = None; sys.argv = ['fil'] + sys.argv[1:];"
            " runpy.run_module('indexer', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", hide, "stats", "--backend", "postgres",
                           "--database-url", "postgresql://fil@127.0.0.1:1/fil"], cwd=tmp_path,
                          env=shell_env(), capture_output=True, text=True,
                          timeout=GENEROUS_SECONDS, check=False)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "Error: the postgres backend is not available (import of psycopg halted; None in "
        "sys.modules): install it with `pip install 'fil-search[postgres]'`"]
    from test_packaging import assert_install_hint_resolves

    assert_install_hint_resolves("pip install 'fil-search[postgres]'")


@pytest.mark.postgres
def test_postgres_update_unsupported_or_done(tmp_path: Path, pg_server) -> None:
    """``fil update`` on PostgreSQL: done if the store does it, else one line whose rebuild
    hint (with the user's --database-url) works as printed."""
    from indexer.store.postgres.store import PostgresStore

    cwd = seed_cwd(tmp_path)
    url = pg_server.new_database("fil_hint")
    assert shell(f"python -m indexer rebuild --backend postgres --database-url '{url}'",
                 cwd).returncode == 0
    done = shell(f"python -m indexer update --backend postgres --database-url '{url}'", cwd)
    if hasattr(PostgresStore, "update"):
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("Updated: 0 added, 0 replaced, 1 unchanged")
        return
    assert done.returncode == 1 and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("Error: the postgres backend does not support incremental updates "
                           "yet; rebuild instead: ")
    hint = hint_after(line, "rebuild instead:")
    assert hint == (f"python -m indexer rebuild --backend postgres --database-url '{url}' "
                    "--source index_data/threads")
    assert shell(hint, cwd).returncode == 0
    search_ok(cwd, f"--backend postgres --database-url '{url}'")


# -- the server -------------------------------------------------------------------------------


class ServerProcess:
    """``python -m search_app ...`` as a child process; its stderr collected line by line."""

    def __init__(self, args: str, cwd: Path, **env: str) -> None:
        self.proc = subprocess.Popen(["bash", "-c", f"exec python -m search_app {args}"],
                                     cwd=cwd, env=shell_env(**env), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def url(self) -> str:
        """The URL the server says it serves on (waits until it says so, or exits)."""
        wait_until(lambda: "Serving Fil on" in self.text or self.proc.poll() is not None,
                   "the server never said where it serves")
        m = re.search(r"Serving Fil on (http://\S+/)", self.text)
        assert m, self.ended()
        return m[1]

    def ended(self) -> str:
        """Wait for the process to end; its stderr."""
        self.proc.wait(timeout=GENEROUS_SECONDS)
        self.reader.join(timeout=GENEROUS_SECONDS)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return self.text

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.ended()


@pytest.fixture
def serve() -> Iterator[type[ServerProcess]]:
    started: list[ServerProcess] = []

    class Tracked(ServerProcess):
        def __init__(self, *a: object, **k: str) -> None:
            super().__init__(*a, **k)  # type: ignore[arg-type]
            started.append(self)

    yield Tracked
    for s in started:
        s.stop()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=GENEROUS_SECONDS) as resp:
            return resp.status, resp.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode("utf-8")


def test_server_says_where_only_once_bound_and_that_url_answers(tmp_path: Path, serve) -> None:
    cwd = seed_cwd(tmp_path)
    server = serve("--port 0 --threads 2", cwd)
    url = server.url()  # port 0: the address it bound, known only after binding
    assert re.match(r"^http://127\.0\.0\.1:\d+/$", url) and not url.endswith(":0/")
    status, page = get(url + "?q=tres+haut+debit")
    assert status == 200 and "1\u00a0fil, 5\u00a0passages" in page
    lines = server.lines
    assert lines[0] == "No index yet: building it from index_data/threads..."
    assert lines[1].startswith("Index built: 1 thread, 29 passages in ")
    assert lines[2] == f"Serving Fil on {url} (Ctrl+C to stop)"


def test_busy_port_is_one_line_and_status_1(tmp_path: Path, serve) -> None:
    cwd = seed_cwd(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = serve(f"--port {port}", cwd)
        text = server.ended()
    assert server.proc.returncode == 1
    assert "Serving Fil" not in text and "Traceback" not in text
    assert text.splitlines()[-1] == (f"Error: cannot listen on 127.0.0.1:{port}: Address "
                                     "already in use")


def test_server_build_failure_hint_works_once_the_cause_is_fixed(tmp_path: Path,
                                                                 serve) -> None:
    server = serve("--port 0 --index 'mon index' --source 'mes fils'", tmp_path)
    text = server.ended()
    assert server.proc.returncode == 1 and "Traceback" not in text
    assert text.splitlines() == [
        "No index yet: building it from mes fils...",
        "Cannot build the index: source not found: mes fils.",
        "Build the index with: python -m indexer rebuild --index 'mon index' --source "
        "'mes fils', then start the server again."]
    hint = hint_after(text, "Build the index with:")
    shutil.copytree(SEED_DIR, tmp_path / "mes fils")  # what the line before said was missing
    assert shell(hint, tmp_path).returncode == 0
    again = serve("--port 0 --index 'mon index' --source 'mes fils'", tmp_path)
    assert get(again.url() + f"thread/{SEED_ID}")[0] == 200
    assert "No index yet" not in again.text


def test_server_leaves_a_damaged_index_alone_and_its_hint_repairs_it(tmp_path: Path,
                                                                     serve) -> None:
    cwd = seed_cwd(tmp_path)
    assert shell("python -m indexer rebuild", cwd).returncode == 0
    index = cwd / "index_data" / "index"
    damaged = damage(index)
    before = {p.relative_to(index): p.read_bytes() for p in index.rglob("*") if p.is_file()}
    server = serve("--port 0", cwd)
    url = server.url()
    warning = next(ln for ln in server.lines if ln.startswith("warning:"))
    assert "cannot be read" in warning and damaged.parent.name in warning
    status, page = get(url + "?q=debit")
    assert status == 503 and "Index endommagé" in page and "Traceback" not in page
    wait_until(lambda: "index damaged: segment" in server.text, "no log line named the cause")
    after = {p.relative_to(index): p.read_bytes() for p in index.rglob("*") if p.is_file()}
    assert after == before  # the server built nothing over it
    hint = hint_after(warning, "until it is rebuilt with:")
    assert hint == "python -m indexer rebuild --index index_data/index --source index_data/threads"
    assert shell(hint, cwd).returncode == 0
    assert get(url + "?q=debit")[0] == 200  # the running server picks up the new index


def test_missing_index_page_command_works_in_the_servers_folder(tmp_path: Path,
                                                                serve) -> None:
    """The 503 page's command (no path shown on the page) rebuilds the default index."""
    cwd = seed_cwd(tmp_path)
    shutil.move(cwd / "index_data" / "threads", cwd / "ailleurs")
    server = serve("--port 0 --source ailleurs/nothing-here", cwd)
    assert server.ended() and server.proc.returncode == 1  # no index, nothing to build from
    shutil.move(cwd / "ailleurs", cwd / "index_data" / "threads")
    from search_app.errors import INDEX_MISSING_MESSAGE

    command = re.search(r"«\s(python -m indexer rebuild)\s»", INDEX_MISSING_MESSAGE)
    assert command is not None
    assert shell(command[1], cwd).returncode == 0
    url = serve("--port 0", cwd).url()
    assert get(url + "?q=debit")[0] == 200


def test_versions(tmp_path: Path) -> None:
    for command, program in (("python -m indexer --version", "fil"),
                             ("python -m search_app --version", "fil-serve")):
        done = shell(command, tmp_path)
        assert done.returncode == 0 and done.stderr == ""
        lines = done.stdout.splitlines()
        assert lines == about.version_lines(program)
        assert lines[0].startswith(f"{program} {about.version()} (Python ")
        assert lines[1] == f"stemmer: {about.stemmer()}"
        assert lines[2] == "index format: fil3 (embedded store)"
    assert about.stemmer().startswith("PyStemmer ")  # the core dependency is the C extension
