"""`adsignal recommendations`."""

from __future__ import annotations

import click


@click.group("recommendations")
def recommendations() -> None:
    """TODO"""
