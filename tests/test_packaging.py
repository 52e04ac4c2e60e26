"""What an install brings: the fast stemmer by default (and the same terms without it), a
clean build with SPDX license metadata, extras and entry points the README names.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from helpers import FIXTURES, GENEROUS_SECONDS, ROOT, SEED_FILE, child_env, shell, unavailable

from indexer import about
from indexer.analysis import analyzer

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
README = (ROOT / "README.md").read_text(encoding="utf-8")

#: Analyse texts with PyStemmer hidden: snowballstemmer falls back to its pure-Python code.
PURE_PYTHON = """
import json, sys
sys.modules["Stemmer"] = None  # `import Stemmer` now fails, as without PyStemmer installed
from indexer import about
from indexer.analysis import analyzer
texts = json.load(sys.stdin)
print(json.dumps({"stemmer": about.stemmer(),
                  "terms": [[t.text for t in analyzer()(x)] for x in texts]}))
"""


def real_texts() -> list[str]:
    """The seed thread's lines, and every word form of the inflection table."""
    texts = [ln for ln in SEED_FILE.read_text(encoding="utf-8").splitlines() if ln.strip()]
    for ln in (FIXTURES / "inflections_fr.tsv").read_text(encoding="utf-8").splitlines():
        if ln and not ln.startswith("#"):
            texts.append(" ".join(ln.split("\t")))
    return texts


def test_pure_python_stemmer_gives_the_same_terms() -> None:
    texts = real_texts()
    assert about.stemmer().startswith("PyStemmer ")  # this process: the C extension
    done = subprocess.run([sys.executable, "-c", PURE_PYTHON], input=json.dumps(texts),
                          env=child_env(), capture_output=True, text=True,
                          timeout=GENEROUS_SECONDS, check=True)
    fallback = json.loads(done.stdout)
    assert fallback["stemmer"].startswith("snowballstemmer ")
    assert "pure Python" in fallback["stemmer"]
    here = [[t.text for t in analyzer()(x)] for x in texts]
    assert sum(map(len, here)) > 1000  # a real amount of text
    assert fallback["terms"] == here
    hint = re.search(r"`(pip install [^`]+)`", fallback["stemmer"])
    assert hint is not None and hint[1] == "pip install PyStemmer"
    assert_install_hint_resolves(hint[1])


def assert_install_hint_resolves(hint: str) -> None:
    """Run an install hint as printed, plus ``--dry-run --no-index`` so the test environment
    is not changed: pip must resolve it from what is installed."""
    done = shell(f"{hint} --dry-run --no-index", ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_project_metadata() -> None:
    project = PROJECT["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert PROJECT["build-system"]["requires"] == ["setuptools>=77"]
    deps = {re.split(r"[<>=\[ ]", d)[0].lower() for d in project["dependencies"]}
    assert {"pystemmer", "snowballstemmer", "flask", "waitress", "click"} <= deps
    assert "psycopg" not in deps  # PostgreSQL support is the `postgres` extra
    assert set(project["optional-dependencies"]) == {"postgres", "test", "bench"}
    assert project["scripts"] == {"fil": "indexer.cli:main",
                                  "fil-serve": "search_app.__main__:main"}


def test_readme_names_the_extras_and_entry_points() -> None:
    for extra in PROJECT["project"]["optional-dependencies"]:
        assert f"`{extra}`" in README, extra
    assert "pip install 'fil-search[postgres]'" in README
    assert "fil-serve" in README and "`fil`" in README


@pytest.mark.slow
def test_wheel_builds_without_warnings(tmp_path: Path) -> None:
    """``pip wheel`` of the tracked files: no setuptools warning, data files and license in."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    src = tmp_path / "src"
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w",
                           str(tmp_path / "dist"), str(src)], capture_output=True, text=True,
                          timeout=10 * GENEROUS_SECONDS, check=False)
    if done.returncode != 0 and ("Could not find a version" in done.stderr
                                 or "NewConnectionError" in done.stderr):
        unavailable(f"pip can't reach a package index for the build backend: "
                    f"{done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert not re.search(r"(?i)setuptools\w*warning|BuildBackendWarning|deprecat", output), output
    [wheel] = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read("fil_search-0.1.0.dist-info/METADATA").decode()
    assert {"indexer/analysis/data/stopwords_fr.txt", "search_app/templates/search.html",
            "search_app/static/style.css", "fil_search-0.1.0.dist-info/licenses/LICENSE"} <= names
    assert "License-Expression: MIT" in metadata
    assert "Requires-Dist: PyStemmer>=2.2" in metadata
