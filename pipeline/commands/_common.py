"""What the area command groups share: the database URL, a wide console, the ``--by/--actor`` option."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console


def command_url(migrate: bool = False) -> str:
    """The warehouse URL, migrated first if ``migrate``."""
    # Read at call time (not the cached settings), so DATABASE_URL set for this command is honoured.
    from pipeline.warehouse.db import database_url

    url = os.environ.get("DATABASE_URL") or database_url()
    if migrate:
        from pipeline.warehouse import migrate as migrations

        migrations.upgrade(url)
    return url


def wide_console() -> Console:
    """A console at least 140 columns wide, so tables do not wrap in narrow terminals or pipes."""
    return Console(width=max(Console().width, 140))


def make_actor_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--by`` / ``--actor`` (parameter ``actor``), the OS user by default; ``help_text`` says what it records."""
    return click.option(
        "--by", "--actor", "actor", default=getpass.getuser, show_default="the OS user", help=help_text
    )


class InputError(click.ClickException):
    """What the person gave cannot be used: one line ``Error: ...`` on stderr, exit code 2, no traceback."""

    exit_code = 2
