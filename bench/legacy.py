"""The legacy design (bench/legacy.sql): set it up once, then time refill + twelve refreshes."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from dagster_project.contract import DOMAINS, WINDOWS
from dagster_project.settings import DBT_PROJECT_DIR, Settings

LEGACY_SQL = Path(__file__).with_name("legacy.sql")
WEIGHTS_CSV = DBT_PROJECT_DIR / "seeds" / "influence_weights.csv"
WINDOW_DAYS = {"7d": 7, "30d": 30, "alltime": None}
MARKER = "-- name: "


def sections() -> dict[str, str]:
    """legacy.sql split at its `-- name: <section>` lines."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in LEGACY_SQL.read_text().splitlines():
        if line.startswith(MARKER):
            current = found.setdefault(line[len(MARKER) :].strip(), [])
        else:
            current.append(line)
    return {name: "\n".join(lines) for name, lines in found.items()}


def board_names() -> list[tuple[str, str, str]]:
    return [(f"coliseum_leaderboard_{d.lower()}_{w}", d, w) for d in DOMAINS for w in WINDOWS]


def setup(conn: psycopg.Connection, settings: Settings, as_of: date) -> None:
    """Schema, weights and the twelve (empty) materialized views; not timed."""
    parts = sections()
    source = sql.Identifier(settings.source_schema)
    until = _midnight(as_of + timedelta(days=1))
    with conn.transaction():
        conn.execute(sql.SQL(parts["setup"]))
        with conn.cursor().copy("copy legacy.influence_weights from stdin with (format csv, header true)") as copy:
            copy.write(WEIGHTS_CSV.read_bytes())
        for name, domain, window in board_names():
            days = WINDOW_DAYS[window]
            since = sql.SQL("'-infinity'::timestamptz") if days is None else _midnight(as_of - timedelta(days - 1))
            conn.execute(
                sql.SQL(parts["board"]).format(
                    name=sql.Identifier(name), domain=sql.Literal(domain), since=since, until=until, source=source
                )
            )


def refill(conn: psycopg.Connection, settings: Settings) -> float:
    """Truncate and refill the mutations table from the whole log, in one transaction; returns seconds."""
    statement = sql.SQL(sections()["refill"]).format(source=sql.Identifier(settings.source_schema))
    started = time.perf_counter()
    with conn.transaction():
        conn.execute(statement)
    return time.perf_counter() - started


def refresh(conn: psycopg.Connection) -> dict[str, float]:
    """Refresh the twelve views one by one, each in its own transaction; seconds per view."""
    seconds = {}
    for name, _domain, _window in board_names():
        started = time.perf_counter()
        with conn.transaction():
            conn.execute(sql.SQL("refresh materialized view legacy.{}").format(sql.Identifier(name)))
        seconds[name] = time.perf_counter() - started
    return seconds


def _midnight(day: date) -> sql.Composable:
    return sql.SQL("{}::timestamptz").format(sql.Literal(f"{day.isoformat()} 00:00:00+00"))
