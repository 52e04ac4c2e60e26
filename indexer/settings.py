"""Every setting in one place: one name each, as an environment variable and as an option.

The CLI (``fil``), the server (``fil-serve`` / ``python -m search_app``) and the web app
read their settings through :class:`Settings`; the README's configuration table is
checked against :data:`SETTINGS` by a test.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

BACKENDS = ("whoosh", "postgres")
DEFAULT_INDEX_DIR = "index_data/index"
DEFAULT_SOURCE_DIR = "index_data/threads"


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: its field, environment variable, command-line option and meaning."""

    field: str
    env: str
    option: str
    help: str


#: The settings, with the one name each has in the environment and on the command line.
SETTINGS = (
    Setting("index_dir", "FIL_INDEX_DIR", "--index",
            f"index directory of the embedded store (default {DEFAULT_INDEX_DIR})"),
    Setting("sources", "FIL_SOURCES", "--source",
            f"thread files or folders, ':'-separated in the environment "
            f"(default {DEFAULT_SOURCE_DIR})"),
    Setting("backend", "FIL_BACKEND", "--backend", "store: whoosh (embedded) or postgres"),
    Setting("database_url", "FIL_DATABASE_URL", "--database-url",
            "PostgreSQL URL for --backend postgres"),
    Setting("shards", "FIL_PG_SHARDS", "--shard",
            "PostgreSQL shard URLs (space- or comma-separated in the environment)"),
    Setting("host", "FIL_HOST", "--host", "server: listening address (default 127.0.0.1)"),
    Setting("port", "FIL_PORT", "--port", "server: listening port (default 8000)"),
    Setting("threads", "FIL_THREADS", "--threads", "server: worker threads (default 4)"),
    Setting("write_token", "FIL_WRITE_TOKEN", "",
            "server: enables the write API for requests bearing this token"),
)


@dataclass(frozen=True, slots=True)
class Settings:
    """The resolved settings (defaults, then environment, then explicit values)."""

    index_dir: Path = Path(DEFAULT_INDEX_DIR)
    sources: tuple[str, ...] = (DEFAULT_SOURCE_DIR,)
    backend: str = "whoosh"
    database_url: str | None = None
    shards: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 8000
    threads: int = 4
    write_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Defaults overridden by the environment variables that are set (and not empty)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for s in SETTINGS:
            raw = env.get(s.env, "").strip()
            if raw:
                values[s.field] = raw
        return cls().override(**values)

    def override(self, **values: Any) -> Settings:
        """These settings with some values replaced (None leaves a value as it is)."""
        changes: dict[str, Any] = {}
        known = {f.name for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise TypeError(f"unknown setting {name!r}")
            if value is None or value == ():
                continue
            changes[name] = _convert(name, value)
        return replace(self, **changes) if changes else self


def _convert(name: str, value: Any) -> Any:
    """A setting's value in its type (text from the environment, or a Python value)."""
    if name == "index_dir":
        return Path(value)
    if name == "sources":
        items = value.split(":") if isinstance(value, str) else list(value)
        return tuple(s for s in (str(i).strip() for i in items) if s)
    if name == "shards":
        items = re.split(r"[\s,]+", value) if isinstance(value, str) else list(value)
        return tuple(u for u in items if u)
    if name in ("port", "threads"):
        return int(value)
    if name == "backend":
        return str(value).lower()
    return value
