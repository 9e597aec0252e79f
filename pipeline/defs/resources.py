"""Resources: the warehouse, the platform connectors, dbt."""

from functools import cache

import dagster as dg
from dagster_dbt import DbtProject

from pipeline.config import DBT_PROJECT_DIR
from pipeline.connections import PlatformConnection, resolve_connections
from pipeline.warehouse import db


class WarehouseResource(dg.ConfigurableResource):
    """The PostgreSQL warehouse; empty ``url`` means DATABASE_URL or the embedded server."""

    url: str = ""

    def get_url(self) -> str:
        return self.url or db.database_url()


class PlatformsResource(dg.ConfigurableResource):
    """The connections each platform syncs through (every tenant's stored ones, else the environment's,
    else the sandbox's)."""

    sandbox_url: str = ""  # empty: ADSIGNAL_SANDBOX_URL

    def connections(self, platform: str, warehouse_url: str) -> list[PlatformConnection]:
        return resolve_connections(
            platform, url=warehouse_url, sandbox_url=self.sandbox_url or None, tenant_id=None
        )


@cache
def dbt_project() -> DbtProject:
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
