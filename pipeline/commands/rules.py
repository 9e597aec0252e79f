"""`adsignal rules`."""

from __future__ import annotations

import click


@click.group("rules")
def rules() -> None:
    """TODO"""
