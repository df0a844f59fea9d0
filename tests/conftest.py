"""Test fixtures: a real Postgres (embedded, or the server COLISEUM_DATABASE_URL names), one fresh
database per module, the real dbt manifest, and real Dagster runs on an ephemeral instance."""

from __future__ import annotations

import fcntl
import os
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
import pytest
from dagster import DagsterInstance
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dagster_project.dbt_project import ensure_manifest
from dagster_project.settings import DBT_PROJECT_DIR, Settings, get_settings


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> Path:
    # pytest-xdist workers share dbt/target: one parses, the others wait and read its manifest.
    with open(DBT_PROJECT_DIR / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return ensure_manifest()


@pytest.fixture(scope="session")
def admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("COLISEUM_DATABASE_URL")
    if configured:
        yield configured
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


@dataclass
class TestDatabase:
    url: str
    settings: Settings
    instance: DagsterInstance
    home: Path

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)

    def query(self, statement: str, params: tuple | dict | None = None) -> list[tuple]:
        with self.connect() as conn:
            return conn.execute(statement, params).fetchall()


def _create_database(admin_url: str) -> str:
    name = f"coliseum_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return make_conninfo(admin_url, dbname=name)


def _drop_database(admin_url: str, url: str) -> None:
    name = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def database(admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    """A fresh database with the sources created; the environment points every component at it."""
    from dagster_project.sources import init_db

    url = _create_database(admin_url)
    home = tmp_path_factory.mktemp("coliseum_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLISEUM_DATABASE_URL", url)
        mp.setenv("COLISEUM_HOME", str(home))
        mp.setenv("DAGSTER_HOME", str(home / "dagster_home"))
        settings = get_settings()
        init_db(url, settings)
        with DagsterInstance.ephemeral() as instance:
            yield TestDatabase(url, settings, instance, home)
    _drop_database(admin_url, url)


AS_OF = date(2026, 11, 20)
