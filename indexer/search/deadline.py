"""One time limit for a whole search, shared by the pipeline and the store it asks."""

from __future__ import annotations

import time
from collections.abc import Callable


class DeadlineExceeded(Exception):  # noqa: N818 - a signal, not a failure
    """A store gave up on a question because the search's time ran out."""


class Deadline:
    """A point in time after which a search returns what it has found."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.at = clock() + seconds

    def remaining(self) -> float:
        """Seconds left (0 when past)."""
        return max(0.0, self.at - self.clock())

    def expired(self) -> bool:
        """True once the time is up."""
        return self.clock() >= self.at

    def check(self) -> None:
        """Raise DeadlineExceeded when the time is up."""
        if self.expired():
            raise DeadlineExceeded
