"""Fault plumbing every fake shares: what a request fault does before the router answers.

``timeout`` sleeps and lets the request through; ``malformed_json`` / ``truncated_json`` let it
through and break the answer afterwards (``finish``); every other kind is the router's to answer in
its platform's error shape. Async kinds are taken when a report job is created (``JobBook``).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from starlette.responses import Response

from pipeline.sandbox.responses import corrupt_json

if TYPE_CHECKING:
    from pipeline.sandbox.server import Fault, FaultInjector

CORRUPTING = frozenset({"malformed_json", "truncated_json"})
TIMEOUT = "timeout"
# The request faults most routers understand (each adds its own platform-specific kinds).
COMMON_REQUEST_FAULTS = frozenset({"throttle", "server_error", TIMEOUT, *CORRUPTING})


@dataclass
class RequestFault:
    """What a pending request fault left for the router: a fault to answer, or a corruption to apply."""

    answer: Fault | None = None
    corrupt: str | None = None

    def finish(self, response: Response) -> Response:
        """The router's response, broken as the fault asked (if it did)."""
        return corrupt_json(response, self.corrupt) if self.corrupt else response


async def take_request_fault(
    faults: FaultInjector, platform: str, path: str, kinds: Collection[str]
) -> RequestFault:
    """Take the first pending fault of ``kinds`` matching the request; sleep through a timeout."""
    fault = faults.take(platform, path, kinds)
    if fault is None:
        return RequestFault()
    if fault.kind == TIMEOUT:
        await asyncio.sleep(float(fault.params.get("seconds", 5.0)))
        return RequestFault()
    if fault.kind in CORRUPTING:
        return RequestFault(corrupt=fault.kind)
    return RequestFault(answer=fault)


_UNAVAILABLE = b"<html><body><h1>Service Unavailable</h1></body></html>"


def gateway_page(status: int, body: bytes = _UNAVAILABLE) -> Response:
    """What a proxy in front of an API answers on a 5xx: HTML, not the API's JSON."""
    return Response(body, status, media_type="text/html")


@dataclass
class Job:
    """An async report job: the world as of its creation, the fault that shapes it, polls so far."""

    id: str
    query: Any
    as_of: datetime
    fault: str | None = None
    fault_params: dict[str, Any] = field(default_factory=dict)
    polls: int = 0


JobT = TypeVar("JobT", bound=Job)


class JobBook(Generic[JobT]):
    """The jobs a router created, each taking a pending async fault when it is made."""

    def __init__(self, faults: FaultInjector, platform: str, kinds: Collection[str]) -> None:
        self.faults, self.platform, self.kinds = faults, platform, kinds
        self.jobs: dict[str, JobT] = {}
        self._serial = itertools.count(1)
        self._lock = threading.Lock()

    def next_serial(self) -> int:
        with self._lock:
            return next(self._serial)

    def create(self, job: JobT, path: str) -> JobT:
        """Register ``job``, shaped by the first pending async fault matching ``path``."""
        fault = self.faults.take(self.platform, path, self.kinds)
        if fault is not None:
            job.fault, job.fault_params = fault.kind, dict(fault.params)
        self.jobs[job.id] = job
        return job

    def poll(self, job: JobT) -> int:
        """Count one status poll; the count so far."""
        with self._lock:
            job.polls += 1
            return job.polls


__all__ = [
    "COMMON_REQUEST_FAULTS",
    "CORRUPTING",
    "Job",
    "JobBook",
    "RequestFault",
    "gateway_page",
    "take_request_fault",
]
