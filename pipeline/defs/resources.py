"""Resources: the warehouse, the platform connectors, dbt."""

from __future__ import annotations

from functools import cache

import dagster as dg
from dagster_dbt import DbtProject

from pipeline.config import DBT_PROJECT_DIR
from pipeline.connections import open_connector
from pipeline.connectors.base import Connector
from pipeline.warehouse import db


class WarehouseResource(dg.ConfigurableResource):
    """The PostgreSQL warehouse; empty ``url`` means DATABASE_URL or the embedded server."""

    url: str = ""

    def get_url(self) -> str:
        return self.url or db.database_url()


class PlatformsResource(dg.ConfigurableResource):
    """Opens a connector per platform with the configured (or sandbox) credentials."""

    meta_poll_interval_seconds: float = 2.0

    def open(self, platform: str) -> Connector:
        options: dict[str, object] = {}
        if platform == "meta":
            options["poll_interval"] = self.meta_poll_interval_seconds
        return open_connector(platform, **options)


@cache
def dbt_project() -> DbtProject:
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
