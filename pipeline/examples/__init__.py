"""Example files shipped with adsignal."""

from __future__ import annotations

from pathlib import Path

# The example rules of docs/rules.md, written against the sandbox's default scenario (the demo imports them).
EXAMPLE_RULES = Path(__file__).with_name("rules.yml")
# The example weekly report of docs/reports.md (the demo renders it for its data).
EXAMPLE_REPORTS = Path(__file__).with_name("reports.yml")
