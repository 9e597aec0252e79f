"""Resources: the warehouse, the platform connectors, dbt."""

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
    """Opens a connector per platform with the configured credentials, else the sandbox's."""

    sandbox_url: str = ""  # empty: ADSIGNAL_SANDBOX_URL

    def open(self, platform: str) -> Connector:
        return open_connector(platform, sandbox_url=self.sandbox_url or None)


@cache
def dbt_project() -> DbtProject:
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
