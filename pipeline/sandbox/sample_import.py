"""A realistic CSV export for the file-import demo, dated relative to ``today``.

Files are static but the demo needs recent days, so the sample is generated: ``write_sample_csv``
writes the last ``days`` days (yesterday backwards) of a LinkedIn and a Pinterest account in the
generic format (``pipeline.connectors.csv_import``), the way Excel saves "CSV UTF-8" (with a
byte-order mark), plus a few deliberately broken rows so the demo shows the quarantine: a missing
ad id, a negative spend, a currency that is not ISO 4217, a number with a thousands separator and
an exact duplicate. Deterministic for a given ``today`` and ``seed``.
"""

from __future__ import annotations

import csv
import json
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

HEADER = (
    "date",
    "platform",
    "account_id",
    "account_name",
    "currency",
    "timezone",
    "campaign_id",
    "campaign_name",
    "ad_group_id",
    "ad_id",
    "ad_name",
    "spend",
    "impressions",
    "clicks",
    "conversions",
    "conversion_value",
)
# Rows the sample breaks on purpose, each with the reason the import reports.
BROKEN_ROWS = {
    "missing ad_id": "ad_id: required, but empty",
    "negative spend": "spend: must not be negative",
    "bad currency": "currency: not an ISO 4217 currency code such as USD or EUR",
    "thousands separator": "clicks: not a plain number",
    "duplicate": "duplicate key, the first row is kept",
}


@dataclass(frozen=True)
class _SampleAd:
    platform: str
    account_id: str
    account_name: str
    currency: str
    timezone: str
    campaign_id: str
    campaign_name: str
    ad_group_id: str
    ad_id: str
    ad_name: str
    daily_spend: float
    cpm: float  # cost per 1000 impressions
    ctr: float  # clicks / impressions
    cvr: float  # conversions / clicks
    value_per_conversion: float
    weekend_factor: float  # spend on Saturdays and Sundays relative to weekdays


# The ads live in a data file (platform names are data here, not code paths).
SAMPLE_ADS = tuple(
    _SampleAd(**ad) for ad in json.loads((Path(__file__).with_name("sample_ads.json")).read_text())["ads"]
)


def _binomial(rng: random.Random, trials: int, probability: float) -> int:
    """Successes among ``trials`` (normal approximation for many trials: fast and good enough)."""
    if trials < 200:
        return sum(rng.random() < probability for _ in range(trials))
    mean = trials * probability
    return max(0, round(rng.gauss(mean, math.sqrt(mean * (1 - probability)))))


def _row(ad: _SampleAd, day: date, rng: random.Random) -> list[str]:
    weekday_factor = ad.weekend_factor if day.weekday() >= 5 else 1.0
    spend = round(ad.daily_spend * weekday_factor * rng.uniform(0.8, 1.2), 2)
    impressions = round(spend / ad.cpm * 1000 * rng.uniform(0.9, 1.1))
    clicks = _binomial(rng, impressions, ad.ctr)
    conversions = _binomial(rng, clicks, ad.cvr)
    value = round(conversions * ad.value_per_conversion * rng.uniform(0.85, 1.15), 2)
    return [
        day.isoformat(),
        ad.platform,
        ad.account_id,
        ad.account_name,
        ad.currency,
        ad.timezone,
        ad.campaign_id,
        ad.campaign_name,
        ad.ad_group_id,
        ad.ad_id,
        ad.ad_name,
        f"{spend:.2f}",
        str(impressions),
        str(clicks),
        str(conversions),
        f"{value:.2f}",
    ]


def sample_rows(today: date, *, days: int = 30, seed: int = 7) -> list[list[str]]:
    """The sample's data rows (without header): good rows for ``days`` days, then the broken ones."""
    rng = random.Random(f"{seed}-{today.isoformat()}")
    good = [
        _row(ad, today - timedelta(days=offset), rng) for offset in range(days, 0, -1) for ad in SAMPLE_ADS
    ]
    yesterday = today - timedelta(days=1)
    broken = {
        "missing ad_id": _row(SAMPLE_ADS[0], yesterday, rng),
        "negative spend": _row(SAMPLE_ADS[3], yesterday, rng),
        "bad currency": _row(SAMPLE_ADS[1], yesterday, rng),
        "thousands separator": _row(SAMPLE_ADS[4], yesterday, rng),
    }
    broken["missing ad_id"][9] = ""
    broken["negative spend"][11] = "-12.40"
    broken["bad currency"][4] = "EURO"
    broken["thousands separator"][13] = "1,204"
    # Each broken row points at an ad-day whose good row exists: keep the good one, break a copy
    # with a different ad id so the broken row does not shadow it as a duplicate.
    broken["negative spend"][9] = "687263311299"
    broken["bad currency"][9] = "140227799"
    broken["thousands separator"][9] = "687263311298"
    return [*good, *broken.values(), list(good[len(SAMPLE_ADS)])]  # + an exact duplicate of day 2's first row


def write_sample_csv(path: str | Path, today: date | None = None, *, days: int = 30, seed: int = 7) -> Path:
    """Write the sample export to ``path`` (created or overwritten) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # Excel's "CSV UTF-8"
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(sample_rows(today or date.today(), days=days, seed=seed))
    return path
