"""Entitlements under a real Postgres role (Supabase's `authenticated`): boards only through the
entitlement-aware read, limited to the plan's domains and depth; an expired plan falls back to free."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from dagster_project.app.runner import run_pipeline
from dagster_project.contract import PUBLISHED_NAMES
from dagster_project.devtools.generate import generate
from tests.support.database import AS_OF
from tests.support.helpers import new_id, quiet

D = AS_OF
ROLE = "authenticated"
FREE, PRO, EXPIRED, ENTERPRISE, NARROW = (new_id() for _ in range(5))


@pytest.fixture(scope="module")
def published(database):
    with database.connect() as conn:
        if not conn.execute("select 1 from pg_roles where rolname = %s", (ROLE,)).fetchone():
            conn.execute(f"create role {ROLE} nologin")
        # As on Supabase: new tables and views in public are readable by the app's roles by default. Publishing
        # must take that away from every raw relation.
        conn.execute(f"alter default privileges in schema public grant select on tables to {ROLE}")
        generate(conn, database.settings, events=3000, days=2, seed=5, end_date=D)
    run_pipeline(database.settings, [D], database.instance, log=quiet)
    later = datetime.now(UTC) + timedelta(days=30)
    with database.connect() as conn:
        for user, plan, expires, depth in (
            (PRO, "pro", later, None),
            (EXPIRED, "pro", datetime.now(UTC) - timedelta(minutes=1), None),
            (ENTERPRISE, "enterprise", None, None),
            (NARROW, "basic", later, 3),
        ):
            conn.execute(
                "insert into public.coliseum_entitlements (user_id, plan, leaderboard_depth, expires_at) "
                "values (%s, %s, %s, %s)",
                (user, plan, depth, expires),
            )
    return database


@contextmanager
def as_user(database, user_id: str | None) -> Iterator[psycopg.Connection]:
    with database.connect() as conn:
        conn.execute(f"set role {ROLE}")
        claims = json.dumps({"sub": user_id, "role": ROLE}) if user_id else ""
        conn.execute("select set_config('request.jwt.claims', %s, false)", (claims,))
        yield conn


def board(database, domain: str, window: str = "7d") -> list[tuple]:
    return database.query(
        f"select rank, entity_id, score from public.coliseum_leaderboard_{domain.lower()}_{window} "
        "order by rank, entity_id"
    )


def read(conn, domain: str, window: str = "7d", limit: int | None = None) -> list[tuple]:
    return conn.execute(
        "select rank, entity_id, score from public.coliseum_leaderboard(%s, %s, %s)", (domain, window, limit)
    ).fetchall()


def test_boards_are_big_enough_to_test_depth(published):
    assert len(board(published, "A")) > 10


def test_role_cannot_read_any_raw_published_relation(published):
    for name in PUBLISHED_NAMES:
        with as_user(published, FREE) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"select * from public.{name} limit 1")


@pytest.mark.parametrize("user", [FREE, EXPIRED, None], ids=["no-entitlement", "expired", "anonymous-jwt"])
def test_free_plan_gets_top_ten_of_domain_a_only(published, user):
    with as_user(published, user) as conn:
        assert conn.execute("select public.get_user_coliseum_plan(auth.uid())").fetchone()[0] == "free"
        assert read(conn, "A", limit=1000) == board(published, "A")[:10]
        assert read(conn, "a", "alltime") == board(published, "A", "alltime")[:10]
        assert read(conn, "A", limit=4) == board(published, "A")[:4]
    for domain in ("T", "G", "C"):
        with as_user(published, user) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege, match="free"):
            read(conn, domain)


def test_pro_plan_reads_every_domain_to_depth_100(published):
    with as_user(published, PRO) as conn:
        assert conn.execute("select public.get_user_coliseum_plan(auth.uid())").fetchone()[0] == "pro"
        for domain in "ATGC":
            assert read(conn, domain, "30d") == board(published, domain, "30d")[:100]


def test_enterprise_has_no_depth_limit_and_user_override_narrows(published):
    with as_user(published, ENTERPRISE) as conn:
        assert read(conn, "G", "alltime") == board(published, "G", "alltime")
    with as_user(published, NARROW) as conn:
        assert read(conn, "T") == board(published, "T")[:3]
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="basic"):
            read(conn, "C")


def test_unknown_window_is_a_clear_error(published):
    with as_user(published, PRO) as conn, pytest.raises(psycopg.errors.InvalidParameterValue, match="1y"):
        read(conn, "A", "1y")


def test_users_see_only_their_own_entitlement(published):
    with as_user(published, PRO) as conn:
        visible = conn.execute("select user_id::text, plan from public.coliseum_entitlements").fetchall()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("update public.coliseum_entitlements set plan = 'enterprise'")
    assert visible == [(PRO, "pro")]
