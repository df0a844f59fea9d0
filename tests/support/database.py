"""Test databases: one fresh Postgres database per module (or per example), its Settings and a Dagster instance.

Settings are built the one way the package allows, `Settings.from_env(mapping)`: nothing here touches the
process environment."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
from dagster import DagsterInstance
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dagster_project.settings import Settings

AS_OF = date(2026, 11, 20)


def settings_for(url: str, home: Path, **variables: str) -> Settings:
    """The settings of a test database: its URL, a home folder, DAGSTER_HOME inside it (plus any variables).
    Data Docs are not rendered (1-2 s per check); tests/integration/test_audits.py renders them."""
    return Settings.from_env(
        {
            "COLISEUM_DATABASE_URL": url,
            "COLISEUM_HOME": str(home),
            "DAGSTER_HOME": str(home / "dagster_home"),
            "COLISEUM_DATA_DOCS": "0",
            **variables,
        }
    )


@dataclass
class TestDatabase:
    __test__ = False  # not a test class, despite its name

    url: str
    settings: Settings
    instance: DagsterInstance
    home: Path

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)

    def query(self, statement: str, params: tuple | dict | None = None) -> list[tuple]:
        with self.connect() as conn:
            return conn.execute(statement, params).fetchall()


def create_database(admin_url: str) -> str:
    name = f"coliseum_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return make_conninfo(admin_url, dbname=name)


def drop_database(admin_url: str, url: str) -> None:
    name = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
