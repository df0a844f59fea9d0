"""Small helpers shared by the tests: inserting hand-made entries and reading relations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import psycopg
from dbt.cli.main import dbtRunner

from dagster_project.db.connection import dbt_env
from dagster_project.defs.dbt.project import coliseum_dbt
from dagster_project.defs.dbt.vars import run_environment
from dagster_project.settings import Settings, environment

COLISEUM = str(Path(sys.executable).parent / "coliseum")


def quiet(*_args) -> None:
    """A `log` for run_pipeline / execute_plan that prints nothing."""


def cli_env(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a `coliseum` subprocess: the real edge, where the settings are read again."""
    return {**os.environ, **settings.as_env(), **(extra or {})}


def run_cli(
    settings: Settings, *args: str, timeout: int = 600, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`coliseum *args` with these settings (and `extra` variables, e.g. a bad value to be reported)."""
    return subprocess.run(
        [COLISEUM, *args], env=cli_env(settings, extra), capture_output=True, text=True, timeout=timeout
    )


def new_id() -> str:
    return str(uuid.uuid4())


def insert_entry(
    conn: psycopg.Connection,
    *,
    user_id: str,
    event_type: str,
    created_at: datetime,
    artist_id: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    metadata: dict | None = None,
    entry_id: str | None = None,
    event_category: str | None = None,
) -> str:
    """Insert one passport entry; artist-scored events name the artist in metadata unless entity_type=artist."""
    entry_id = entry_id or new_id()
    meta = dict(metadata or {})
    if artist_id and entity_type != "artist":
        meta.setdefault("artist_id", artist_id)
    category = event_category or (event_type.split(".", 1)[0] if "." in event_type else "social")
    conn.execute(
        "insert into public.passport_entries (id, user_id, event_type, event_category, entity_type, entity_id, "
        "metadata, created_at) values (%s, %s, %s, %s, %s, %s, %s::jsonb, %s)",
        (entry_id, user_id, event_type, category, entity_type, entity_id, json.dumps(meta), created_at),
    )
    return entry_id


def insert_profile(conn: psycopg.Connection, artist_id: str, name: str) -> None:
    conn.execute(
        "insert into public.artist_profiles (id, user_id, artist_name) values (%s, %s, %s)",
        (artist_id, new_id(), name),
    )


def follow(conn: psycopg.Connection, artist_id: str, user_id: str, at: datetime, unfollow: bool = False) -> str:
    return insert_entry(
        conn,
        user_id=user_id,
        event_type="artist_unfollow" if unfollow else "artist_follow",
        created_at=at,
        entity_type="artist",
        entity_id=artist_id,
        artist_id=artist_id,
    )


def table_rows(conn: psycopg.Connection, relation: str, order_by: str, exclude: tuple[str, ...] = ()) -> list[tuple]:
    columns = [
        row[0]
        for row in conn.execute(
            "select attname from pg_attribute where attrelid = %s::regclass and attnum > 0 and not attisdropped "
            "order by attnum",
            (relation,),
        )
        if row[0] not in exclude
    ]
    select = ", ".join(f'"{c}"' for c in columns)
    return conn.execute(f"select {select} from {relation} order by {order_by}").fetchall()


def dict_rows(conn: psycopg.Connection, statement: str, params: tuple | dict = ()) -> list[dict]:
    cur = conn.execute(statement, params)
    return [dict(zip([c.name for c in cur.description], row, strict=True)) for row in cur.fetchall()]


def dbt_test(database, select: str, run_values: dict, target: Path) -> list:
    """`dbt test` of a selection, as the assets run it; returns its results (status, failures, node)."""
    # dbt in-process reads the process environment
    with environment({**dbt_env(database.url, database.settings), **run_environment(run_values)}):
        result = dbtRunner().invoke(
            [
                "test",
                "--select",
                select,
                "--project-dir",
                str(coliseum_dbt.project_dir),
                "--profiles-dir",
                str(coliseum_dbt.profiles_dir),
                "--target-path",
                str(target),
            ]
        )
    return result.result.results


def failing_rows(database, test) -> list[tuple]:
    with database.connect() as conn:
        return conn.execute(test.node.compiled_code).fetchall()
