"""What this installation of Fil is: its version, the stemmer it runs, the index format.

``fil --version`` and ``fil-serve --version`` print :func:`version_lines`.
"""

from __future__ import annotations

import platform

DISTRIBUTION = "fil-search"


def version() -> str:
    """The installed distribution's version ("unknown" when run from a bare checkout)."""
    from importlib import metadata  # imported when asked: the command line starts faster

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def stemmer() -> str:
    """Which Snowball implementation the French analysis runs, as snowballstemmer chose it.

    snowballstemmer hands out PyStemmer's C extension when it can import ``Stemmer``, and
    its own pure-Python stemmers otherwise: the object it returns says which.
    """
    import snowballstemmer

    impl = type(snowballstemmer.stemmer("french"))
    if impl.__module__.split(".")[0] == "Stemmer":
        return f"PyStemmer {_dist_version('PyStemmer')} (C extension)"
    return (f"snowballstemmer {_dist_version('snowballstemmer')} (pure Python: "
            "`pip install PyStemmer` makes analysis faster)")


def _dist_version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "(version unknown)"


def index_format() -> str:
    """The embedded index format this version reads and writes."""
    from .store.whoosh.manifest import FORMAT

    return FORMAT


def version_lines(program: str) -> list[str]:
    """What ``--version`` prints: version, Python, stemmer and index format."""
    return [f"{program} {version()} (Python {platform.python_version()})",
            f"stemmer: {stemmer()}",
            f"index format: {index_format()} (embedded store)"]
