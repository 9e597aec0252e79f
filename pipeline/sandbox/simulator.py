"""A deterministic ad-platform simulator with known ground truth.

The sandbox's fake APIs serve what this module computes, so tests and the demo can check the whole
pipeline against the truth: every campaign has a saturating response curve
``revenue(spend) = vmax * spend / (half_sat + spend)``, weekly seasonality and ~10 % multiplicative
noise; conversions restate (mature) over the platform's attribution window; incidents (tracking
breaks, conversion-rate drops, CPC spikes, overspend, missing days) are injected on known campaigns
and dates.

Determinism: entity ids and parameters come from ``numpy.random.default_rng`` seeded with a stable
hash of (seed, platform, position); per-day noise comes from a counter-based hash of (seed, object
id, day, stream), so any ad-day can be computed on its own, in any order, vectorised over every ad of
an account, with the same result in every run and process (Python's salted ``hash()`` is never used).

Dates are account-local calendar days. ``World.now`` pins the clock (``None`` = real UTC now); a day is
served once it is complete in the account's timezone, and its conversions keep restating until it is
``restatement_days`` old.
"""

from __future__ import annotations

import hashlib
import math
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from pipeline.config import last_complete_day
from pipeline.platforms import PLATFORMS as REGISTRY

# The registry's platforms with a sandbox profile; their order numbers accounts across platforms.
_SIMULATED = tuple(spec for spec in REGISTRY if spec.sandbox is not None)
PLATFORMS: tuple[str, ...] = tuple(spec.name for spec in _SIMULATED)

# Days after which a day's conversions stop changing (attribution / finalisation windows).
DEFAULT_RESTATEMENT_DAYS: dict[str, int] = {spec.name: spec.sandbox.restatement_days for spec in _SIMULATED}

INCIDENT_KINDS = frozenset({"tracking_break", "cvr_drop", "cpc_spike", "overspend", "missing_day"})
# The simulator's own status vocabulary (Meta's); routers translate to each platform's words.
CAMPAIGN_STATUSES = ("ACTIVE", "PAUSED", "ARCHIVED", "DELETED")

# (currency, timezone) cycled over accounts so every platform mixes them.
_ACCOUNT_LOCALES: tuple[tuple[str, str], ...] = (
    ("USD", "America/New_York"),
    ("EUR", "Europe/Berlin"),
    ("GBP", "Europe/London"),
    ("USD", "America/Los_Angeles"),
)
_BRANDS = (
    "Northwind Outfitters",
    "Bluebird Coffee",
    "Juniper Home",
    "Atlas Fitness",
    "Cobalt Audio",
    "Fern & Field",
    "Harbor Pet Supply",
    "Lumen Skincare",
)
_MARKETS = ("US", "DE", "UK", "FR", "NL", "CA")
_FUNNELS = ("Prospecting", "Retargeting", "Brand", "Catalog", "Always-on", "Launch")
_THEMES = ("Bestsellers", "New Arrivals", "Seasonal Sale", "Bundles", "Gift Guide", "Evergreen")
_AUDIENCES = (
    "Broad 25-54",
    "Lookalike 1%",
    "Retargeting 30d",
    "Interests - Outdoor",
    "Customer List",
    "Lookalike 3%",
)
_CREATIVES = (
    "Video 15s - Hook A",
    "Carousel - Bestsellers",
    "Static - Offer",
    "UGC - Testimonial",
    "Video 6s - Bumper",
    "Collection - Catalog",
)

# Per platform (from its registry entry's SandboxProfile): objectives of (sales-like, traffic-like)
# campaigns, typical cost levels (cpm range, ctr range) and id shapes ((prefix, digits) per kind).
_OBJECTIVES: dict[str, tuple[str, str]] = {spec.name: spec.sandbox.objectives for spec in _SIMULATED}
_COST_LEVELS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    spec.name: (spec.sandbox.cpm_range, spec.sandbox.ctr_range) for spec in _SIMULATED
}
_ID_FORMATS: dict[str, Mapping[str, tuple[str, int]]] = {
    spec.name: spec.sandbox.id_formats for spec in _SIMULATED if spec.sandbox.id_formats is not None
}
_UUID_PLATFORMS = frozenset(spec.name for spec in _SIMULATED if spec.sandbox.id_formats is None)

# Relative delivery per local clock hour (evening peak); multiplied by the hour's real length (DST).
_HOUR_PROFILE = np.array(
    [0.35, 0.25, 0.18, 0.15, 0.15, 0.20, 0.35, 0.60, 0.80, 0.95, 1.00, 1.05,
     1.10, 1.05, 1.00, 1.00, 1.05, 1.15, 1.30, 1.45, 1.50, 1.35, 1.00, 0.60],
)  # fmt: skip

_MAX_ORDINAL = date.max.toordinal()
_DAILY_OVERDELIVERY_CAP = 1.25  # platforms may spend up to ~25 % over the daily budget on a day


# --------------------------------------------------------------------------------------------------
# Entities and values
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    platform: str
    id: str
    name: str
    currency: str
    timezone: str

    @property
    def tz(self) -> ZoneInfo:
        return _zone(self.timezone)


@dataclass(frozen=True)
class Campaign:
    """A campaign and its ground truth.

    ``daily_budget`` is in major units of the account currency (for a lifetime-budget campaign it is
    the even daily pacing of ``lifetime_budget`` over start..end). The response curve is
    ``revenue(spend) = vmax * spend / (half_sat + spend)`` per day before seasonality and noise;
    ``cpm`` (per mille), ``ctr`` (fraction) and ``aov`` (average order value) set the funnel.
    ``status`` is the status the campaign was generated with; a generated pause took effect on
    ``paused_on`` (delivery stops that day). Write-backs are tracked by :class:`World`.
    """

    platform: str
    account_id: str
    id: str
    name: str
    objective: str
    status: str
    daily_budget: float
    start_date: date
    vmax: float
    half_sat: float
    cpm: float
    ctr: float
    aov: float
    weekly_seasonality: tuple[float, ...] = (1.0,) * 7  # Monday..Sunday demand multipliers
    end_date: date | None = None
    lifetime_budget: float | None = None
    paused_on: date | None = None
    created_date: date | None = None

    def revenue(self, spend: float) -> float:
        """Expected daily conversion value at ``spend`` (no seasonality, no noise)."""
        return self.vmax * spend / (self.half_sat + spend) if spend > 0 else 0.0

    def marginal_roas(self, spend: float) -> float:
        """d revenue / d spend: what the next unit of spend returns."""
        return self.vmax * self.half_sat / (self.half_sat + spend) ** 2


