"""Rate accounting the fakes share: calls per key in a sliding window of wall time.

Meta turns the counts into its usage headers (and code 4 / 80004 past 100 %); Snapchat answers a
bare 429 past its per-token rate. How a limit shows on the wire stays the router's.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Hashable


class SlidingWindow:
    """How many calls each key made in the last ``seconds`` (monotonic clock)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._calls: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()

    def _current(self, key: Hashable, now: float) -> deque[float]:
        calls = self._calls.setdefault(key, deque())
        while calls and calls[0] <= now - self.seconds:
            calls.popleft()
        return calls

    def record(self, *keys: Hashable) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._current(key, now).append(now)

    def count(self, key: Hashable) -> int:
        with self._lock:
            return len(self._current(key, time.monotonic()))

    def admit(self, key: Hashable, limit: int) -> bool:
        """Record a call for ``key`` unless it already made ``limit`` in the window."""
        now = time.monotonic()
        with self._lock:
            calls = self._current(key, now)
            if len(calls) >= limit:
                return False
            calls.append(now)
            return True


__all__ = ["SlidingWindow"]
