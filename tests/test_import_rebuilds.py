"""An import whose rebuild failed is never recorded as a success: ``adsignal import`` and the folder
sensor's path both write the rebuild's outcome to raw.file_imports, and the command exits non-zero
saying what failed. Real Dagster runs, real dbt, a real PostgreSQL role that may not write the marts."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from click.testing import CliRunner
from psycopg.conninfo import conninfo_to_dict

from pipeline import config
from pipeline.cli import main
from pipeline.definitions import defs
from pipeline.defs.imports import (
    DAILY_JOB_NAME,
    REBUILD_OF_IMPORT_RUN_TAG,
    csv_imports,
    csv_rebuild_failed,
    csv_rebuild_sensor,
    csv_rebuild_succeeded,
)
from pipeline.defs.partitions import range_tags
from pipeline.defs.resources import WarehouseResource
from pipeline.imports import import_file
from pipeline.sandbox.sample_import import HEADER
from pipeline.warehouse import db
from pipeline.warehouse.access_store import ensure_tenant_role

# Days with daily partitions on any date from now on; the validator's "not in the future" holds too.
FIRST_DAY = date(2026, 5, 1)


def write_file(path: Path, days: int = 2, account_id: str = "508") -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for offset in range(days):
            day = (FIRST_DAY + timedelta(days=offset)).isoformat()
            writer.writerow(
                [day, "linkedin", account_id, "Acme", "EUR", "Europe/Berlin", "c1", "Lead gen", "g1", "a1",
                 "Ad", "10.00", "1000", "12", "1", "50.00"]
            )  # fmt: skip
    return path


@pytest.fixture
def imports_url(database_factory: Callable[[str], str]) -> str:
    return database_factory("rebuilds")


def statuses(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select file_name, status, rebuild_error is not null, rebuild_run_id is not null"
            " from raw.file_imports order by import_id"
        ).fetchall()


# --- the command ------------------------------------------------------------------------------


@pytest.fixture
def importer_url(imports_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """The command run as a role that owns the raw schema but may not create anything dbt builds."""
    role = f"adsignal_importer_{os.getpid()}"
    with psycopg.connect(imports_url, autocommit=True) as conn:
        conn.execute(f'drop role if exists "{role}"')
        conn.execute(f'create role "{role}" login')
        dbname = conn.execute("select current_database()").fetchone()[0]
        conn.execute(f'grant connect, create on database "{dbname}" to "{role}"')
        conn.execute(f'alter schema raw owner to "{role}"')
        for (table,) in conn.execute("select tablename from pg_tables where schemaname = 'raw'").fetchall():
            conn.execute(f'alter table raw."{table}" owner to "{role}"')
        conn.execute(f'grant select on public.alembic_version to "{role}"')
        # An import names its tenant: the importer must see it (app.tenants has row-level security).
        conn.execute(f'grant usage on schema app to "{role}"')
        conn.execute(f'grant select on app.tenants to "{role}"')
        conn.execute(f'grant "{ensure_tenant_role(conn, "default")}" to "{role}"')
        for schema in ("staging", "intermediate", "marts", "analyst"):  # dbt's, owned by someone else
            conn.execute(f'create schema if not exists "{schema}"')
    params = conninfo_to_dict(imports_url) | {"user": role}
    monkeypatch.setenv("DATABASE_URL", db.to_url(params))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    for cached in (config.settings, db.database_url):
        cached.cache_clear()
    yield db.to_url(params)
    for cached in (config.settings, db.database_url):
        cached.cache_clear()
    with psycopg.connect(imports_url, autocommit=True) as conn:
        conn.execute(f'reassign owned by "{role}" to current_user')
        conn.execute(f'drop owned by "{role}"')
        conn.execute(f'drop role "{role}"')


def test_a_failed_rebuild_fails_the_command_and_is_recorded(
    importer_url: str, imports_url: str, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "linkedin.csv")
    result = CliRunner().invoke(main, ["import", str(path)])

    assert result.exit_code == 1, result.output
    assert "2 rows loaded" in result.output
    [failed] = [line for line in result.output.splitlines() if line.startswith("Rebuild of the marts")]
    assert failed.startswith(f"Rebuild of the marts for {FIRST_DAY}..{FIRST_DAY + timedelta(days=1)} FAILED")
    assert "permission denied for schema staging" in failed  # dbt's own reason, not just "failed"
    assert "raw.file_imports: rebuild_failed" in result.output
    [(name, status, has_error, has_run)] = statuses(imports_url)
    assert (name, status, has_error, has_run) == ("linkedin.csv", "rebuild_failed", True, True)
    with psycopg.connect(imports_url) as conn:
        (error,) = conn.execute("select rebuild_error from raw.file_imports").fetchone()
        assert "Database Error in model stg_csv__" in error and "permission denied" in error
        assert conn.execute("select count(*) from raw.csv_ad_performance_daily").fetchone() == (2,)


# --- the folder sensor's path --------------------------------------------------------------------


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


def run_with_tag(instance: dg.DagsterInstance, fail: bool, import_run_id: str) -> dg.DagsterRun:
    """A real run tagged as the rebuild after an import (an op stands in for dbt)."""

    @dg.op(name="dbt_models")
    def build() -> None:
        if fail:
            raise RuntimeError("relation staging.stg_x does not exist")

    job = dg.GraphDefinition(name="daily_pipeline", node_defs=[build]).to_job()
    result = job.execute_in_process(
        instance=instance, tags={REBUILD_OF_IMPORT_RUN_TAG: import_run_id}, raise_on_error=False
    )
    run = instance.get_run_by_id(result.run_id)
    assert run is not None and result.success is not fail
    return run


def status_context(instance: dg.DagsterInstance, run: dg.DagsterRun, url: str, name: str):
    kind = dg.DagsterEventType.RUN_FAILURE if run.is_failure else dg.DagsterEventType.RUN_SUCCESS
    [event] = instance.all_logs(run.run_id, of_type=kind)
    return dg.build_run_status_sensor_context(
        sensor_name=name,
        dagster_event=event.dagster_event,
        dagster_instance=instance,
        dagster_run=run,
        resources={"warehouse": WarehouseResource(url=url)},
    )


def test_the_folder_rebuilds_outcome_reaches_file_imports(
    imports_url: str, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    import_file(imports_url, write_file(tmp_path / "a.csv"), run_id="import-a")
    import_file(imports_url, write_file(tmp_path / "b.csv", account_id="509"), run_id="import-b")
    import_file(imports_url, write_file(tmp_path / "c.csv", account_id="510"), run_id="import-c")

    failed = run_with_tag(instance, fail=True, import_run_id="import-a")
    csv_rebuild_failed(status_context(instance, failed, imports_url, "csv_rebuild_failed").for_run_failure())
    succeeded = run_with_tag(instance, fail=False, import_run_id="import-b")
    csv_rebuild_succeeded(status_context(instance, succeeded, imports_url, "csv_rebuild_succeeded"))

    assert statuses(imports_url) == [
        ("a.csv", "rebuild_failed", True, True),
        ("b.csv", "rebuilt", False, True),
        ("c.csv", "loaded", False, False),  # its rebuild has not finished
    ]
    with psycopg.connect(imports_url) as conn:
        (error,) = conn.execute(
            "select rebuild_error from raw.file_imports where run_id = 'import-a'"
        ).fetchone()
    assert "step dbt_models" in error and "relation staging.stg_x does not exist" in error


def test_a_folder_with_a_bad_file_still_rebuilds_the_good_ones(
    imports_url: str, instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    write_file(drop / "good.csv")
    (drop / "broken.csv").write_text("no,header\n")
    monkeypatch.setenv("ADSIGNAL_IMPORT_DIR", str(drop))
    config.settings.cache_clear()
    try:
        result = dg.materialize(
            [csv_imports],
            instance=instance,
            resources={"warehouse": WarehouseResource(url=imports_url)},
            raise_on_error=False,
        )
    finally:
        config.settings.cache_clear()

    assert not result.success  # the run says a file failed ...
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "broken.csv" in failure.step_failure_data.error.message
    # ... and the good file's days are materialized, so the rebuild sensor asks for them.
    context = dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def())
    request = csv_rebuild_sensor.evaluate_tick(context).run_requests[0]
    assert request.tags[REBUILD_OF_IMPORT_RUN_TAG] == result.run_id
    assert request.tags["dagster/asset_partition_range_start"] == FIRST_DAY.isoformat()
    assert [row[:2] for row in statuses(imports_url)] == [("broken.csv", "rejected"), ("good.csv", "loaded")]


@pytest.mark.parametrize("covered", [True, False])
def test_an_import_inside_a_daily_run_over_its_days_is_not_rebuilt_again(
    imports_url: str,
    instance: dg.DagsterInstance,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    covered: bool,
) -> None:
    """The demo imports its sample export inside its daily run; when `make ui` first starts the rebuild
    sensor it sees that import, and must not start a daily run the import's own run already did."""
    drop = tmp_path / "drop"
    drop.mkdir()
    write_file(drop / "sample.csv", days=2)  # FIRST_DAY and the day after
    monkeypatch.setenv("ADSIGNAL_IMPORT_DIR", str(drop))
    config.settings.cache_clear()
    last = FIRST_DAY + timedelta(days=1 if covered else 0)
    daily = dg.Definitions(
        assets=[csv_imports],
        jobs=[dg.define_asset_job(DAILY_JOB_NAME, selection=[csv_imports])],
        resources={"warehouse": WarehouseResource(url=imports_url)},
    ).resolve_job_def(DAILY_JOB_NAME)
    try:
        run = daily.execute_in_process(instance=instance, tags=range_tags(FIRST_DAY, last))
    finally:
        config.settings.cache_clear()
    assert run.success

    context = dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def())
    tick = csv_rebuild_sensor.evaluate_tick(context)

    if covered:
        assert tick.run_requests == [] and "builds 2026-05-01..2026-05-02" in (tick.skip_message or "")
    else:  # the run covered only the first day: the second still needs its rebuild
        (request,) = tick.run_requests
        assert request.tags[REBUILD_OF_IMPORT_RUN_TAG] == run.run_id
