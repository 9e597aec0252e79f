"""`adsignal alerts`."""

from __future__ import annotations

import click


@click.group("alerts")
def alerts() -> None:
    """TODO"""
