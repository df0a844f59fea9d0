"""Entitlements and the app's roles on a database with Supabase's default privileges (every new table and function
in public granted to anon, authenticated and service_role) and those three roles for real: boards only through
the entitlement-aware read, limited to the plan's domains and depth (an expired plan falls back to free); the
app roles cannot forge, erase or rewrite what the boards count, nor downgrade or spy on entitlements; the
service role (billing, the app's server side) keeps its access."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from dagster import DagsterInstance
from psycopg import errors

from dagster_project.app.runner import run_pipeline
from dagster_project.app.verify import verify
from dagster_project.contract import FAN_NAMES, PUBLISHED_NAMES
from dagster_project.db.migrations import init_db
from dagster_project.devtools.generate import generate
from tests.support.database import AS_OF, TestDatabase, create_database, drop_database, settings_for
from tests.support.helpers import insert_entry, new_id, quiet

D = AS_OF
ROLE = "authenticated"
APP_ROLES = ("anon", "authenticated")
ROLES = (*APP_ROLES, "service_role")
FREE, PRO, EXPIRED, ENTERPRISE, NARROW = (new_id() for _ in range(5))

SUPABASE_DEFAULTS = (
    "grant usage on schema public to anon, authenticated, service_role",
    "alter default privileges in schema public grant all on tables to anon, authenticated, service_role",
    "alter default privileges in schema public grant all on functions to anon, authenticated, service_role",
    "alter default privileges in schema public grant all on sequences to anon, authenticated, service_role",
)


def ensure_roles(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for role in ROLES:
            # Roles are per server: another module (or worker) may have made it.
            with contextlib.suppress(errors.DuplicateObject, errors.UniqueViolation):
                conn.execute(f"create role {role} nologin")
        conn.execute("alter role service_role bypassrls")  # as on Supabase: the server side bypasses RLS


@contextmanager
def supabase_database(admin_url: str, tmp_path_factory) -> Iterator[tuple[str, object]]:
    """A new database with Supabase's roles and default privileges, before `init-db` ran."""
    url = create_database(admin_url)
    ensure_roles(url)
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in SUPABASE_DEFAULTS:
            conn.execute(statement)
    try:
        yield url, settings_for(url, tmp_path_factory.mktemp("supabase"))
    finally:
        drop_database(admin_url, url)


@pytest.fixture(scope="module")
def published(admin_url, tmp_path_factory) -> Iterator[TestDatabase]:
    with supabase_database(admin_url, tmp_path_factory) as (url, settings), DagsterInstance.ephemeral() as instance:
        database = TestDatabase(url, settings, instance, settings.home)
        init_db(url, settings)
        with database.connect() as conn:
            generate(conn, settings, events=3000, days=2, seed=5, end_date=D)
        run_pipeline(settings, [D], instance, log=quiet)
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
        yield database


@contextmanager
def as_user(database, user_id: str | None, role: str = ROLE) -> Iterator[psycopg.Connection]:
    """A session as PostgREST opens it: SET ROLE, and the request's JWT claims."""
    with database.connect() as conn:
        conn.execute(f"set role {role}")
        claims = json.dumps({"sub": user_id, "role": role}) if user_id else ""
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
    for name in set(PUBLISHED_NAMES) - set(FAN_NAMES):
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


def fan_rows(conn, name: str) -> dict[str, int]:
    return dict(conn.execute(f"select user_id::text, count(*) from public.{name} group by 1").fetchall())


@pytest.mark.parametrize("name", FAN_NAMES)
def test_a_user_reads_only_their_own_fan_rows_and_the_service_role_all(published, name):
    every = dict(published.query(f"select user_id::text, count(*) from public.{name} group by 1"))
    fan, other = sorted(every, key=lambda user: (-every[user], user))[:2]
    for role in APP_ROLES:
        with as_user(published, fan, role) as conn:
            assert fan_rows(conn, name) == {fan: every[fan]}
            # asking for someone else's rows is not an error: there are none to see
            assert conn.execute(f"select count(*) from public.{name} where user_id = %s", (other,)).fetchone() == (0,)
            held = conn.execute(
                "select array_agg(p) from unnest(array['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER']) as p "
                "where has_table_privilege(%s, p)",
                (f"public.{name}",),
            ).fetchone()[0]
            assert held is None  # only SELECT, whatever Supabase's default privileges granted
    with as_user(published, None, "anon") as conn:
        assert fan_rows(conn, name) == {}
    with as_user(published, None, "service_role") as conn:
        assert fan_rows(conn, name) == every


def test_a_users_timeline_read_uses_the_per_user_index(published):
    [(user,)] = published.query("select user_id::text from public.dia_interaction_timeline limit 1")
    with as_user(published, user) as conn:
        conn.execute("set enable_seqscan = off")  # the test table is small: ask whether the index can serve it
        plan = conn.execute(
            "explain select * from public.dia_interaction_timeline where user_id = %s "
            "order by created_at desc limit 50",
            (user,),
        ).fetchall()
    assert "coliseum_published_user_entries_user_idx" in "\n".join(line for (line,) in plan)


