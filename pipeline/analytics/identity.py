"""Deterministic identity resolution: which identifiers belong to one person. No database.

The graph: an identifier is ``(kind, value)`` with kind ``user_id``, ``anonymous_id``, ``email`` or
``phone`` (the last two as SHA-256 hashes). An event links every identifier it carries; an ``alias``
call links its ``previousId`` to its new id. A profile is a connected component, with rules a
marketer can predict:

- **A profile has at most one user id.** ``userId`` is the advertiser's own key for a person, so an
  edge that would join two profiles holding different user ids is not followed: it is reported as a
  conflict (a shared device, a shared family email) and each side keeps its identifiers. Edges are
  applied in event time, so the earlier claim wins and the outcome does not depend on file order.
- **Canonical ids are stable.** A new profile's id is derived from its first identifier (so a rerun
  gives the same ids); when profiles merge, the oldest (first seen, then id) keeps its id and the others
  are recorded as merged into it, never reused.
- **Incremental.** ``resolve`` takes the current assignments of only the identifiers the new events
  mention (the store reads exactly those) and returns what changes: new assignments, new profiles,
  merges. A day's events cost the day, not the history; resolving in daily steps gives the same
  profiles as resolving everything at once (a test holds it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

Identifier = tuple[str, str]  # (kind, value)
KINDS = ("user_id", "anonymous_id", "email", "phone")


@dataclass(frozen=True)
class Sighting:
    """The identifiers one event carries, and when it happened."""

    at: datetime
    identifiers: tuple[Identifier, ...]


@dataclass(frozen=True)
class Profile:
    canonical_id: str
    first_seen: datetime


@dataclass
class Resolution:
    assignments: dict[Identifier, str] = field(
        default_factory=dict
    )  # identifier -> canonical id (changed or new)
    new_profiles: dict[str, datetime] = field(default_factory=dict)  # canonical id -> first seen
    merges: list[tuple[str, str, datetime]] = field(default_factory=list)  # (merged id, into id, at)
    conflicts: list[tuple[Identifier, Identifier, datetime]] = field(default_factory=list)
    last_seen: dict[str, datetime] = field(default_factory=dict)  # canonical id -> latest event


def canonical_id_for(tenant_id: str, first: Identifier) -> str:
    digest = hashlib.sha256(f"{tenant_id}\x1f{first[0]}\x1f{first[1]}".encode()).hexdigest()
    return "prof_" + digest[:20]


def sightings_of(
    *,
    at: datetime,
    user_id: str | None,
    anonymous_id: str | None,
    email_sha256: str | None,
    phone_sha256: str | None,
    previous_id: str | None = None,
) -> Sighting:
    """An event's identifiers; an alias's previousId is a user id if it looks like the new one's kind."""
    ids: list[Identifier] = []
    if user_id:
        ids.append(("user_id", user_id))
    if anonymous_id:
        ids.append(("anonymous_id", anonymous_id))
    if email_sha256:
        ids.append(("email", email_sha256))
    if phone_sha256:
        ids.append(("phone", phone_sha256))
    if previous_id:
        # Segment: alias(previousId -> userId); the previous id is usually the anonymous id it came from.
        ids.append(("anonymous_id", previous_id))
    return Sighting(at, tuple(dict.fromkeys(ids)))


class _Components:
    """Union-find over profiles, each root holding its user id (at most one) and first-seen time."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.user: dict[str, Identifier | None] = {}
        self.first: dict[str, datetime] = {}

    def add(self, node: str, first: datetime, user: Identifier | None) -> None:
        if node not in self.parent:
            self.parent[node] = node
            self.first[node] = first
            self.user[node] = user

    def root(self, node: str) -> str:
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def union(self, a: str, b: str) -> tuple[str, str] | None:
        """Join; returns (kept, merged) roots, or None when they hold different user ids (a conflict)."""
        ra, rb = self.root(a), self.root(b)
        if ra == rb:
            return (ra, ra)
        ua, ub = self.user[ra], self.user[rb]
        if ua and ub and ua != ub:
            return None
        kept, merged = sorted((ra, rb), key=lambda r: (self.first[r], r))
        self.parent[merged] = kept
        self.user[kept] = ua or ub
        return kept, merged


def resolve(
    tenant_id: str,
    sightings: Iterable[Sighting],
    known: Mapping[Identifier, str],
    profiles: Mapping[str, Profile],
    profile_users: Mapping[str, Identifier | None],
) -> Resolution:
    """Fold new sightings into the known graph.

    ``known``: current canonical id of every identifier the sightings mention (others are new);
    ``profiles``: those canonical ids' profiles; ``profile_users``: each one's user id, if any.
    """
    result = Resolution()
    components = _Components()
    for canonical, profile in profiles.items():
        components.add(canonical, profile.first_seen, profile_users.get(canonical))
    owner: dict[Identifier, str] = dict(known)  # identifier -> a node of the components
    merged_at: dict[str, datetime] = {}  # a node that stopped being a root -> when
    seen: dict[str, datetime] = {}  # node -> latest sighting through it
    for sighting in sorted(sightings, key=lambda s: (s.at, s.identifiers)):
        if not sighting.identifiers:
            continue
        nodes = []
        for identifier in sighting.identifiers:
            node = owner.get(identifier)
            if node is None:
                node = canonical_id_for(tenant_id, identifier)
                components.add(node, sighting.at, identifier if identifier[0] == "user_id" else None)
                owner[identifier] = node
            nodes.append(node)
        anchor = nodes[0]
        for identifier, node in zip(sighting.identifiers[1:], nodes[1:], strict=True):
            joined = components.union(anchor, node)
            if joined is None:
                result.conflicts.append((sighting.identifiers[0], identifier, sighting.at))
            elif joined[0] != joined[1]:
                merged_at[joined[1]] = sighting.at
        for node in nodes:
            seen[node] = max(seen.get(node, sighting.at), sighting.at)

    # Every identifier points at its component's root: the oldest profile of the component.
    for identifier, node in owner.items():
        root = components.root(node)
        if known.get(identifier) != root:
            result.assignments[identifier] = root
    for node, first in components.first.items():
        root = components.root(node)
        if node == root and node not in profiles:
            result.new_profiles[node] = first
        elif node != root and node in profiles:
            result.merges.append(
                (node, root, merged_at[node])
            )  # a profile born and merged here never existed
    for node, at in seen.items():
        root = components.root(node)
        result.last_seen[root] = max(result.last_seen.get(root, at), at)
    return result