@dataclass(frozen=True)
class AdGroup:
    platform: str
    account_id: str
    campaign_id: str
    id: str
    name: str
    status: str


@dataclass(frozen=True)
class Ad:
    platform: str
    account_id: str
    campaign_id: str
    ad_group_id: str
    id: str
    name: str
    status: str


@dataclass(frozen=True)
class Incident:
    """Something going wrong on a platform: ``start``..``end`` inclusive, account-local dates.

    kinds: ``tracking_break`` (conversions not recorded, spend continues), ``cvr_drop`` (conversions
    and value x magnitude), ``cpc_spike`` (cost per click and per mille x magnitude: fewer clicks and
    conversions for the same spend), ``overspend`` (spend x magnitude, beyond the daily cap),
    ``missing_day`` (the platform returns no rows for the account; the truth still has them).
    ``campaign_id=None`` applies to every campaign of the account.
    """

    kind: str
    platform: str
    account_id: str
    campaign_id: str | None
    start: date
    end: date
    magnitude: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in INCIDENT_KINDS:
            raise ValueError(f"unknown incident kind {self.kind!r}; known: {sorted(INCIDENT_KINDS)}")
        if self.end < self.start:
            raise ValueError("incident end is before its start")

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Metrics:
    spend: float
    impressions: int
    clicks: int
    conversions: int
    conversion_value: float

    @classmethod
    def zero(cls) -> Metrics:
        return cls(0.0, 0, 0, 0, 0.0)

    def __add__(self, other: Metrics) -> Metrics:
        return Metrics(
            round(self.spend + other.spend, 2),
            self.impressions + other.impressions,
            self.clicks + other.clicks,
            self.conversions + other.conversions,
            round(self.conversion_value + other.conversion_value, 2),
        )

    @property
    def roas(self) -> float | None:
        return self.conversion_value / self.spend if self.spend else None


@dataclass(frozen=True)
class Scenario:
    seed: int = 7
    today: date | None = None  # anchor for start dates and incidents; None = UTC today at World()
    history_days: int = 30
    platforms: tuple[str, ...] = PLATFORMS
    accounts_per_platform: int = 2
    campaigns_per_account: int = 4
    adgroups_per_campaign: int = 2
    ads_per_adgroup: int = 2
    incidents: tuple[Incident, ...] = ()
    restatement_days: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_RESTATEMENT_DAYS))

    def __post_init__(self) -> None:
        object.__setattr__(self, "platforms", tuple(self.platforms))
        object.__setattr__(self, "incidents", tuple(self.incidents))
        if self.history_days < 1:
            raise ValueError("history_days must be at least 1")

    def restatement_window(self, platform: str) -> int:
        return int(self.restatement_days.get(platform, DEFAULT_RESTATEMENT_DAYS.get(platform, 28)))


@dataclass(frozen=True)
class Delivery:
    """Observed (or true) daily metrics of every delivering ad of one account-day, as arrays.

    ``positions`` index into ``World.ads(platform, account_id)`` (and ``campaign_positions`` /
    ``ad_group_positions`` into the account's campaigns / ad groups lists); ads that did not deliver
    (no spend and no impressions) are left out, as the platforms leave them out.
    """

    account: Account
    day: date
    positions: np.ndarray
    campaign_positions: np.ndarray
    ad_group_positions: np.ndarray
    spend: np.ndarray  # float, 2 decimals
    impressions: np.ndarray  # int64
    clicks: np.ndarray
    conversions: np.ndarray
    conversion_value: np.ndarray  # float, 2 decimals

    def __len__(self) -> int:
        return len(self.positions)


@dataclass(frozen=True)
class HourlyDelivery:
    """Hourly metrics of every delivering ad of one account-day: arrays of shape (ads, 24).

    Column h is the local clock hour h (a DST day's missing hour is all zeros; its repeated hour holds
    two hours of delivery). ``hours_available`` says which hours are served: all 24 for a past day,
    up to and including the current local hour today (which is partial).
    """

    account: Account
    day: date
    positions: np.ndarray
    campaign_positions: np.ndarray
    ad_group_positions: np.ndarray
    spend: np.ndarray
    impressions: np.ndarray
    clicks: np.ndarray
    conversions: np.ndarray
    conversion_value: np.ndarray
    hours_available: np.ndarray  # bool (24,)


# --------------------------------------------------------------------------------------------------
# Stable hashing and counter-based noise
# --------------------------------------------------------------------------------------------------


def stable_int(*parts: object, bits: int = 64) -> int:
    """A hash of ``parts`` that is the same in every process (unlike ``hash()``)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=16).digest()
    return int.from_bytes(digest, "big") >> (128 - bits)


def entity_id(seed: int, platform: str, kind: str, *path: int) -> str:
    """The id of the entity at ``path`` (account index, campaign index, ...), stable across runs."""
    number = stable_int(seed, platform, kind, *path, bits=128)
    if platform in _UUID_PLATFORMS:
        return str(uuid.UUID(int=number, version=4))
    prefix, length = _ID_FORMATS.get(platform, {}).get(kind, ("9", 16))
    digits = length - len(prefix)
    return prefix + str(number % 10**digits).zfill(digits)


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijective, well-mixing map of uint64 arrays."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> _S30)) * _M1
        x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def _uniform(keys: np.ndarray, day_ordinal: int, stream: int | np.ndarray) -> np.ndarray:
    """Uniform (0, 1) numbers, one per key (broadcast against ``stream``), fixed per key-day-stream."""
    salt = _mix64(np.asarray((day_ordinal << 20) + np.asarray(stream, dtype=np.int64), dtype=np.uint64))
    bits = _mix64(np.asarray(keys, dtype=np.uint64) ^ salt)
    return ((bits >> _S11).astype(np.float64) + 0.5) / float(1 << 53)


def _normal(keys: np.ndarray, day_ordinal: int, stream: int | np.ndarray) -> np.ndarray:
    """Standard normal numbers (Box-Muller over two hashed uniforms)."""
    u1 = _uniform(keys, day_ordinal, np.asarray(stream) * 2)
    u2 = _uniform(keys, day_ordinal, np.asarray(stream) * 2 + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def _lognormal(keys: np.ndarray, day_ordinal: int, stream: int | np.ndarray, sigma: float) -> np.ndarray:
    """Mean-one multiplicative noise."""
    return np.exp(sigma * _normal(keys, day_ordinal, stream) - 0.5 * sigma * sigma)


def _stochastic_round(values: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Integers whose expectation is ``values`` (so small counts still average out right)."""
    return np.floor(values + uniforms).astype(np.int64)


