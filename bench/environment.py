"""Where the bench runs: its own state folder, the embedded Postgres in it, one database per size, machine info."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from dagster_project.settings import PROJECT_ROOT, Settings

DEFAULT_HOME = PROJECT_ROOT / ".coliseum-bench"
# Variables that would point the bench at someone else's data or make its runs fail on purpose.
FOREIGN_VARIABLES = ("COLISEUM_DATABASE_URL", "COLISEUM_AUDIT_FORCE_FAIL", "COLISEUM_ALERT_WEBHOOK_URL")
POSTGRES_SETTINGS = (
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "effective_cache_size",
    "max_parallel_workers_per_gather",
    "jit",
)


def prepare_environment(home: Path, partitions_start: date) -> None:
    """Point every settings-dependent component at the bench folder (and its partitions at the first day of
    its longest history); must run before the pipeline is imported."""
    home = home.resolve()
    if home == (PROJECT_ROOT / ".coliseum").resolve():
        raise SystemExit("the bench never uses the project's .coliseum folder; choose another --home")
    home.mkdir(parents=True, exist_ok=True)
    os.environ["COLISEUM_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster_home")
    os.environ["COLISEUM_PARTITIONS_START"] = partitions_start.isoformat()
    os.environ.pop("COLISEUM_PLATFORM_START", None)  # follows the partitions start
    for name in FOREIGN_VARIABLES:
        os.environ.pop(name, None)


def server_url() -> str:
    """The embedded server under the bench home (started on first use, kept running like the CLI's)."""
    from dagster_project.db.connection import database_url

    return database_url(Settings.from_env())  # the bench's edge: prepare_environment set the variables


def database_name(events: int) -> str:
    return f"bench_{events}"


def create_database(server: str, name: str) -> str:
    """A fresh database (a leftover of an interrupted run is dropped first); returns its URL."""
    drop_database(server, name)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return make_conninfo(server, dbname=name)


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def machine_info(server: str) -> dict[str, Any]:
    with psycopg.connect(server) as conn:
        version = conn.execute("show server_version").fetchone()[0]
        settings = {
            name: conn.execute(sql.SQL("show {}").format(sql.Identifier(name))).fetchone()[0]
            for name in POSTGRES_SETTINGS
        }
    return {
        "nproc": os.cpu_count(),
        "memory_total_mb": _memory_total_mb(),
        "postgres_version": version,
        "postgres_settings": settings,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "git": _git_state(),
    }


def _memory_total_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def _git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    return {"commit": git("rev-parse", "HEAD") or None, "dirty": bool(git("status", "--porcelain"))}
