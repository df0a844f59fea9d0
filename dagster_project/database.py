"""Connections: the embedded Postgres (pgserver) by default, or the server COLISEUM_DATABASE_URL names."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict

from dagster_project.settings import Settings, get_settings


def resolve_database_url(settings: Settings | None = None) -> str:
    """The URL to use; starts the embedded server on first use (it keeps running for later commands)."""
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    settings.pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pgserver  # lazily: nothing starts Postgres at import time

        return pgserver.get_server(settings.pgdata, cleanup_mode=None).get_uri()


@contextmanager
def connect(url: str | None = None, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url or resolve_database_url(), autocommit=autocommit) as conn:
        yield conn


def dbt_env(url: str, settings: Settings | None = None) -> dict[str, str]:
    """The environment `dbt/profiles.yml` reads, derived from one URL so dbt and Python agree."""
    settings = settings or get_settings()
    parts = conninfo_to_dict(url)
    return {
        "COLISEUM_PGHOST": str(parts.get("host") or "localhost"),
        "COLISEUM_PGPORT": str(parts.get("port") or 5432),
        "COLISEUM_PGUSER": str(parts.get("user") or "postgres"),
        "COLISEUM_PGPASSWORD": str(parts.get("password") or ""),
        "COLISEUM_PGDATABASE": str(parts.get("dbname") or "postgres"),
        "COLISEUM_PGSSLMODE": str(parts.get("sslmode") or "prefer"),
        "COLISEUM_SOURCE_SCHEMA": settings.source_schema,
        "COLISEUM_BUILD_SCHEMA": settings.build_schema,
    }


def export_dbt_env(url: str) -> None:
    """dbt runs as a subprocess of this one; it inherits the connection through the environment."""
    os.environ.update(dbt_env(url))
