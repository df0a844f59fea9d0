"""Safe defaults on a real Supabase: `init-db` and publishing under Supabase's default privileges (every new table
and function in public granted to anon, authenticated and service_role), with those three roles for real.

The app roles must not forge, erase or rewrite what the boards count (the log, the profiles), nor downgrade
or spy on entitlements; the service role (billing, the app's server side) keeps its access."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from dagster import DagsterInstance
from psycopg import errors

from dagster_project.app.runner import run_pipeline
from dagster_project.app.verify import verify
from dagster_project.db.migrations import init_db
from dagster_project.devtools.generate import generate
from tests.support.database import AS_OF, create_database, drop_database, settings_for
from tests.support.helpers import insert_entry, new_id, quiet

APP_ROLES = ("anon", "authenticated")
ROLES = (*APP_ROLES, "service_role")
PRO, OTHER = new_id(), new_id()

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
def supabase(admin_url, tmp_path_factory):
    with supabase_database(admin_url, tmp_path_factory) as (url, settings):
        init_db(url, settings)
        with psycopg.connect(url, autocommit=True) as conn:
            generate(conn, settings, events=1500, days=2, seed=8, end_date=AS_OF)
            conn.execute(
                "insert into public.coliseum_entitlements (user_id, plan) values (%s, 'pro'), (%s, 'enterprise')",
                (PRO, OTHER),
            )
        with DagsterInstance.ephemeral() as instance:
            run_pipeline(settings, [AS_OF], instance, log=quiet)
        yield url, settings


@contextmanager
def acting_as(url: str, role: str, user_id: str | None = PRO) -> Iterator[psycopg.Connection]:
    """A session as PostgREST opens it: SET ROLE, and the request's JWT claims."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"set role {role}")
        claims = json.dumps({"sub": user_id, "role": role}) if user_id else ""
        conn.execute("select set_config('request.jwt.claims', %s, false)", (claims,))
        yield conn


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
def test_app_roles_cannot_write_what_the_boards_count(supabase, role, write):
    url, _settings = supabase
    with acting_as(url, role) as conn, pytest.raises(errors.InsufficientPrivilege):
        WRITES[write](conn)


def test_created_tables_have_row_level_security(supabase):
    url, _settings = supabase
    with psycopg.connect(url) as conn:
        secured = dict(
            conn.execute(
                "select relname, relrowsecurity from pg_class where relnamespace = 'public'::regnamespace "
                "and relname in ('passport_entries', 'artist_profiles', 'coliseum_entitlements')"
            ).fetchall()
        )
    assert secured == {"passport_entries": True, "artist_profiles": True, "coliseum_entitlements": True}


def test_app_roles_hold_no_truncate_trigger_or_references_on_anything_the_pipeline_created(supabase):
    url, settings = supabase
    with psycopg.connect(url) as conn:
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


def test_a_user_reads_only_their_own_plan_and_the_service_role_any(supabase):
    url, _settings = supabase
    for role in APP_ROLES:
        with acting_as(url, role) as conn:
            assert conn.execute("select public.get_user_coliseum_plan(%s)", (PRO,)).fetchone() == ("pro",)
            with pytest.raises(errors.InsufficientPrivilege, match="only their own plan"):
                conn.execute("select public.get_user_coliseum_plan(%s)", (OTHER,))
    with acting_as(url, "service_role", user_id=None) as conn:
        assert conn.execute("select public.get_user_coliseum_plan(%s)", (OTHER,)).fetchone() == ("enterprise",)


def test_the_app_still_reads_its_boards_and_its_entitlement(supabase):
    url, _settings = supabase
    with acting_as(url, "authenticated") as conn:
        rows = conn.execute("select * from public.coliseum_leaderboard('G', '7d', 3)").fetchall()
        own = conn.execute("select user_id::text, plan from public.coliseum_entitlements").fetchall()
    assert len(rows) == 3 and own == [(PRO, "pro")]


def test_the_service_role_keeps_writing_the_log_and_entitlements(supabase):
    url, _settings = supabase
    with acting_as(url, "service_role", user_id=None) as conn:
        conn.execute("begin")
        insert_entry(conn, user_id=PRO, event_type="artist_follow", created_at=AS_OF, artist_id=new_id())
        conn.execute("update public.coliseum_entitlements set plan = 'basic' where user_id = %s", (OTHER,))
        conn.execute("rollback")


def test_verify_finds_no_dangerous_grant_after_init_db(supabase):
    url, settings = supabase
    with psycopg.connect(url) as conn:
        report = verify(conn, settings)
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
