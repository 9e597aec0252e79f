"""Level roll-ups over the simulated world: the arithmetic every fake's reports share.

A report on any platform is the same computation: take an account's delivering ads day by day (or
hour by hour) from the simulator, add the platform's per-ad derived metrics, sum them to the
requested level (account, campaign, ad group, ad) per time bucket, and leave out objects that did
not deliver. Only how the rows are written differs, and that stays in the router.

Money is integer cents here (``SPEND`` and ``VALUE``); a router turns it into its own units.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from pipeline.sandbox.simulator import Account, Ad, AdGroup, Campaign, World, stable_int

# Levels, coarse to fine; a router maps its own names (Meta "adset", TikTok "AUCTION_AD") onto them.
ACCOUNT, CAMPAIGN, AD_GROUP, AD = range(4)

# The base metric rows of a DayBlock, as integers.
SPEND, IMPRESSIONS, CLICKS, CONVERSIONS, VALUE = range(5)
N_BASE = 5

# derive(view, positions, base) -> extra metric rows (k, ads, width) computed per ad and hour before
# summing (reach, link clicks: not additive, so they are worked out where the simulator's grain is)
Derive = Callable[["AccountView", np.ndarray, np.ndarray], Sequence[np.ndarray]]


@dataclass
class AccountView:
    """One account's objects, with positions mapping the simulator's delivery arrays back to them."""

    account: Account
    campaigns: list[Campaign]
    ad_groups: list[AdGroup]
    ads: list[Ad]
    campaign_pos: dict[str, int]
    group_pos: dict[str, int]
    ad_pos: dict[str, int]
    ad_campaign: np.ndarray  # campaign position of each ad
    ad_group: np.ndarray  # ad group position of each ad
    group_campaign: np.ndarray  # campaign position of each ad group

    @classmethod
    def build(cls, world: World, platform: str, account: Account) -> AccountView:
        campaigns = world.campaigns(platform, account.id)
        ad_groups = world.ad_groups(platform, account.id)
        ads = world.ads(platform, account.id)
        campaign_pos = {c.id: i for i, c in enumerate(campaigns)}
        group_pos = {g.id: i for i, g in enumerate(ad_groups)}
        return cls(
            account=account,
            campaigns=campaigns,
            ad_groups=ad_groups,
            ads=ads,
            campaign_pos=campaign_pos,
            group_pos=group_pos,
            ad_pos={a.id: i for i, a in enumerate(ads)},
            ad_campaign=np.array([campaign_pos[a.campaign_id] for a in ads], dtype=np.int64),
            ad_group=np.array([group_pos[a.ad_group_id] for a in ads], dtype=np.int64),
            group_campaign=np.array([campaign_pos[g.campaign_id] for g in ad_groups], dtype=np.int64),
        )

    @classmethod
    def empty(cls, account: Account) -> AccountView:
        """An account with no objects (a closed or disabled one a platform still lists)."""
        none = np.zeros(0, dtype=np.int64)
        return cls(account, [], [], [], {}, {}, {}, none, none, none)

    @property
    def id(self) -> str:
        return self.account.id

    def n_groups(self, level: int) -> int:
        return (1, len(self.campaigns), len(self.ad_groups), len(self.ads))[level]

    def group_of(self, level: int, positions: np.ndarray) -> np.ndarray:
        """The position at ``level`` of each ad position."""
        if level == ACCOUNT:
            return np.zeros(len(positions), dtype=np.int64)
        return (self.ad_campaign[positions], self.ad_group[positions], positions)[level - 1]

    def parents(self, level: int, group: int) -> tuple[Campaign | None, AdGroup | None, Ad | None]:
        """(campaign, ad group, ad) of a row at ``level``; None above the level."""
        if level == CAMPAIGN:
            return self.campaigns[group], None, None
        if level == AD_GROUP:
            return self.campaigns[int(self.group_campaign[group])], self.ad_groups[group], None
        if level == AD:
            ad_group = self.ad_groups[int(self.ad_group[group])]
            return self.campaigns[int(self.ad_campaign[group])], ad_group, self.ads[group]
        return None, None, None

    def ad_constants(self, salt: str, low: float, span: float, shift: int = 0) -> np.ndarray:
        """A stable per-ad constant in [low, low + span): what a platform derives its own metrics from
        (Meta's link-click ratio, a frequency), the same on every run."""
        keys = [stable_int(salt, a.id) >> shift for a in self.ads]
        return np.array([low + span * ((k % 1000) / 1000) for k in keys])


class AccountViews:
    """Views built once per account (objects do not change; statuses and budgets are read live)."""

    def __init__(self, world: World, platform: str) -> None:
        self.world, self.platform = world, platform
        self._views: dict[str, AccountView] = {}

    def get(self, account_id: str) -> AccountView:
        """The account's view; KeyError if the world has no such account (the router words the error)."""
        view = self._views.get(account_id)
        if view is None:
            account = self.world.account(self.platform, account_id)
            view = self._views[account_id] = AccountView.build(self.world, self.platform, account)
        return view

    def put(self, view: AccountView) -> AccountView:
        """Serve an account the world does not hold (a disabled one with no data)."""
        self._views[view.id] = view
        return view


@dataclass(frozen=True)
class DayBlock:
    """One account-day's delivering ads: base metrics (N_BASE, ads, width) as integers, money in cents;
    width 24 (local clock hours) or 1 (the day). ``hours`` says which columns are served."""

    day: date
    positions: np.ndarray
    values: np.ndarray
    hours: np.ndarray

    def __len__(self) -> int:
        return len(self.positions)


def day_block(
    world: World,
    platform: str,
    account: Account,
    day: date,
    as_of: datetime | None = None,
    *,
    hourly: bool = False,
    today_from_hours: bool = False,
) -> DayBlock | None:
    """The account-day as the platform reports it at ``as_of`` (None: nothing delivered or served).

    ``today_from_hours``: today's daily row is the sum of its served hours (partial, up to the current
    local hour), as Google, Microsoft and TikTok serve it; otherwise the simulator's daily figure.
    """
    if not hourly and today_from_hours and day == world.today_local(account, as_of):
        block = day_block(world, platform, account, day, as_of, hourly=True)
        if block is None:
            return None
        served = block.values[:, :, block.hours].sum(axis=2, keepdims=True)
        return DayBlock(day, block.positions, served, np.ones(1, dtype=bool))
    if hourly:
        hours = world.account_hours(platform, account.id, day, as_of)
        if hours is None:
            return None
        delivery: Any = hours
        available = hours.hours_available
    else:
        delivery = world.account_day(platform, account.id, day, as_of)
        if delivery is None or len(delivery) == 0:
            return None
        available = np.ones(1, dtype=bool)
    shape = (len(delivery.positions), -1)
    values = np.stack(
        [
            np.round(delivery.spend * 100).astype(np.int64).reshape(shape),
            np.asarray(delivery.impressions, dtype=np.int64).reshape(shape),
            np.asarray(delivery.clicks, dtype=np.int64).reshape(shape),
            np.asarray(delivery.conversions, dtype=np.int64).reshape(shape),
            np.round(delivery.conversion_value * 100).astype(np.int64).reshape(shape),
        ]
    )
    return DayBlock(day, delivery.positions, values, available)


def days(since: date, until: date) -> Iterable[date]:
    day = since
    while day <= until:
        yield day
        day += timedelta(days=1)


@dataclass
class Rollup:
    """Report rows as columns (built into records only for the page asked for): the bucket, the
    object position at the level, the local hour (-1: none) and the metric values (rows, metrics)."""

    bucket: np.ndarray
    group: np.ndarray
    hour: np.ndarray
    metrics: np.ndarray

    def __len__(self) -> int:
        return len(self.group)


def rollup(
    view: AccountView,
    level: int,
    buckets: Iterable[Iterable[DayBlock | None]],
    *,
    hourly: bool = False,
    derive: Derive | None = None,
    n_metrics: int = N_BASE,
    hour_major: bool = False,
    allowed: np.ndarray | None = None,
) -> Rollup:
    """Sum the day blocks of each bucket to ``level`` (per local hour when ``hourly``).

    Rows are kept for objects that delivered (impressions or spend) in served hours; within a bucket
    they come by object then hour, or by hour then object (``hour_major``). ``derive`` adds the
    platform's per-ad metrics before summing; ``allowed`` (per ad) filters ads out.
    """
    n_groups, width = view.n_groups(level), 24 if hourly else 1
    columns: dict[str, list[np.ndarray]] = {"bucket": [], "group": [], "hour": [], "metrics": []}
    for bucket_index, blocks in enumerate(buckets):
        totals = np.zeros((n_metrics, n_groups, width), dtype=np.int64)
        served = np.zeros(width, dtype=bool)
        for block in blocks:
            if block is None:
                continue
            positions, values = block.positions, block.values
            if allowed is not None:
                keep = allowed[positions]
                if not keep.any():
                    continue
                positions, values = positions[keep], values[:, keep]
            if derive is not None:
                values = np.concatenate([values, np.stack(list(derive(view, positions, values)))])
            groups = view.group_of(level, positions)
            for m in range(n_metrics):
                np.add.at(totals[m], groups, values[m])
            served |= block.hours
        delivering = ((totals[IMPRESSIONS] > 0) | (totals[SPEND] > 0)) & served[None, :]
        if hour_major:
            hour_index, group_index = np.nonzero(delivering.T)
        else:
            group_index, hour_index = np.nonzero(delivering)
        if len(group_index) == 0:
            continue
        columns["bucket"].append(np.full(len(group_index), bucket_index))
        columns["group"].append(group_index)
        columns["hour"].append(hour_index if hourly else np.full(len(group_index), -1))
        columns["metrics"].append(totals[:, group_index, hour_index].T)
    if not columns["bucket"]:
        empty = np.zeros(0, dtype=np.int64)
        return Rollup(empty, empty, empty, np.zeros((0, n_metrics), dtype=np.int64))
    return Rollup(*(np.concatenate(columns[name]) for name in ("bucket", "group", "hour", "metrics")))


__all__ = [
    "ACCOUNT",
    "AD",
    "AD_GROUP",
    "CAMPAIGN",
    "CLICKS",
    "CONVERSIONS",
    "IMPRESSIONS",
    "N_BASE",
    "SPEND",
    "VALUE",
    "AccountView",
    "AccountViews",
    "DayBlock",
    "Derive",
    "Rollup",
    "day_block",
    "days",
    "rollup",
]
