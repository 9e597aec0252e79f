"""Dagster wiring only: assets, checks, jobs, schedules and resources. Logic lives elsewhere."""

import warnings

import dagster as dg

# Single-run backfills are how a run covers a window of days; the beta notice is noise at every load.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")