def maturity(age_days: int | np.ndarray, window: int) -> np.ndarray:
    """Share of a day's final conversions already reported when the day is ``age_days`` old."""
    age = np.asarray(age_days, dtype=np.float64)
    return np.where(age >= window, 1.0, 1.0 - 0.25 * np.exp(-np.maximum(age, 0.0) / 2.0))


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=4096)
def _hour_lengths(timezone: str, day_ordinal: int) -> np.ndarray:
    """Real hours that fall into each local clock hour of the day (DST: 0 or 2 for one of them)."""
    tz = _zone(timezone)
    day = date.fromordinal(day_ordinal)
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=tz).astimezone(UTC)
    counts = np.zeros(24)
    for step in range(round((end - start) / timedelta(hours=1))):
        counts[(start + timedelta(hours=step)).astimezone(tz).hour] += 1
    counts.setflags(write=False)
    return counts


def _apportion(totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split integer ``totals`` (n,) over columns by row-normalised ``weights`` (n, k), exactly.

    Largest remainder: every row sums back to its total, zero-weight columns get nothing.
    """
    row_sums = weights.sum(axis=1, keepdims=True)
    shares = np.divide(weights, row_sums, out=np.zeros_like(weights), where=row_sums > 0)
    raw = totals[:, None].astype(np.float64) * shares
    base = np.floor(raw).astype(np.int64)
    remainder = totals - base.sum(axis=1)
    order = np.argsort(-(raw - base), axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(weights.shape[1]), order.shape), axis=1)
    return base + (ranks < remainder[:, None])


# --------------------------------------------------------------------------------------------------
# Scenario construction
# --------------------------------------------------------------------------------------------------


def default_scenario(today: date | None = None, history_days: int = 30, seed: int = 7) -> Scenario:
    """Five platforms, two accounts each, four campaigns per account, incidents on Meta.

    Meta incidents, relative to ``today`` (by default the first day that has not ended in every
    account timezone, see ``pipeline.config.last_complete_day``):

    - account 0 / campaign 0: ``tracking_break`` from today-3 on (zero conversions, spend continues);
    - account 0 / campaign 1: ``cvr_drop`` x0.3 from today-4 on (ROAS falls by ~70 %);
    - account 1 / campaign 0: ``cpc_spike`` x2.5 from today-2 on;
    - account 1 / campaign 1: ``overspend`` x1.8 from today-2 on;
    - account 1: ``missing_day`` on today-10.

    The ongoing ones last through today, so the last N *complete* days are affected.
    """
    # Default "today": the first day not yet over in every account timezone, so the incidents' last
    # complete days are the days a pipeline run can already read everywhere.
    today = today or last_complete_day(datetime.now(UTC)) + timedelta(days=1)
    platform = PLATFORMS[0]  # the incidents sit on the first simulated platform
    account_0 = entity_id(seed, platform, "account", 0)
    account_1 = entity_id(seed, platform, "account", 1)

    def campaign(account_index: int, campaign_index: int) -> str:
        return entity_id(seed, platform, "campaign", account_index, campaign_index)

    def days_ago(n: int) -> date:
        return today - timedelta(days=n)

    incidents = (
        Incident("tracking_break", platform, account_0, campaign(0, 0), days_ago(3), today, 0.0),
        Incident("cvr_drop", platform, account_0, campaign(0, 1), days_ago(4), today, 0.3),
        Incident("cpc_spike", platform, account_1, campaign(1, 0), days_ago(2), today, 2.5),
        Incident("overspend", platform, account_1, campaign(1, 1), days_ago(2), today, 1.8),
        Incident("missing_day", platform, account_1, None, days_ago(10), days_ago(10), 1.0),
    )
    return Scenario(seed=seed, today=today, history_days=history_days, incidents=incidents)


@dataclass
class _AccountModel:
    """One account's entities plus the parameter arrays the vectorised day computation reads."""

    account: Account
    campaigns: list[Campaign]
    ad_groups: list[AdGroup]
    ads: list[Ad]
    c_key: np.ndarray
    c_budget: np.ndarray
    c_vmax: np.ndarray
    c_half: np.ndarray
    c_cpm: np.ndarray
    c_ctr: np.ndarray
    c_aov: np.ndarray
    c_season: np.ndarray  # (campaigns, 7)
    c_start: np.ndarray  # ordinals
    c_end: np.ndarray
    c_paused: np.ndarray
    a_key: np.ndarray
    a_campaign: np.ndarray  # position of the ad's campaign in ``campaigns``
    a_group: np.ndarray  # position of the ad's ad group in ``ad_groups``
    a_weight: np.ndarray
    a_quality: np.ndarray
    a_cpm_factor: np.ndarray
    a_ctr_factor: np.ndarray
    a_active: np.ndarray
    campaign_pos: dict[str, int] = field(default_factory=dict)


def _build_account(scenario: Scenario, today: date, platform: str, account_index: int) -> _AccountModel:
    seed = scenario.seed
    global_index = PLATFORMS.index(platform) if platform in PLATFORMS else len(PLATFORMS)
    locale_index = global_index * scenario.accounts_per_platform + account_index
    currency, timezone = _ACCOUNT_LOCALES[locale_index % len(_ACCOUNT_LOCALES)]
    brand = _BRANDS[locale_index % len(_BRANDS)]
    account_id = entity_id(seed, platform, "account", account_index)
    account = Account(platform, account_id, f"{brand} - {currency}", currency, timezone)
    (cpm_lo, cpm_hi), (ctr_lo, ctr_hi) = _COST_LEVELS.get(platform, ((5.0, 15.0), (0.01, 0.02)))
    sales_objective, traffic_objective = _OBJECTIVES.get(platform, ("SALES", "TRAFFIC"))

    campaigns: list[Campaign] = []
    ad_groups: list[AdGroup] = []
    ads: list[Ad] = []
    ad_params: list[tuple[float, float, float, float]] = []
    ad_campaign: list[int] = []
    ad_group_pos: list[int] = []
    for c in range(scenario.campaigns_per_account):
        rng = np.random.default_rng(stable_int(seed, platform, "campaign-params", account_index, c))
        campaign_id = entity_id(seed, platform, "campaign", account_index, c)
        # Fixed variety in the first four campaigns of every account (the default scenario shows
        # each case on every platform); later campaigns draw it.
        is_new = (c == 3 and account_index % 2 == 0) or (c >= 4 and rng.random() < 0.12)
        is_paused = (c == 3 and account_index % 2 == 1) or (c >= 4 and not is_new and rng.random() < 0.08)
        is_lifetime = (c == 2 and account_index % 2 == 1) or (c >= 4 and rng.random() < 0.08)
        is_traffic = (c == 2 and account_index % 2 == 0) or (c >= 4 and rng.random() < 0.15)

        budget = float(round(rng.uniform(40, 400) / 5) * 5)
        if is_new:
            start = today - timedelta(days=max(3, round(scenario.history_days * 0.4)))
        else:
            start = today - timedelta(days=scenario.history_days + int(rng.integers(10, 120)))
        end: date | None = None
        lifetime: float | None = None
        if is_lifetime:
            end = today + timedelta(days=int(rng.integers(10, 40)))
            days = (end - start).days + 1
            lifetime = float(budget * days)
            budget = round(lifetime / days, 2)
        paused_on = today - timedelta(days=int(rng.integers(4, 9))) if is_paused else None
        if paused_on is not None and paused_on <= start:
            paused_on = start + timedelta(days=1)
        target_roas = rng.uniform(0.5, 1.3) if is_traffic else rng.uniform(1.8, 4.2)
        half_sat = budget * rng.uniform(0.6, 2.0)
        weekend = rng.uniform(0.75, 1.25)
        weekday = 1.0 + rng.normal(0.0, 0.03, size=5)
        season = np.concatenate([weekday, [weekend, weekend * rng.uniform(0.95, 1.05)]])
        season = season / season.mean()
        market = _MARKETS[int(rng.integers(len(_MARKETS)))]
        funnel = _FUNNELS[(c + account_index) % len(_FUNNELS)]
        theme = _THEMES[int(rng.integers(len(_THEMES)))]
        campaigns.append(
            Campaign(
                platform=platform,
                account_id=account_id,
                id=campaign_id,
                name=f"{market} | {funnel} | {theme}" + (" | Traffic" if is_traffic else ""),
                objective=traffic_objective if is_traffic else sales_objective,
                status="PAUSED" if is_paused else "ACTIVE",
                daily_budget=budget,
                start_date=start,
                vmax=float(target_roas * (half_sat + budget)),  # ROAS at budget = target_roas
                half_sat=float(half_sat),
                cpm=float(rng.uniform(cpm_lo, cpm_hi) * (0.7 if is_traffic else 1.0)),
                ctr=float(rng.uniform(ctr_lo, ctr_hi) * (1.4 if is_traffic else 1.0)),
                aov=float(rng.uniform(25, 90)),
                weekly_seasonality=tuple(float(round(s, 4)) for s in season),
                end_date=end,
                lifetime_budget=lifetime,
                paused_on=paused_on,
                created_date=start - timedelta(days=int(rng.integers(1, 5))),
            )
        )
        for g in range(scenario.adgroups_per_campaign):
            group_id = entity_id(seed, platform, "ad_group", account_index, c, g)
            audience = _AUDIENCES[(g + c) % len(_AUDIENCES)]
            ad_groups.append(AdGroup(platform, account_id, campaign_id, group_id, f"{audience}", "ACTIVE"))
            for k in range(scenario.ads_per_adgroup):
                ad_id = entity_id(seed, platform, "ad", account_index, c, g, k)
                creative = _CREATIVES[(k + g + c) % len(_CREATIVES)]
                ads.append(Ad(platform, account_id, campaign_id, group_id, ad_id, creative, "ACTIVE"))
                ad_campaign.append(c)
                ad_group_pos.append(len(ad_groups) - 1)
                ad_params.append(
                    (
                        float(rng.uniform(0.3, 1.7)),  # share of the campaign's delivery
                        float(rng.lognormal(0.0, 0.25)),  # conversion quality
                        float(rng.lognormal(0.0, 0.10)),  # cpm factor
                        float(rng.lognormal(0.0, 0.15)),  # ctr factor
                    )
                )

    def keys(ids: Iterable[str]) -> np.ndarray:
        return np.array([stable_int(seed, platform, i) for i in ids], dtype=np.uint64)

    params = np.array(ad_params, dtype=np.float64).reshape(-1, 4)
    return _AccountModel(
        account=account,
        campaigns=campaigns,
        ad_groups=ad_groups,
        ads=ads,
        c_key=keys(c.id for c in campaigns),
        c_budget=np.array([c.daily_budget for c in campaigns]),
        c_vmax=np.array([c.vmax for c in campaigns]),
        c_half=np.array([c.half_sat for c in campaigns]),
        c_cpm=np.array([c.cpm for c in campaigns]),
        c_ctr=np.array([c.ctr for c in campaigns]),
        c_aov=np.array([c.aov for c in campaigns]),
        c_season=np.array([c.weekly_seasonality for c in campaigns]).reshape(-1, 7),
        c_start=np.array([c.start_date.toordinal() for c in campaigns], dtype=np.int64),
        c_end=np.array([c.end_date.toordinal() if c.end_date else _MAX_ORDINAL for c in campaigns]),
        c_paused=np.array([c.paused_on.toordinal() if c.paused_on else _MAX_ORDINAL for c in campaigns]),
        a_key=keys(a.id for a in ads),
        a_campaign=np.array(ad_campaign, dtype=np.int64),
        a_group=np.array(ad_group_pos, dtype=np.int64),
        a_weight=params[:, 0],
        a_quality=params[:, 1],
        a_cpm_factor=params[:, 2],
        a_ctr_factor=params[:, 3],
        a_active=np.ones(len(ads), dtype=bool),
        campaign_pos={c.id: i for i, c in enumerate(campaigns)},
    )


@dataclass(frozen=True)
class _FinalDay:
    """Final (fully restated) metrics of all ads of an account-day, aligned with the account's ads."""

    spend: np.ndarray
    impressions: np.ndarray
    clicks: np.ndarray
    conversions: np.ndarray
    conversion_value: np.ndarray
    delivering: np.ndarray  # bool


# --------------------------------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------------------------------


class World:
    """Entities, ground truth and what each platform reports at a given moment.

    Thread-safe for the sandbox's use: the server thread reads while tests set ``now`` or write.
    """

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.scenario = scenario or default_scenario()
        self.today: date = self.scenario.today or datetime.now(UTC).date()
        self._now: datetime | None = None
        self._lock = threading.RLock()
        self._models: dict[str, list[_AccountModel]] = {}
        self._model_by_account: dict[tuple[str, str], _AccountModel] = {}
        self._campaigns: dict[tuple[str, str], Campaign] = {}
        self._ad_groups: dict[tuple[str, str], AdGroup] = {}
        self._ads: dict[tuple[str, str], tuple[_AccountModel, int]] = {}
        for platform in self.scenario.platforms:
            models = [
                _build_account(self.scenario, self.today, platform, i)
                for i in range(self.scenario.accounts_per_platform)
            ]
            self._models[platform] = models
            for model in models:
                self._model_by_account[(platform, model.account.id)] = model
                for c in model.campaigns:
                    self._campaigns[(platform, c.id)] = c
                for g in model.ad_groups:
                    self._ad_groups[(platform, g.id)] = g
                for position, ad in enumerate(model.ads):
                    self._ads[(platform, ad.id)] = (model, position)
        self._check_unique_ids()
        # (platform, campaign_id) -> [(effective ordinal, value)] sorted; later entries win
        self._status_changes: dict[tuple[str, str], list[tuple[int, str]]] = {}
        self._budget_changes: dict[tuple[str, str], list[tuple[int, float]]] = {}
        self._updated_at: dict[tuple[str, str], datetime] = {}
        self._final_cache: OrderedDict[tuple[str, str, int], _FinalDay] = OrderedDict()
        self._final_cache_size = 8192
        self._version = 0
        self._incidents: list[Incident] = []
        self._incidents_by_account: dict[tuple[str, str], list[Incident]] = {}
        for incident in self.scenario.incidents:
            self.add_incident(incident)

    def _check_unique_ids(self) -> None:
        counts = (
            len(self._model_by_account),
            len(self._campaigns),
            len(self._ad_groups),
            len(self._ads),
        )
        expected_accounts = len(self.scenario.platforms) * self.scenario.accounts_per_platform
        expected_campaigns = expected_accounts * self.scenario.campaigns_per_account
        expected_groups = expected_campaigns * self.scenario.adgroups_per_campaign
        expected = (
            expected_accounts,
            expected_campaigns,
            expected_groups,
            expected_groups * self.scenario.ads_per_adgroup,
        )
        if counts != expected:
            raise RuntimeError(
                f"id collision in the simulated world (seed {self.scenario.seed}); try another"
            )

    # -- clock ----------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime | None:
        """The pinned clock (UTC, aware) or ``None`` for the real time."""
        return self._now

    @now.setter
    def now(self, value: datetime | None) -> None:
        self._now = _aware(value) if value is not None else None

    def clock(self) -> datetime:
        """The current moment: the pinned ``now`` or the real UTC time."""
        return self._now or datetime.now(UTC)

    def advance(self, *, days: float = 0, hours: float = 0) -> datetime:
        """Move the clock forward (pins it first if it was real time)."""
        self.now = self.clock() + timedelta(days=days, hours=hours)
        return self.clock()

    def today_local(self, account: Account, as_of: datetime | None = None) -> date:
        return self.local_time(account, as_of).date()

    def local_time(self, account: Account, as_of: datetime | None = None) -> datetime:
        moment = _aware(as_of) if as_of is not None else self.clock()
        return moment.astimezone(account.tz)

    # -- entities -------------------------------------------------------------------------------------

    @property
    def platforms(self) -> tuple[str, ...]:
        return self.scenario.platforms

    def accounts(self, platform: str) -> list[Account]:
        return [m.account for m in self._models.get(platform, [])]

    def account(self, platform: str, account_id: str) -> Account:
        return self._model(platform, account_id).account

    def campaigns(self, platform: str, account_id: str | None = None) -> list[Campaign]:
        models = [self._model(platform, account_id)] if account_id else self._models.get(platform, [])
        return [c for m in models for c in m.campaigns]

    def campaign(self, platform: str, campaign_id: str) -> Campaign:
        return self._campaigns[(platform, campaign_id)]

    def ad_groups(
        self, platform: str, account_id: str | None = None, campaign_id: str | None = None
    ) -> list[AdGroup]:
        models = [self._model(platform, account_id)] if account_id else self._models.get(platform, [])
        return [g for m in models for g in m.ad_groups if campaign_id is None or g.campaign_id == campaign_id]

    def ad_group(self, platform: str, ad_group_id: str) -> AdGroup:
        return self._ad_groups[(platform, ad_group_id)]

    def ads(
        self,
        platform: str,
        account_id: str | None = None,
        campaign_id: str | None = None,
        ad_group_id: str | None = None,
    ) -> list[Ad]:
        models = [self._model(platform, account_id)] if account_id else self._models.get(platform, [])
        return [
            a
            for m in models
            for a in m.ads
            if (campaign_id is None or a.campaign_id == campaign_id)
            and (ad_group_id is None or a.ad_group_id == ad_group_id)
        ]

    def ad(self, platform: str, ad_id: str) -> Ad:
        return self._ads[(platform, ad_id)][0].ads[self._ads[(platform, ad_id)][1]]

    def _model(self, platform: str, account_id: str | None) -> _AccountModel:
        try:
            return self._model_by_account[(platform, str(account_id))]
        except KeyError:
            raise KeyError(f"no {platform} account {account_id!r} in the sandbox") from None

    # -- incidents ------------------------------------------------------------------------------------

    @property
    def incidents(self) -> list[Incident]:
        return list(self._incidents)

    def add_incident(self, incident: Incident) -> None:
        """Inject an incident (also after construction); affects every later read."""
        self._model(incident.platform, incident.account_id)  # validates the account
        if incident.campaign_id is not None:
            self.campaign(incident.platform, incident.campaign_id)
        with self._lock:
            self._incidents.append(incident)
            key = (incident.platform, incident.account_id)
            self._incidents_by_account.setdefault(key, []).append(incident)
            self._invalidate()

    def is_missing_day(self, account: Account, day: date) -> bool:
        return any(
            i.kind == "missing_day" and i.covers(day)
            for i in self._incidents_by_account.get((account.platform, account.id), ())
        )

    # -- write-back -----------------------------------------------------------------------------------

    def campaign_status(self, campaign: Campaign, day: date | None = None) -> str:
        """The campaign's status on ``day`` (default: today in the account's timezone)."""
        if day is None:
            day = self.today_local(self.account(campaign.platform, campaign.account_id))
        ordinal = day.toordinal()
        status = campaign.status
        if campaign.paused_on is not None and day < campaign.paused_on:
            status = "ACTIVE"
        for effective, value in self._status_changes.get((campaign.platform, campaign.id), ()):
            if effective <= ordinal:
                status = value
        return status

    def campaign_daily_budget(self, campaign: Campaign, day: date | None = None) -> float:
        if day is None:
            day = self.today_local(self.account(campaign.platform, campaign.account_id))
        ordinal = day.toordinal()
        budget = campaign.daily_budget
        for effective, value in self._budget_changes.get((campaign.platform, campaign.id), ()):
            if effective <= ordinal:
                budget = value
        return budget

    def campaign_updated_at(self, campaign: Campaign) -> datetime | None:
        """When a write-back last changed the campaign (None: never)."""
        return self._updated_at.get((campaign.platform, campaign.id))

    def set_campaign_status(self, platform: str, campaign_id: str, status: str) -> None:
        """Change a campaign's status from today (account-local) on."""
        if status not in CAMPAIGN_STATUSES:
            raise ValueError(f"status must be one of {CAMPAIGN_STATUSES}, not {status!r}")
        campaign = self.campaign(platform, campaign_id)
        self._record_change(self._status_changes, campaign, status)

    def set_campaign_daily_budget(self, platform: str, campaign_id: str, daily_budget: float) -> None:
        """Change a campaign's daily budget (major units) from today (account-local) on."""
        if not daily_budget > 0 or not math.isfinite(daily_budget):
            raise ValueError("daily_budget must be a positive amount in major units")
        campaign = self.campaign(platform, campaign_id)
        self._record_change(self._budget_changes, campaign, round(float(daily_budget), 2))

    def _record_change(
        self, changes: dict[tuple[str, str], list[Any]], campaign: Campaign, value: Any
    ) -> None:
        account = self.account(campaign.platform, campaign.account_id)
        effective = self.today_local(account).toordinal()
        with self._lock:
            timeline = [c for c in changes.get((campaign.platform, campaign.id), []) if c[0] != effective]
            timeline.append((effective, value))
            timeline.sort(key=lambda change: change[0])
            changes[(campaign.platform, campaign.id)] = timeline
            self._updated_at[(campaign.platform, campaign.id)] = self.clock()
            self._invalidate()

    @property
    def version(self) -> int:
        """Bumped by every write and injected incident (lets callers cache reads safely)."""
        return self._version

    def _invalidate(self) -> None:
        self._version += 1
        self._final_cache.clear()

    # -- metrics: scalar API --------------------------------------------------------------------------

    def ad_day(self, ad: Ad, day: date, as_of: datetime | None = None) -> Metrics | None:
        """What the platform reports for the ad-day at ``as_of`` (default: now).

        ``None`` when the ad did not deliver, the day is a missing day, or it is not yet complete in
        the account's timezone. Conversions and value are restated (less than final) while the day is
        younger than the platform's restatement window.
        """
        model, position = self._ads[(ad.platform, ad.id)]
        delivery = self._observed(model, day, as_of)
        if delivery is None:
            return None
        return _metrics_at(delivery, position)

    def truth_ad_day(self, ad: Ad, day: date) -> Metrics:
        """Final, fully restated metrics (also for missing days, which the API drops)."""
        model, position = self._ads[(ad.platform, ad.id)]
        final = self._final(model, day)
        return Metrics(
            float(final.spend[position]),
            int(final.impressions[position]),
            int(final.clicks[position]),
            int(final.conversions[position]),
            float(final.conversion_value[position]),
        )

    def ad_hour(self, ad: Ad, day: date, hour: int, as_of: datetime | None = None) -> Metrics | None:
        """What the platform reports for one local clock hour of the ad-day (``None``: not served)."""
        if not 0 <= hour <= 23:
            raise ValueError("hour must be 0..23")
        model, position = self._ads[(ad.platform, ad.id)]
        hourly = self._hourly(model, day, as_of)
        if hourly is None or not hourly.hours_available[hour]:
            return None
        where = np.flatnonzero(hourly.positions == position)
        if len(where) == 0:
            return None
        row = int(where[0])
        return Metrics(
            float(hourly.spend[row, hour]),
            int(hourly.impressions[row, hour]),
            int(hourly.clicks[row, hour]),
            int(hourly.conversions[row, hour]),
            float(hourly.conversion_value[row, hour]),
        )

    # -- metrics: vectorised API ----------------------------------------------------------------------

    def account_day(
        self, platform: str, account_id: str, day: date, as_of: datetime | None = None
    ) -> Delivery | None:
        """Every delivering ad of the account-day as the platform reports it at ``as_of``."""
        return self._observed(self._model(platform, account_id), day, as_of)

    def truth_account_day(self, platform: str, account_id: str, day: date) -> Delivery:
        model = self._model(platform, account_id)
        final = self._final(model, day)
        return _delivery(model, day, final, final.conversions, final.conversion_value)

    def account_hours(
        self, platform: str, account_id: str, day: date, as_of: datetime | None = None
    ) -> HourlyDelivery | None:
        """Hourly metrics of the account-day (``None``: day in the future, missing, or no delivery)."""
        return self._hourly(self._model(platform, account_id), day, as_of)

    def metrics_frame(
        self,
        platform: str,
        since: date,
        until: date,
        *,
        account_ids: Sequence[str] | None = None,
        as_of: datetime | None = None,
        truth: bool = False,
    ) -> Any:
        """A pandas DataFrame of ad-day metrics (reported at ``as_of``, or the truth) for a date range."""
        import pandas as pd

        frames = []
        accounts = account_ids or [a.id for a in self.accounts(platform)]
        for account_id in accounts:
            model = self._model(platform, account_id)
            for day in _date_range(since, until):
                delivery = (
                    self.truth_account_day(platform, account_id, day)
                    if truth
                    else self._observed(model, day, as_of)
                )
                if delivery is None or len(delivery) == 0:
                    continue
                ads = [model.ads[p] for p in delivery.positions]
                frames.append(
                    pd.DataFrame(
                        {
                            "platform": platform,
                            "account_id": account_id,
                            "campaign_id": [a.campaign_id for a in ads],
                            "ad_group_id": [a.ad_group_id for a in ads],
                            "ad_id": [a.id for a in ads],
                            "date": day,
                            "spend": delivery.spend,
                            "impressions": delivery.impressions,
                            "clicks": delivery.clicks,
                            "conversions": delivery.conversions,
                            "conversion_value": delivery.conversion_value,
                        }
                    )
                )
        columns = ["platform", "account_id", "campaign_id", "ad_group_id", "ad_id", "date", "spend",
                   "impressions", "clicks", "conversions", "conversion_value"]  # fmt: skip
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)

    # -- internals ------------------------------------------------------------------------------------

    def _observed(self, model: _AccountModel, day: date, as_of: datetime | None) -> Delivery | None:
        account = model.account
        today = self.today_local(account, as_of)
        if day >= today or self.is_missing_day(account, day):
            return None
        final = self._final(model, day)
        conversions, value = self._restated(model, day, today, final)
        return _delivery(model, day, final, conversions, value)

    def _restated(
        self, model: _AccountModel, day: date, today: date, final: _FinalDay
    ) -> tuple[np.ndarray, np.ndarray]:
        """Conversions and value reported ``(today - day)`` days after ``day``.

        Each ad-day reports ``floor(final * maturity + u)`` conversions with its own fixed ``u``:
        on average ``final * maturity``, never decreasing as the day ages, exactly final after the
        window; value arrives with the conversions it belongs to.
        """
        factor = maturity((today - day).days, self.scenario.restatement_window(model.account.platform))
        if factor >= 1.0:
            return final.conversions, final.conversion_value
        arrival = _uniform(model.a_key, day.toordinal(), 10)
        conversions = np.minimum(np.floor(final.conversions * factor + arrival), final.conversions).astype(
            np.int64
        )
        share = np.divide(
            conversions, final.conversions, out=np.zeros(len(conversions)), where=final.conversions > 0
        )
        return conversions, np.round(final.conversion_value * share, 2)

    def _hourly(self, model: _AccountModel, day: date, as_of: datetime | None) -> HourlyDelivery | None:
        account = model.account
        local_now = self.local_time(account, as_of)
        today = local_now.date()
        if day > today or self.is_missing_day(account, day):
            return None
        final = self._final(model, day)
        rows = np.flatnonzero(final.delivering)
        if len(rows) == 0:
            return None
        restated_conversions, restated_value = self._restated(model, day, today, final)
        conversions = restated_conversions[rows]
        value_cents = np.round(restated_value[rows] * 100).astype(np.int64)

        ordinal = day.toordinal()
        lengths = _hour_lengths(account.timezone, ordinal)
        noise = _lognormal(model.a_key[rows][:, None], ordinal, 1000 + np.arange(24)[None, :], 0.25)
        weights = _HOUR_PROFILE[None, :] * lengths[None, :] * noise
        spend = _apportion(np.round(final.spend[rows] * 100).astype(np.int64), weights)
        impressions = _apportion(final.impressions[rows], weights)
        clicks = _apportion(final.clicks[rows], weights)
        hour_conversions = _apportion(conversions, weights)
        # Value follows the conversions so an hour never has value without a conversion.
        value = _apportion(value_cents, hour_conversions.astype(np.float64))

        available = np.ones(24, dtype=bool)
        if day == today:
            current = local_now.hour
            available[current + 1 :] = False
            elapsed = (local_now.minute * 60 + local_now.second) / 3600.0
            partial_conversions = np.floor(hour_conversions[:, current] * elapsed).astype(np.int64)
            with np.errstate(invalid="ignore", divide="ignore"):
                value_share = np.where(
                    hour_conversions[:, current] > 0, partial_conversions / hour_conversions[:, current], 0.0
                )
            spend[:, current] = np.floor(spend[:, current] * elapsed)
            impressions[:, current] = np.floor(impressions[:, current] * elapsed)
            clicks[:, current] = np.floor(clicks[:, current] * elapsed)
            value[:, current] = np.floor(value[:, current] * value_share)
            hour_conversions[:, current] = partial_conversions
            for matrix in (spend, impressions, clicks, hour_conversions, value):
                matrix[:, ~available] = 0
        return HourlyDelivery(
            account=account,
            day=day,
            positions=rows,
            campaign_positions=model.a_campaign[rows],
            ad_group_positions=model.a_group[rows],
            spend=spend / 100.0,
            impressions=impressions,
            clicks=clicks,
            conversions=hour_conversions,
            conversion_value=value / 100.0,
            hours_available=available,
        )

    def _final(self, model: _AccountModel, day: date) -> _FinalDay:
        key = (model.account.platform, model.account.id, day.toordinal())
        with self._lock:
            cached = self._final_cache.get(key)
            if cached is not None:
                self._final_cache.move_to_end(key)
                return cached
        final = self._compute_final(model, day)
        with self._lock:
            self._final_cache[key] = final
            if len(self._final_cache) > self._final_cache_size:
                self._final_cache.popitem(last=False)
        return final

    def _compute_final(self, model: _AccountModel, day: date) -> _FinalDay:
        """The heart of the simulation: one account-day, vectorised over campaigns and ads."""
        d = day.toordinal()
        n_campaigns = len(model.campaigns)
        live = (model.c_start <= d) & (d <= model.c_end) & (d < model.c_paused)
        budget = model.c_budget.copy()
        platform = model.account.platform
        for position, campaign in enumerate(model.campaigns):
            key = (platform, campaign.id)
            if key in self._status_changes:
                live[position] = (
                    model.c_start[position] <= d <= model.c_end[position]
                    and self.campaign_status(campaign, day) == "ACTIVE"
                )
            if key in self._budget_changes:
                budget[position] = self.campaign_daily_budget(campaign, day)

        spend_factor = np.ones(n_campaigns)
        cost_factor = np.ones(n_campaigns)
        conversion_factor = np.ones(n_campaigns)
        for incident in self._incidents_by_account.get((platform, model.account.id), ()):
            if not incident.covers(day) or incident.kind == "missing_day":
                continue
            target = slice(None) if incident.campaign_id is None else model.campaign_pos[incident.campaign_id]
            if incident.kind == "overspend":
                spend_factor[target] *= incident.magnitude
            elif incident.kind == "cpc_spike":
                cost_factor[target] *= incident.magnitude
            elif incident.kind == "cvr_drop":
                conversion_factor[target] *= incident.magnitude
            elif incident.kind == "tracking_break":
                conversion_factor[target] = 0.0

        season = model.c_season[:, day.weekday()]
        pacing = 0.93 * (1.0 + 0.4 * (season - 1.0)) * _lognormal(model.c_key, d, 1, 0.08)
        spend_c = budget * np.minimum(pacing, _DAILY_OVERDELIVERY_CAP) * spend_factor * live
        # Costlier delivery buys less: the curve sees the spend's worth at normal prices.
        effective = spend_c / cost_factor
        demand = season * _lognormal(model.c_key, d, 2, 0.10)
        revenue_c = model.c_vmax * demand * effective / (model.c_half + effective) * conversion_factor
        cpm_c = model.c_cpm * cost_factor * (1.0 + 0.3 * (season - 1.0)) * _lognormal(model.c_key, d, 3, 0.06)
        ctr_c = model.c_ctr * _lognormal(model.c_key, d, 4, 0.06)

        camp = model.a_campaign
        share = model.a_weight * model.a_active * _lognormal(model.a_key, d, 5, 0.15)
        share_sum = np.bincount(camp, weights=share, minlength=n_campaigns)
        share = np.divide(share, share_sum[camp], out=np.zeros_like(share), where=share_sum[camp] > 0)
        value_share = share * model.a_quality
        value_sum = np.bincount(camp, weights=value_share, minlength=n_campaigns)
        value_share = np.divide(
            value_share, value_sum[camp], out=np.zeros_like(value_share), where=value_sum[camp] > 0
        )

        spend = np.round(spend_c[camp] * share, 2)
        impressions = _stochastic_round(
            spend / (cpm_c[camp] * model.a_cpm_factor) * 1000.0, _uniform(model.a_key, d, 6)
        )
        clicks = np.minimum(
            _stochastic_round(impressions * ctr_c[camp] * model.a_ctr_factor, _uniform(model.a_key, d, 7)),
            impressions,
        )
        expected_conversions = revenue_c[camp] * value_share / model.c_aov[camp]
        conversions = _stochastic_round(expected_conversions, _uniform(model.a_key, d, 8))
        value = np.round(conversions * model.c_aov[camp] * _lognormal(model.a_key, d, 9, 0.12), 2)
        delivering = (spend > 0) | (impressions > 0)
        for array in (spend, impressions, clicks, conversions, value):
            array[~delivering] = 0
        return _FinalDay(spend, impressions, clicks, conversions, value, delivering)


