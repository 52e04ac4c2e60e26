"""A private, throwaway PostgreSQL server for tests, benchmarks and local trials.

:class:`TempCluster` runs ``initdb`` in a temporary directory, starts ``postgres`` on a
free loopback port with trust authentication (reachable only from 127.0.0.1 and its own
socket directory) and removes everything when stopped. Run as root, the cluster belongs
to the ``postgres`` OS user (``initdb`` refuses to run as root)::

    with TempCluster() as pg:
        backend = postgres(pg.url("fil"))  # pg.create_database("fil") first

Command line (prints the URL, then serves until interrupted)::

    python -m pg_cluster
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

#: Settings for a disposable cluster: durability off (the data is rebuilt at will).
FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    "shared_buffers": "128MB",
    "max_wal_size": "1GB",
}


class ClusterError(RuntimeError):
    """The PostgreSQL binaries are missing or the server would not start."""


def find_bindir() -> Path | None:
    """Directory holding ``initdb``/``pg_ctl`` (``$PG_BINDIR``, Debian's layout, or PATH)."""
    env = os.environ.get("PG_BINDIR")
    candidates = [Path(env)] if env else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                                           key=lambda p: int(Path(p).parent.name)
                                           if Path(p).parent.name.isdigit() else 0,
                                           reverse=True)]
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).resolve().parent)
    for c in candidates:
        if (c / "initdb").is_file() and (c / "pg_ctl").is_file():
            return c
    return None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TempCluster:
    """A PostgreSQL cluster in a temporary directory on 127.0.0.1:<free port>."""

    def __init__(self, bindir: str | os.PathLike[str] | None = None,
                 port: int | None = None, user: str = "postgres") -> None:
        found = Path(bindir) if bindir else find_bindir()
        if found is None:
            raise ClusterError("PostgreSQL server binaries (initdb, pg_ctl) not found; "
                               "install postgresql or set PG_BINDIR")
        self.bindir = found
        self.port = port or free_port()
        self.user = user  # database superuser name
        self.dir: Path | None = None
        self._run_as: str | None = None

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> TempCluster:
        """initdb + pg_ctl start (waits until the server accepts connections)."""
        base = Path(tempfile.mkdtemp(prefix="fil-pg-"))
        self.dir = base
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise ClusterError("running as root needs a 'postgres' OS user for "
                                   "initdb") from None
            os.chown(base, owner.pw_uid, owner.pw_gid)
            os.chmod(base, 0o700)
            self._run_as = "postgres"
        data = base / "data"
        self._run(["initdb", "-D", str(data), "-U", self.user, "-A", "trust",
                   "-E", "UTF8", "--locale=C", "--no-sync"])
        try:
            self.start_server()
        except ClusterError:
            self.stop()
            raise
        return self

    def start_server(self) -> None:
        """Start the server of an initialised cluster (again, after :meth:`stop_server`)."""
        assert self.dir is not None, "start() first"
        opts = " ".join([f"-p {self.port}", "-c listen_addresses=127.0.0.1",
                         f"-c unix_socket_directories={self.dir}"]
                        + [f"-c {k}={v}" for k, v in FAST_SETTINGS.items()])
        log = self.dir / "server.log"
        try:
            self._run(["pg_ctl", "-D", str(self.dir / "data"), "-l", str(log), "-o", opts,
                       "-w", "-t", "60", "start"])
        except ClusterError as exc:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ClusterError(f"{exc}\n{tail}") from None

    def stop_server(self, mode: str = "immediate") -> None:
        """Stop the server but keep the cluster (``immediate``: as a crash would)."""
        assert self.dir is not None, "start() first"
        self._run(["pg_ctl", "-D", str(self.dir / "data"), "-m", mode, "-w", "stop"])

    # -- faults ----------------------------------------------------------------------
    def pids(self) -> list[int]:
        """The postmaster's process id, then its children's (backends, workers)."""
        assert self.dir is not None, "start() first"
        postmaster = int((self.dir / "data" / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                # "pid (comm) state ppid ...": comm may hold spaces, so split after ")"
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                    children.append(int(stat.parent.name))
        return [postmaster, *sorted(children)]

    def freeze(self) -> None:
        """SIGSTOP the server and its backends: it answers nothing, as a frozen VM or a
        network partition would, while its port still accepts TCP connections."""
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT what :meth:`freeze` stopped."""
        self._signal(signal.SIGCONT)

    def _signal(self, sig: signal.Signals) -> None:
        postmaster = self.pids()[0]
        os.kill(postmaster, sig)  # first: a stopped postmaster forks no new backend
        for pid in self.pids()[1:]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory."""
        if self.dir is None:
            return
        data = self.dir / "data"
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(OSError, ValueError):
                self.thaw()  # a frozen server would not stop
            with contextlib.suppress(ClusterError):
                self._run(["pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self) -> TempCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- use -----------------------------------------------------------------------
    def url(self, dbname: str = "postgres") -> str:
        """Connection URL of a database on this cluster."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """Create a database (if missing) and return its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (name,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def _run(self, argv: list[str]) -> None:
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        if self._run_as:
            cmd = ["runuser", "-u", self._run_as, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
        if proc.returncode != 0:
            raise ClusterError(f"{argv[0]} failed ({proc.returncode}): "
                               f"{(proc.stderr or proc.stdout).strip()[-1500:]}")


def main() -> None:  # pragma: no cover - manual helper
    """Start a cluster, print its URL, and keep it until Ctrl-C."""
    with TempCluster() as pg:
        print(pg.url(), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":  # pragma: no cover
    main()
