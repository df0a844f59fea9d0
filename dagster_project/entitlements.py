"""Entitlements: who may read which leaderboards, and how deep.

`coliseum_entitlements` is the app's table (the billing webhook writes it); plan limits are data (the dbt
seed `coliseum_plan_limits`). The app's roles (settings.app_roles, Supabase's anon and authenticated)
read the boards only through `coliseum_leaderboard(domain, window, limit)`: it runs with its owner's
rights, asks `auth.uid()` who is calling, and returns only the plan's domains and at most its depth.
Every raw published relation is revoked from those roles on each publish.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from dagster_project.settings import Settings

ENTITLEMENTS_DDL = """
create table if not exists {target}.coliseum_entitlements (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null unique,
    plan text not null check (plan in ('free', 'basic', 'pro', 'enterprise')),
    domains text[] check (domains <@ array['A', 'T', 'G', 'C']),
    leaderboard_depth integer check (leaderboard_depth > 0),
    expires_at timestamptz,
    stripe_subscription_id text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
)
"""

# Supabase defines auth.uid() from the request's JWT; elsewhere the same definition stands in for it.
AUTH_UID_DDL = (
    "create schema if not exists auth",
    """
    create or replace function auth.uid() returns uuid language sql stable as $$
        select nullif(coalesce(
            current_setting('request.jwt.claim.sub', true),
            (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
        ), '')::uuid
    $$
    """,
)

PLAN_FUNCTION = """
create or replace function {target}.get_user_coliseum_plan(p_user_id uuid) returns text
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    select coalesce((
        select plan from {target}.coliseum_entitlements
        where user_id = p_user_id and (expires_at is null or expires_at > now())
    ), 'free')
$$
"""

READ_FUNCTION = """
create or replace function {target}.coliseum_leaderboard(
    p_domain text, p_window text default '7d', p_limit integer default null
) returns table (
    rank bigint, entity_id uuid, artist_name text, score numeric, event_count bigint, unique_fans bigint,
    previous_rank bigint, rank_change bigint, as_of_date date
)
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
#variable_conflict use_column
declare
    v_plan text := {target}.get_user_coliseum_plan(auth.uid());
    v_domains text[];
    v_depth integer;
begin
    -- A user's own domains/depth apply only while the entitlement is active (then its plan is v_plan).
    select coalesce(e.domains, string_to_array(l.domains, ' ')), coalesce(e.leaderboard_depth, l.leaderboard_depth)
      into v_domains, v_depth
      from {build}.coliseum_plan_limits as l
      left join {target}.coliseum_entitlements as e
        on e.user_id = auth.uid() and e.plan = l.plan and (e.expires_at is null or e.expires_at > now())
     where l.plan = v_plan;
    if v_domains is null then
        raise exception 'no limits are defined for plan %', v_plan using errcode = '42501';
    end if;
    if p_window not in ('7d', '30d', 'alltime') then
        raise exception 'unknown window % (expected 7d, 30d or alltime)', p_window using errcode = '22023';
    end if;
    if not upper(p_domain) = any(v_domains) then
        raise exception 'the % plan does not include domain %', v_plan, upper(p_domain) using errcode = '42501';
    end if;
    return query
        select b.rank, b.entity_id, b.artist_name, b.score, b.event_count, b.unique_fans, b.previous_rank,
               b.rank_change, b.as_of_date
        from {build}.coliseum_published_leaderboards as b
        where b.publication_id = {pid} and b.domain = upper(p_domain) and b."window" = p_window
        order by b.rank, b.entity_id
        -- NULL depth (no plan limit) and NULL p_limit both mean all rows; LEAST ignores NULLs.
        limit case when p_limit is null then v_depth else least(greatest(p_limit, 0), v_depth) end;
end
$$
"""

OWN_ROW_POLICY = "coliseum_entitlements_own_row"


def ensure_entitlements(conn: psycopg.Connection, settings: Settings) -> None:
    """The app's table, auth.uid() where Supabase does not provide it, and row-level security."""
    target = sql.Identifier(settings.publish_schema)
    conn.execute(sql.SQL("create schema if not exists {}").format(target))
    conn.execute(sql.SQL(ENTITLEMENTS_DDL).format(target=target))
    if conn.execute("select to_regprocedure('auth.uid()')").fetchone()[0] is None:
        for ddl in AUTH_UID_DDL:
            conn.execute(ddl)
    conn.execute(sql.SQL("alter table {}.coliseum_entitlements enable row level security").format(target))
    exists = conn.execute(
        "select 1 from pg_policies where schemaname = %s and tablename = 'coliseum_entitlements' and policyname = %s",
        (settings.publish_schema, OWN_ROW_POLICY),
    ).fetchone()
    if not exists:
        conn.execute(
            sql.SQL("create policy {} on {}.coliseum_entitlements for select using (user_id = auth.uid())").format(
                sql.Identifier(OWN_ROW_POLICY), target
            )
        )


def app_roles(conn: psycopg.Connection, settings: Settings) -> list[str]:
    """The configured app roles that exist in this database."""
    rows = conn.execute("select rolname from pg_roles where rolname = any(%s)", (list(settings.app_roles),))
    return sorted(row[0] for row in rows)


def create_entitlement_api(
    conn: psycopg.Connection, settings: Settings, publication_id: int, published: tuple[str, ...]
) -> None:
    """Point the read function at this publication and make it the app roles' only way to the boards."""
    target, build = sql.Identifier(settings.publish_schema), sql.Identifier(settings.build_schema)
    ensure_entitlements(conn, settings)
    conn.execute(sql.SQL(PLAN_FUNCTION).format(target=target))
    conn.execute(sql.SQL(READ_FUNCTION).format(target=target, build=build, pid=sql.Literal(publication_id)))
    functions = [
        sql.SQL("{}.get_user_coliseum_plan(uuid)").format(target),
        sql.SQL("{}.coliseum_leaderboard(text, text, integer)").format(target),
    ]
    for function in functions:
        conn.execute(sql.SQL("revoke all on function {} from public").format(function))
    roles = app_roles(conn, settings)
    if not roles:
        return
    role_list = sql.SQL(", ").join(map(sql.Identifier, roles))
    for function in functions:
        conn.execute(sql.SQL("grant execute on function {} to {}").format(function, role_list))
    for name in published:
        conn.execute(sql.SQL("revoke all on {}.{} from {}").format(target, sql.Identifier(name), role_list))
    conn.execute(sql.SQL("grant usage on schema {}, auth to {}").format(target, role_list))
    conn.execute(sql.SQL("grant select on {}.coliseum_entitlements to {}").format(target, role_list))