def _delivery(
    model: _AccountModel, day: date, final: _FinalDay, conversions: np.ndarray, value: np.ndarray
) -> Delivery:
    rows = np.flatnonzero(final.delivering)
    return Delivery(
        account=model.account,
        day=day,
        positions=rows,
        campaign_positions=model.a_campaign[rows],
        ad_group_positions=model.a_group[rows],
        spend=final.spend[rows],
        impressions=final.impressions[rows],
        clicks=final.clicks[rows],
        conversions=conversions[rows],
        conversion_value=value[rows],
    )


def _metrics_at(delivery: Delivery, position: int) -> Metrics | None:
    where = np.flatnonzero(delivery.positions == position)
    if len(where) == 0:
        return None
    row = int(where[0])
    return Metrics(
        float(delivery.spend[row]),
        int(delivery.impressions[row]),
        int(delivery.clicks[row]),
        int(delivery.conversions[row]),
        float(delivery.conversion_value[row]),
    )


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _date_range(since: date, until: date) -> Iterator[date]:
    day = since
    while day <= until:
        yield day
        day += timedelta(days=1)


__all__ = [
    "CAMPAIGN_STATUSES",
    "DEFAULT_RESTATEMENT_DAYS",
    "INCIDENT_KINDS",
    "PLATFORMS",
    "Account",
    "Ad",
    "AdGroup",
    "Campaign",
    "Delivery",
    "HourlyDelivery",
    "Incident",
    "Metrics",
    "Scenario",
    "World",
    "default_scenario",
    "entity_id",
    "maturity",
    "stable_int",
]
