"""What a rebuild shows and when it reads: progress on a real pseudo-terminal, nothing but the
summary elsewhere, and a locked index refused before any source is read.

The CLI runs as a real process. Its stderr is the slave side of ``pty.openpty()`` (so
``isatty()`` is true, as in a terminal) and this test reads the master side; reads of
the sources are observed with a Python audit hook installed in the child before Fil
is imported (``open`` and ``os.scandir`` events), not by timing anything.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

from helpers import GENEROUS_SECONDS, SEED_FILE, child_env, wait_until

from indexer.cli import EXIT_LOCKED
from indexer.errors import RebuildLockedError
from indexer.ingest.model import Thread
from indexer.store.whoosh import writer
from indexer.store.whoosh.manifest import writer_lock

ENV = {**child_env(), "PYTHONWARNINGS": "ignore"}


def sources(base: Path, files: int = 3, threads: int = 40) -> Path:
    """A folder of JSON Lines files (a few hundred passages)."""
    src = base / "src"
    src.mkdir()
    for f in range(files):
        with (src / f"fils-{f}.jsonl").open("w", encoding="utf-8") as fh:
            for t in range(threads):
                fh.write(json.dumps({"id": f"f{f}-t{t}", "title": f"Fil {f}-{t}", "post": {
                    "paragraphs": [f"Paragraphe {p} du fil {f}-{t} sur les abeilles."
                                   for p in range(3)]}}, ensure_ascii=False) + "\n")
    return src


def run_on_terminal(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run ``python -m indexer ARGS`` with stderr on a pseudo-terminal: (status, stdout, tty)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))  # 200 columns
    proc = subprocess.Popen([sys.executable, "-m", "indexer", *args], cwd=cwd, env=ENV,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []

    def drained() -> bool:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed its side
                return True
            if not data:
                return True
            chunks.append(data)
            return False
        return proc.poll() is not None and not select.select([master], [], [], 0)[0]

    try:
        wait_until(drained, "the rebuild on a terminal never ended", poll=0)
        out = proc.communicate(timeout=GENEROUS_SECONDS)[0].decode("utf-8")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, b"".join(chunks).decode("utf-8", "replace")


def frames(tty: str) -> list[str]:
    """The progress lines drawn (each redraw starts with a carriage return)."""
    return [f.replace("\x1b[K", "").strip() for f in tty.split("\r") if f.strip("\x1b[K \n")]


def test_progress_on_a_terminal_shows_reading_then_writing(tmp_path: Path) -> None:
    src = sources(tmp_path)
    status, out, tty = run_on_terminal(["rebuild", "--source", str(src), "--index", "idx"],
                                       tmp_path)
    assert status == 0, tty
    assert re.match(r"^Indexed 120 threads, 360 passages \(0 rejected, 0 skipped\) in [\d.]+ s, "
                    r"reading included \([\d,]+ passages/s\) -> idx\n$", out)
    drawn = frames(tty)
    reading = [f for f in drawn if f.startswith("Reading ")]
    writing = [f for f in drawn if f.startswith("Writing the index")]
    assert reading and writing, drawn
    assert drawn.index(reading[-1]) < drawn.index(writing[0])  # reading first
    assert re.match(r"^Reading 0/3 files  0\.0 MiB/0\.0 MiB  0%  0 passages read, 0 indexed",
                    reading[0])
    last = reading[-1]
    assert last.startswith("Reading 3/3 files") and "360 passages read" in last, reading
    assert "passages/s" in last
    assert re.search(r"360 of 360 passages indexed +\d+:\d\d in this phase", writing[-1])
    assert tty.endswith("\r\x1b[K")  # the line is cleared before the summary
    assert max(map(len, drawn)) <= 199  # cut to the terminal's width, never wrapped
    assert "Traceback" not in tty


def test_update_progress_names_its_phase(tmp_path: Path) -> None:
    src = sources(tmp_path, files=1, threads=5)
    assert run_on_terminal(["rebuild", "--source", str(src), "--index", "idx", "-q"],
                           tmp_path)[0] == 0
    status, out, tty = run_on_terminal(["update", "--source", str(SEED_FILE), "--index", "idx"],
                                       tmp_path)
    assert status == 0, tty
    assert out.startswith("Updated: 1 added, 0 replaced, 0 unchanged")
    drawn = frames(tty)
    assert any(f.startswith("Reading 1/1 file ") for f in drawn), drawn
    assert any(f.startswith("Updating the index") for f in drawn), drawn


def test_quiet_on_a_terminal_draws_nothing(tmp_path: Path) -> None:
    src = sources(tmp_path, files=1, threads=3)
    status, out, tty = run_on_terminal(["rebuild", "--source", str(src), "--index", "idx",
                                        "--quiet"], tmp_path)
    assert status == 0 and out.startswith("Indexed 3 threads, 9 passages")
    assert tty == ""


def test_not_a_terminal_prints_only_the_summary(tmp_path: Path) -> None:
    src = sources(tmp_path, files=2, threads=3)
    done = subprocess.run([sys.executable, "-m", "indexer", "rebuild", "--source", str(src),
                           "--index", "idx"], cwd=tmp_path, env=ENV, capture_output=True,
                          text=True, timeout=GENEROUS_SECONDS, check=False)
    assert done.returncode == 0
    assert done.stderr == ""
    assert done.stdout.count("\n") == 1 and done.stdout.startswith("Indexed 6 threads, ")


# -- the lock comes before the sources -------------------------------------------------------

WATCHED = """
import os, sys
watch, log = sys.argv[1], open(sys.argv[2], "a", encoding="utf-8")

