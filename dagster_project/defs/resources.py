"""Dagster resources: the settings and the database they name, and dbt pointed at the same database.

The settings are built once at the edge (CLI, code-location load) and travel as this resource's config, so a
run, a check or a sensor reads the values the code location was loaded with, never the environment again."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

import psycopg
from dagster import ConfigurableResource, InitResourceContext
from dagster_dbt import DbtCliInvocation, DbtCliResource
from pydantic import Field

from dagster_project.db.connection import connect, database_url, dbt_env
from dagster_project.db.migrations import migrate
from dagster_project.settings import BIN_DIR, DBT_PROJECT_DIR, Settings, environment


@cache
def _parse(items: tuple[tuple[str, str], ...]) -> Settings:
    return Settings.from_env(dict(items))


class ColiseumResource(ConfigurableResource):
    """Settings (as the variables that rebuild them) and connections to the database they name."""

    variables: dict[str, str] = Field(description="The COLISEUM_* settings this code location was loaded with.")

    @classmethod
    def from_settings(cls, settings: Settings) -> ColiseumResource:
        return cls(variables=settings.as_env())

    @property
    def settings(self) -> Settings:
        return _parse(tuple(sorted(self.variables.items())))

    def url(self) -> str:
        return database_url(self.settings)

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        with connect(self.url()) as conn:
            yield conn

    def dbt_env(self) -> dict[str, str]:
        return dbt_env(self.url(), self.settings)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # Every run starts on a current schema (one SELECT once it is); sensors (no run) never migrate.
        if context.dagster_run is not None:
            with self.connect() as conn:
                migrate(conn, self.settings)


class ColiseumDbtResource(DbtCliResource):
    """dbt on the database of `coliseum`: the connection travels through this resource."""

    coliseum: ColiseumResource

    def cli(self, args: Sequence[str], **kwargs: Any) -> DbtCliInvocation:
        # dagster-dbt builds the subprocess environment (and its in-process adapter) from the process environment.
        with environment(self.coliseum.dbt_env()):
            return super().cli(args, **kwargs)


def build_resources(settings: Settings) -> Mapping[str, object]:
    coliseum = ColiseumResource.from_settings(settings)
    return {
        "coliseum": coliseum,
        "dbt": ColiseumDbtResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            dbt_executable=str(BIN_DIR / "dbt"),
            coliseum=coliseum,
        ),
    }
