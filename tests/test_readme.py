"""The README's shell examples work as printed: every ```sh block runs and succeeds.

The blocks run in order, as a reader would type them, in a copy of the checkout's
tracked files (so the index, the virtual environment and the exports they create stay in
a temporary folder): each block is one bash script (``set -e``), after activating
``.venv`` when an earlier block created it. What is adapted, and why:

* a line that starts the server (``python -m search_app``, ``fil-serve``) runs in the
  background; the script goes on once the server has said ``Serving Fil on URL`` and that
  URL has answered 200, and the server is stopped when the block ends;
* the README's port 8000 becomes a free port (``FIL_PORT`` too), since another server may
  hold 8000 on this machine;
* ``python -m pytest`` (the suite itself) only collects (``PYTEST_ADDOPTS``), else this
  test would run itself;
* ``pip`` sees this environment's packages (``PYTHONPATH``), so ``pip install -e .``
  installs Fil without downloading its dependencies again; the build backend comes from
  the package index as usual;
* the PostgreSQL block gets ``FIL_DATABASE_URL`` (a fresh database), as the README asks.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from helpers import GENEROUS_SECONDS, ROOT, free_port, shell_env, unavailable

README = ROOT / "README.md"
BLOCK_RE = re.compile(r"^```sh\n(.*?)^```$", re.M | re.S)
SERVER_RE = re.compile(r"(^|[\s;&])(python3? -m search_app|fil-serve)(\s|$)")

WAITER = """
import os, re, sys, time, urllib.request
log, pid, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + limit
while time.monotonic() < deadline:
    text = open(log, encoding="utf-8", errors="replace").read() if os.path.exists(log) else ""
    m = re.search(r"Serving Fil on (http://\\S+/)", text)
    if m:
        with urllib.request.urlopen(m[1], timeout=limit) as resp:
            print(f"server answered {resp.status} at {m[1]}")
            sys.exit(0 if resp.status == 200 else 1)
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(f"the server exited before serving:\\n{text}")
    time.sleep(0.1)
sys.exit(f"the server never said where it serves:\\n{text}")
"""


def sh_blocks() -> list[str]:
    return BLOCK_RE.findall(README.read_text(encoding="utf-8"))


def needs_postgres(block: str) -> bool:
    return "postgres" in block


def copy_checkout(dest: Path) -> Path:
    """The tracked files as they are in the working tree (uncommitted edits included)."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, names):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def script(block: str, port: int, waiter: Path) -> str:
    """The block as a bash script (see the module docstring for what changes)."""
    out = ["set -eo pipefail",
           "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",
           "if [ -f .venv/bin/activate ]; then . .venv/bin/activate; fi"]
    lines = block.replace("\\\n", " ").splitlines()
    for n, line in enumerate(lines):
        line = line.replace("8000", str(port))
        if SERVER_RE.search(line) and "--version" not in line and "--help" not in line:
            line = line.rstrip().removesuffix("&").rstrip()
            log = f".readme-server-{n}.log"
            out.append(f"{line} 2> {log} &")
            out.append(f"{sys.executable} {waiter} {log} $! {GENEROUS_SECONDS}")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def run_block(block: str, cwd: Path, tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    waiter = tmp / "wait_for_server.py"
    waiter.write_text(WAITER, encoding="utf-8")
    port = free_port()
    full = shell_env(
        FIL_PORT=str(port),
        PYTHONPATH=os.pathsep.join(dict.fromkeys([sysconfig.get_paths()["purelib"],
                                                  sysconfig.get_paths()["platlib"]])),
        PYTEST_ADDOPTS="--collect-only -q -p no:cacheprovider",
        PIP_DISABLE_PIP_VERSION_CHECK="1", **env)
    return subprocess.run(["bash", "-c", script(block, port, waiter)], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=10 * GENEROUS_SECONDS,
                          check=False)


def test_readme_has_the_expected_blocks() -> None:
    blocks = sh_blocks()
    assert len(blocks) >= 6
    assert sum(needs_postgres(b) for b in blocks) == 1
    assert any("pip install -e ." in b for b in blocks)
    assert any("curl" in b and "/api/threads" in b for b in blocks)
    assert not any("author:billaut" in b for b in blocks)  # finds nothing on the seed


@pytest.mark.slow
def test_readme_sh_blocks_run_in_order(tmp_path: Path) -> None:
    cwd = copy_checkout(tmp_path / "fil")
    for n, block in enumerate(b for b in sh_blocks() if not needs_postgres(b)):
        done = run_block(block, cwd, tmp_path)
        if done.returncode != 0 and "pip install" in block and re.search(
                r"Could not find a version that satisfies|NewConnectionError|"
                r"Temporary failure in name resolution", done.stdout + done.stderr):
            unavailable("pip can't reach a package index for the build backend (setuptools)")
        assert done.returncode == 0, (f"block {n}:\n{block}\n--- stdout:\n{done.stdout[-3000:]}"
                                      f"\n--- stderr:\n{done.stderr[-3000:]}")
        assert "Traceback" not in done.stderr, done.stderr
        if "pip install" in block:  # setuptools has nothing to warn about
            assert not re.search(r"(?i)setuptools\w*warning|BuildBackendWarning|deprecat",
                                 done.stdout + done.stderr), done.stdout + done.stderr
        if "search fibre" in block:
            assert "La fibre à Lippi" in done.stdout
        if "curl" in block:
            assert '"added":1' in done.stdout.replace(" ", "")
            assert '"deleted":1' in done.stdout.replace(" ", "")
        if "author:philrig" in block:
            assert re.search(r"^1 result \(", done.stdout, re.M)  # the example finds its hit
    assert (cwd / ".venv" / "bin" / "fil").exists()
    assert (cwd / ".venv" / "bin" / "fil-serve").exists()


@pytest.mark.postgres
@pytest.mark.slow
def test_readme_postgres_block_runs(tmp_path: Path, pg_server) -> None:
    cwd = copy_checkout(tmp_path / "fil")
    [block] = [b for b in sh_blocks() if needs_postgres(b)]
    done = run_block(block, cwd, tmp_path, FIL_DATABASE_URL=pg_server.new_database("readme"))
    assert done.returncode == 0, f"{block}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "Indexed 1 thread, 29 passages" in done.stdout
    assert "server answered 200" in done.stdout
