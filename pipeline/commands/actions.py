"""`adsignal actions`."""

from __future__ import annotations

import click


@click.group("actions")
def actions() -> None:
    """TODO"""