def hook(event, args):
    if event in ("open", "os.scandir", "os.listdir") and args and args[0] is not None:
        try:
            path = os.fsdecode(args[0]) if not isinstance(args[0], int) else ""
        except TypeError:
            return
        if path.startswith(watch):
            log.write(f"{event} {path}\\n")
            log.flush()

sys.addaudithook(hook)
sys.argv = ["fil", *sys.argv[3:]]
from indexer.cli import main
main()
"""


def watched_rebuild(tmp_path: Path, src: Path, log: Path) -> subprocess.CompletedProcess[str]:
    """``fil rebuild`` in a child that logs every open/scandir of a path under ``src``."""
    return subprocess.run(
        [sys.executable, "-c", WATCHED, str(src), str(log), "rebuild", "--source", str(src),
         "--index", str(tmp_path / "idx")], cwd=tmp_path, env=ENV, capture_output=True,
        text=True, timeout=GENEROUS_SECONDS, check=False)


def test_a_locked_index_is_refused_before_any_source_is_read(tmp_path: Path) -> None:
    src = sources(tmp_path, files=2, threads=2)
    log = tmp_path / "reads.log"
    first = watched_rebuild(tmp_path, src, log)  # the watch sees reads when there are some
    assert first.returncode == 0, first.stderr
    seen = log.read_text(encoding="utf-8").splitlines()
    assert f"os.scandir {src}" in seen and f"open {src / 'fils-0.jsonl'}" in seen
    log.unlink()
    with writer_lock(tmp_path / "idx"):  # another change holds the index
        locked = watched_rebuild(tmp_path, src, log)
    assert locked.returncode == EXIT_LOCKED, locked.stderr
    assert locked.stdout == ""
    assert locked.stderr.splitlines() == [
        f"Error: another change to {tmp_path / 'idx'} is running; try again when it has "
        "finished"]
    assert not log.exists() or log.read_text(encoding="utf-8") == ""  # not even listed


def test_the_store_holds_its_lock_before_the_first_thread_is_read(tmp_path: Path) -> None:
    """The rebuild consumes the threads inside its lock: while it reads the first one, a
    second writer is refused (so no source is read for a rebuild that can't happen)."""
    index = tmp_path / "idx"
    index.mkdir()
    (index / ".write.lock").touch()  # so probe_lock really tries the lock
    refused: list[str] = []

    def threads():
        try:
            writer.probe_lock(index)
        except RebuildLockedError as exc:
            refused.append(str(exc))
        yield Thread(id="un", title="Un", paragraphs=("Un fil.",))

    writer.rebuild(index, threads())
    assert len(refused) == 1 and "another change to" in refused[0]
    writer.probe_lock(index)  # free again afterwards
