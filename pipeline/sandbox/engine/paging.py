"""Paging and result caches every fake shares; the paging tokens' spelling stays the router's.

A report is computed once and paged from the cache: ``ResultCache`` keys answers by the query and
``answer_stamp`` (the world's clock, pinned exactly or by the minute, and its version, which changes
on every write), so paging one query sees one answer while a write or a clock move shows a new one.
``offset_window`` / ``numbered_page`` turn a router's decoded paging token into the slice to serve.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pipeline.sandbox.simulator import World

T = TypeVar("T")


def answer_stamp(world: World) -> tuple[object, int]:
    """When an answer was computed, as a cache key: a pinned clock exactly; the real clock per minute."""
    moment = world.clock()
    stamp = moment if world.now is not None else moment.replace(second=0, microsecond=0)
    return stamp, world.version


class ResultCache(Generic[T]):
    """A small thread-safe LRU of computed answers."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            cached = self._items.get(key)
            if cached is not None:
                self._items.move_to_end(key)
                return cached
        value = compute()  # outside the lock: two threads may compute one answer, never block
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


@dataclass(frozen=True)
class Window:
    """The slice ``[start, stop)`` of ``total`` rows a page serves."""

    start: int
    stop: int
    total: int

    @property
    def more(self) -> bool:
        return self.stop < self.total


def offset_window(start: int, limit: int | None, total: int) -> Window:
    """Rows from ``start`` (clamped to the end), at most ``limit`` of them (None: all)."""
    start = max(0, min(start, total))
    return Window(start, total if limit is None else min(total, start + limit), total)


def numbered_page(page: int, size: int, total: int) -> tuple[Window, int]:
    """Page ``page`` (1-based) of ``size`` rows, and how many pages there are."""
    return offset_window((page - 1) * size, size, total), math.ceil(total / size)


__all__ = ["ResultCache", "Window", "answer_stamp", "numbered_page", "offset_window"]
