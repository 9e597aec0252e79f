"""Exponential backoff with jitter, shared by the platform connectors and the notification sender."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class ExponentialBackoff:
    """Attempt ``n`` (1-based) that failed waits ``min(max_delay, base_delay * 2**(n-1))``, of which a
    random fraction up to ``jitter`` is taken off so parallel workers do not retry in lockstep."""

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter is a fraction between 0 and 1")

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay after failed attempt number ``attempt`` (1-based)."""
        delay = min(self.max_delay, self.base_delay * 2 ** max(0, attempt - 1))
        if self.jitter:
            delay *= 1.0 - self.jitter * (rng or random).random()
        return delay
