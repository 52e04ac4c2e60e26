"""What every store reports about itself: index statistics and build reports."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class IndexStats:
    """What `indexer stats` prints about an index."""

    location: str
    threads: int
    passages: int
    terms: int
    size_bytes: int
    built_at: str | None = None


@dataclass(slots=True)
class BuildReport:
    """Outcome of a rebuild: counts, rejected inputs (with reasons) and time."""

    threads: int = 0
    passages: int = 0
    rejected: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    location: str = ""
