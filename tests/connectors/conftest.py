"""Every connector test starts and ends with no injected fault left in its module's sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    if "sandbox" not in request.fixturenames:
        yield
        return
    sandbox = request.getfixturevalue("sandbox")
    sandbox.faults.clear()
    yield
    sandbox.faults.clear()