WRITES = {
    "forge an event": lambda conn: insert_entry(
        conn, user_id=PRO, event_type="artist_follow", created_at=AS_OF, artist_id=new_id()
    ),
    "reset processed_at": lambda conn: conn.execute("update public.passport_entries set coliseum_processed_at = null"),
    "delete the log": lambda conn: conn.execute("delete from public.passport_entries"),
    "rename an artist": lambda conn: conn.execute("update public.artist_profiles set artist_name = 'x'"),
    "truncate entitlements": lambda conn: conn.execute("truncate public.coliseum_entitlements"),
    "upgrade oneself": lambda conn: conn.execute("update public.coliseum_entitlements set plan = 'enterprise'"),
    "trigger on entitlements": lambda conn: (
        conn.execute("create function pg_temp.spy() returns trigger language plpgsql as $$ begin return new; end $$"),
        conn.execute(
            "create trigger spy before insert on public.coliseum_entitlements "
            "for each row execute function pg_temp.spy()"
        ),
    ),
}


@pytest.mark.parametrize("role", APP_ROLES)
@pytest.mark.parametrize("write", sorted(WRITES))
def test_app_roles_cannot_write_what_the_boards_count(published, role, write):
    with as_user(published, PRO, role) as conn, pytest.raises(errors.InsufficientPrivilege):
        WRITES[write](conn)


def test_created_tables_have_row_level_security(published):
    with published.connect() as conn:
        secured = dict(
            conn.execute(
                "select relname, relrowsecurity from pg_class where relnamespace = 'public'::regnamespace "
                "and relname in ('passport_entries', 'artist_profiles', 'coliseum_entitlements')"
            ).fetchall()
        )
    assert secured == {"passport_entries": True, "artist_profiles": True, "coliseum_entitlements": True}


def test_app_roles_hold_no_truncate_trigger_or_references_on_anything_the_pipeline_created(published):
    settings = published.settings
    with published.connect() as conn:
        held = conn.execute(
            """
            select r.rolname, n.nspname || '.' || c.relname, p.privilege
            from pg_class c
            join pg_namespace n on n.oid = c.relnamespace
            cross join (values ('TRUNCATE'), ('TRIGGER'), ('REFERENCES')) as p(privilege)
            cross join pg_roles r
            where n.nspname = any(%s) and c.relkind in ('r', 'v', 'm', 'p') and r.rolname = any(%s)
              and has_table_privilege(r.oid, c.oid, p.privilege)
            order by 1, 2, 3
            """,
            ([settings.source_schema, settings.build_schema, settings.publish_schema], list(APP_ROLES)),
        ).fetchall()
    assert held == []


def test_a_user_reads_only_their_own_plan_and_the_service_role_any(published):
    for role in APP_ROLES:
        with as_user(published, PRO, role) as conn:
            assert conn.execute("select public.get_user_coliseum_plan(%s)", (PRO,)).fetchone() == ("pro",)
            with pytest.raises(errors.InsufficientPrivilege, match="only their own plan"):
                conn.execute("select public.get_user_coliseum_plan(%s)", (ENTERPRISE,))
    with as_user(published, None, "service_role") as conn:
        assert conn.execute("select public.get_user_coliseum_plan(%s)", (ENTERPRISE,)).fetchone() == ("enterprise",)


def test_the_app_still_reads_its_boards_and_its_entitlement(published):
    with as_user(published, PRO) as conn:
        rows = conn.execute("select * from public.coliseum_leaderboard('G', '7d', 3)").fetchall()
        own = conn.execute("select user_id::text, plan from public.coliseum_entitlements").fetchall()
    assert len(rows) == 3 and own == [(PRO, "pro")]


def test_the_service_role_keeps_writing_the_log_and_entitlements(published):
    with as_user(published, None, "service_role") as conn:
        conn.execute("begin")
        insert_entry(conn, user_id=PRO, event_type="artist_follow", created_at=AS_OF, artist_id=new_id())
        conn.execute("update public.coliseum_entitlements set plan = 'basic' where user_id = %s", (ENTERPRISE,))
        conn.execute("rollback")


def test_verify_finds_no_dangerous_grant_after_init_db(published):
    with published.connect() as conn:
        report = verify(conn, published.settings)
    assert [f for f in report.findings if f.status == "warning"] == []


def test_an_existing_app_table_is_left_alone_and_verify_warns(admin_url, tmp_path_factory):
    with supabase_database(admin_url, tmp_path_factory) as (url, settings):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("create table public.passport_entries (id uuid, user_id uuid, created_at timestamptz)")
            before = conn.execute(
                "select relacl::text, relrowsecurity from pg_class where oid = 'public.passport_entries'::regclass"
            ).fetchone()
        init_db(url, settings)
        with psycopg.connect(url) as conn:
            after = conn.execute(
                "select relacl::text, relrowsecurity from pg_class where oid = 'public.passport_entries'::regclass"
            ).fetchone()
            report = verify(conn, settings)
        assert after == before and before[1] is False
        [warning] = [f for f in report.findings if f.status == "warning"]
        assert warning.object == "public.passport_entries grants"
        assert "anon may INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES" in warning.detail
        assert "authenticated may INSERT" in warning.detail and "row-level security is off" in warning.detail
