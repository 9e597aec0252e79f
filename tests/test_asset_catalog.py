"""What `make ui` shows: every asset described, owned, with its kinds and group; every job and schedule
described."""

from __future__ import annotations

from pipeline.definitions import defs


def test_every_asset_is_described_owned_and_typed() -> None:
    specs = list(defs.resolve_all_asset_specs())
    assert specs
    missing = {
        "description": [s.key.to_user_string() for s in specs if not (s.description or "").strip()],
        "owners": [s.key.to_user_string() for s in specs if not s.owners],
        "kinds": [s.key.to_user_string() for s in specs if not s.kinds],
        "group": [s.key.to_user_string() for s in specs if not s.group_name or s.group_name == "default"],
    }
    assert missing == {"description": [], "owners": [], "kinds": [], "group": []}


def test_owners_come_from_the_environment(monkeypatch) -> None:
    from pipeline.definitions import build_definitions

    monkeypatch.setenv("ADSIGNAL_ASSET_OWNERS", "ana@example.com, team:growth")
    specs = list(build_definitions().resolve_all_asset_specs())
    assert {tuple(s.owners) for s in specs if s.key.path == ["app", "cdp_profiles"]} == {
        ("ana@example.com", "team:growth")
    }


def test_every_schedule_is_described() -> None:
    undescribed = [
        s.name for s in defs.get_repository_def().schedule_defs if not (s.description or "").strip()
    ]
    assert undescribed == []
