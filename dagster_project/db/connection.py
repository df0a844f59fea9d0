"""Connections: the embedded Postgres (pgserver) by default, or the server the settings name."""

from __future__ import annotations

import fcntl
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
    import pgserver

from dagster_project.settings import Settings


def database_url(settings: Settings) -> str:
    """The URL to use; starts the embedded server on first use (it keeps running for later commands)."""
    if settings.database_url:
        return settings.database_url
    return _embedded_url(str(settings.pgdata))


@cache
def _embedded_url(pgdata: str) -> str:
    return start_embedded(Path(pgdata)).get_uri()


def start_embedded(pgdata: Path, stop_at_exit: bool = False) -> pgserver.PostgresServer:
    """Start (or reuse) the embedded server on `pgdata`, tuned for this workload. One process at a time: on a
    new machine pgserver's first start creates its system user, and two starting together race on `useradd`."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with open(Path(tempfile.gettempdir()) / "coliseum-pgserver.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        server = pgserver.get_server(pgdata, cleanup_mode="stop" if stop_at_exit else None)
    _tune_embedded(server.get_uri())
    return server


@dataclass(frozen=True)
class EmbeddedStatus:
    pgdata: Path
    pid: int | None  # None: not running
    url: str | None


def embedded_status(pgdata: Path) -> EmbeddedStatus:
    """Whether the embedded server on `pgdata` runs (read from postmaster.pid; never starts it)."""
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return EmbeddedStatus(pgdata, None, None)
    return EmbeddedStatus(pgdata, info.pid, info.get_uri())


def stop_embedded(pgdata: Path) -> bool:
    """Stop the embedded server on `pgdata` (fast shutdown: open sessions end); False when it was not running."""
    if embedded_status(pgdata).pid is None:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pgserver.get_server(pgdata, cleanup_mode="stop").cleanup()  # the last handle stops the server
    return True


# The embedded server's settings for this workload (a server named by COLISEUM_DATABASE_URL keeps its DBA's):
# JIT compiles every large-estimate query for longer than the query runs here (bench/README.md), and
# 4 MB of work_mem sends the full rebuild's sorts and hashes to disk.
EMBEDDED_SETTINGS = {"jit": "off", "work_mem": "64MB", "maintenance_work_mem": "256MB"}


def _tune_embedded(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        current = dict(
            conn.execute(
                "select name, setting || coalesce(unit, '') from pg_settings where name = any(%s)",
                [list(EMBEDDED_SETTINGS)],
            ).fetchall()
        )
        if any(_normalized(current.get(name)) != _normalized(value) for name, value in EMBEDDED_SETTINGS.items()):
            for name, value in EMBEDDED_SETTINGS.items():
                conn.execute(sql.SQL("alter system set {} = {}").format(sql.Identifier(name), sql.Literal(value)))
            conn.execute("select pg_reload_conf()")


def _normalized(value: str | None) -> str | None:
    """'64MB', '65536kB' and '8192' x 8kB pages compare by bytes; other settings as text."""
    if value is None:
        return None
    units = {"kB": 1024, "MB": 1024**2, "GB": 1024**3, "8kB": 8192}
    for unit in sorted(units, key=len, reverse=True):
        if value.endswith(unit) and value[: -len(unit)].isdigit():
            return str(int(value[: -len(unit)]) * units[unit])
    return value


@contextmanager
def connect(url: str, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url, autocommit=autocommit) as conn:
        yield conn


def dbt_env(url: str, settings: Settings) -> dict[str, str]:
    """The variables `dbt/profiles.yml` and the sources read, derived from one URL so dbt and Python agree."""
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


def run(conn: psycopg.Connection, settings: Settings, query: str, params: object = None) -> psycopg.Cursor:
    """Execute `query` with `{build}`, `{source}` and `{publish}` as the settings' schemas (identifiers are
    composed, values always travel as parameters)."""
    schemas = {
        "build": sql.Identifier(settings.build_schema),
        "source": sql.Identifier(settings.source_schema),
        "publish": sql.Identifier(settings.publish_schema),
    }
    return conn.execute(sql.SQL(query).format(**schemas), params)
