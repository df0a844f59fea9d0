"""Dagster resources: the Postgres the pipeline reads and writes, and dbt pointed at the same database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource

from dagster_project.database import connect, export_dbt_env, resolve_database_url
from dagster_project.dbt_project import coliseum_dbt


class PostgresResource(ConfigurableResource):
    """Empty database_url: the settings decide (COLISEUM_DATABASE_URL, else the embedded server)."""

    database_url: str = ""

    def url(self) -> str:
        return self.database_url or resolve_database_url()

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        with connect(self.url()) as conn:
            yield conn

    def export_dbt_env(self) -> None:
        export_dbt_env(self.url())


def build_resources() -> dict[str, object]:
    return {
        "postgres": PostgresResource(),
        "dbt": DbtCliResource(project_dir=coliseum_dbt),
    }
