"""Identity resolution against a ground-truth identity graph: exact profiles, stable ids, daily steps
equal one pass, conflicting user ids never merge."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.analytics.identity import Identifier, Profile, Resolution, Sighting, resolve, sightings_of

START = datetime(2026, 3, 1, tzinfo=UTC)


def world(seed: int, people: int = 300, days: int = 30) -> tuple[list[Sighting], dict[Identifier, int]]:
    """People with 1-3 devices (anonymous ids), most with an email, some a phone, many a user id; they
    browse anonymously, then some identify on one or more devices, some alias. Returns the sightings and
    every identifier's true person."""
    rng = random.Random(seed)
    truth: dict[Identifier, int] = {}
    sightings: list[Sighting] = []
    for person in range(people):
        user = f"user-{seed}-{person}" if rng.random() < 0.7 else None
        email = f"email-{seed}-{person}" if rng.random() < 0.8 else None
        phone = f"phone-{seed}-{person}" if rng.random() < 0.3 else None
        # Without any known identifier two devices cannot be told to be one person: such people have one.
        known = user or email or phone
        devices = [f"anon-{seed}-{person}-{d}" for d in range(rng.randint(1, 3) if known else 1)]
        for device in devices:
            truth[("anonymous_id", device)] = person
            for _ in range(rng.randint(1, 6)):
                at = START + timedelta(days=rng.randrange(days), seconds=rng.randrange(86_400))
                sightings.append(
                    sightings_of(
                        at=at, user_id=None, anonymous_id=device, email_sha256=None, phone_sha256=None
                    )
                )
            # Each device is tied to the person at least once, by an identify or an alias.
            at = START + timedelta(days=rng.randrange(days), seconds=rng.randrange(86_400))
            if user and rng.random() < 0.2:
                sightings.append(sightings_of(at=at, user_id=user, anonymous_id=None, email_sha256=None, phone_sha256=None, previous_id=device))  # fmt: skip
            elif known:
                shown_phone = phone if (rng.random() < 0.5 or not (user or email)) else None
                sightings.append(sightings_of(at=at, user_id=user, anonymous_id=device, email_sha256=email, phone_sha256=shown_phone))  # fmt: skip
        for kind, value in (("user_id", user), ("email", email), ("phone", phone)):
            if value:
                truth[(kind, value)] = person
    rng.shuffle(sightings)
    sighted = {i for s in sightings for i in s.identifiers}
    return sightings, {i: p for i, p in truth.items() if i in sighted}  # an identifier never sent is unknown


class Store:
    """What the warehouse store does with a resolution, in memory."""

    def __init__(self) -> None:
        self.owner: dict[Identifier, str] = {}
        self.profiles: dict[str, Profile] = {}
        self.merged_into: dict[str, str] = {}

    def step(self, tenant: str, sightings: list[Sighting]) -> Resolution:
        mentioned = {i for s in sightings for i in s.identifiers}
        known = {i: self.owner[i] for i in mentioned if i in self.owner}
        live = {c: self.profiles[c] for c in set(known.values())}
        users = {
            c: next((i for i, o in self.owner.items() if o == c and i[0] == "user_id"), None) for c in live
        }
        result = resolve(tenant, sightings, known, live, users)
        for canonical, first in result.new_profiles.items():
            self.profiles[canonical] = Profile(canonical, first)
        for merged, into, _at in result.merges:
            self.merged_into[merged] = into
            self.profiles.pop(merged)
            for identifier, owner in list(self.owner.items()):  # the store repoints every identifier
                if owner == merged:
                    self.owner[identifier] = into
        self.owner.update(result.assignments)
        return result

    def partition(self) -> set[frozenset[Identifier]]:
        groups: dict[str, set[Identifier]] = defaultdict(set)
        for identifier, owner in self.owner.items():
            groups[owner].add(identifier)
        return {frozenset(g) for g in groups.values()}


def true_partition(truth: dict[Identifier, int]) -> set[frozenset[Identifier]]:
    groups: dict[int, set[Identifier]] = defaultdict(set)
    for identifier, person in truth.items():
        groups[person].add(identifier)
    return {frozenset(g) for g in groups.values()}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_profiles_equal_the_true_people(seed: int) -> None:
    sightings, truth = world(seed)
    store = Store()
    store.step("t", sightings)
    assert store.partition() == true_partition(truth)
    assert set(store.profiles) == set(store.owner.values())


@pytest.mark.parametrize("seed", [4, 5])
def test_daily_steps_give_the_same_profiles_and_ids_as_one_pass(seed: int) -> None:
    sightings, truth = world(seed)
    whole = Store()
    whole.step("t", sightings)
    daily = Store()
    for day in range(30):
        first = START + timedelta(days=day)
        daily.step("t", [s for s in sightings if first <= s.at < first + timedelta(days=1)])
    assert daily.partition() == true_partition(truth)
    assert daily.owner == whole.owner  # the same canonical ids, not only the same groups
    assert daily.merged_into.keys() <= set(daily.owner.values()) | set(daily.merged_into)


def test_a_merge_keeps_the_oldest_profile_and_records_the_other() -> None:
    store = Store()
    a = sightings_of(at=START, user_id=None, anonymous_id="a", email_sha256=None, phone_sha256=None)
    b = sightings_of(
        at=START + timedelta(hours=1), user_id=None, anonymous_id="b", email_sha256="e", phone_sha256=None
    )
    store.step("t", [a])
    store.step("t", [b])
    older, newer = store.owner[("anonymous_id", "a")], store.owner[("anonymous_id", "b")]
    joined = store.step("t", [sightings_of(at=START + timedelta(hours=2), user_id=None, anonymous_id="a", email_sha256="e", phone_sha256=None)])  # fmt: skip
    assert joined.merges == [(newer, older, START + timedelta(hours=2))]
    assert set(store.owner.values()) == {older}


def test_two_user_ids_never_merge_the_earlier_claim_wins() -> None:
    """A shared tablet: u1 logs in on it, later u2 does; the tablet stays with u1 and u2 stays apart."""
    store = Store()
    first = sightings_of(at=START, user_id="u1", anonymous_id="tablet", email_sha256=None, phone_sha256=None)
    second = sightings_of(at=START + timedelta(days=1), user_id="u2", anonymous_id="tablet", email_sha256=None, phone_sha256=None)  # fmt: skip
    result = store.step("t", [second, first])  # file order does not matter: event time does
    assert store.owner[("anonymous_id", "tablet")] == store.owner[("user_id", "u1")]
    assert store.owner[("user_id", "u2")] != store.owner[("user_id", "u1")]
    assert result.conflicts == [(("user_id", "u2"), ("anonymous_id", "tablet"), START + timedelta(days=1))]


def test_ids_are_stable_across_reruns_and_distinct_across_tenants() -> None:
    sightings, _ = world(9, people=20)
    one, two, other = Store(), Store(), Store()
    one.step("acme", sightings)
    two.step("acme", list(reversed(sightings)))
    other.step("globex", sightings)
    assert one.owner == two.owner
    assert set(one.owner.values()).isdisjoint(other.owner.values())
