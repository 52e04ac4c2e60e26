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
    built_at: str | None = None  # when the last full rebuild was committed
    segments: int = 1
    deleted: int = 0  # passages deleted but still on disk (until their segment is merged)
    updated_at: str | None = None  # when the last change was committed


@dataclass(slots=True)
class BuildReport:
    """Outcome of a rebuild: counts, rejected inputs (with reasons) and time."""

    threads: int = 0
    passages: int = 0
    rejected: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    location: str = ""


@dataclass(slots=True)
class UpdateReport:
    """Outcome of an update or a delete: what changed, what was left alone, and time."""

    added: int = 0  # threads new to the index
    replaced: int = 0  # threads whose content changed
    unchanged: int = 0  # threads read again with the same content
    deleted: int = 0  # threads removed
    missing: list[str] = field(default_factory=list)  # ids asked to delete but not found
    passages: int = 0  # passages written
    merged: int = 0  # segments merged afterwards
    rejected: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    location: str = ""
