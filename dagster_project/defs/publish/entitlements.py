"""Entitlements: who may read which leaderboards, and how deep.

`coliseum_entitlements` is the app's table (the billing webhook writes it); plan limits are data (the dbt
seed `coliseum_plan_limits`). The app's roles (settings.app_roles, Supabase's anon and authenticated)
read the boards only through `coliseum_leaderboard(domain, window, limit)`: it runs with its owner's
rights, asks `auth.uid()` who is calling, and returns only the plan's domains and at most its depth.
Every raw published relation is revoked from those roles on each publish. The table itself, `auth.uid()`
and its own-row policy are created by `init-db` (db/migrations.py).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from dagster_project.contract import BOARD_COLUMNS, WINDOWS
from dagster_project.db.migrations import existing_app_roles
from dagster_project.settings import Settings

# The plan of a user: the caller's own, or anyone's for a caller that is not an app role (the service role,
# billing, the pipeline). Inside a SECURITY DEFINER function current_user is the owner: the caller's role is
# the one it SET (PostgREST: `set local role authenticated`), or the login role.
PLAN_FUNCTION = """
create or replace function {target}.get_user_coliseum_plan(p_user_id uuid) returns text
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
begin
    if p_user_id is distinct from auth.uid()
       and coalesce(nullif(current_setting('role', true), 'none'), session_user::text) = any({app_roles}) then
        raise exception 'a user may read only their own plan' using errcode = '42501';
    end if;
    return coalesce((
        select plan from {target}.coliseum_entitlements
        where user_id = p_user_id and (expires_at is null or expires_at > now())
    ), 'free');
end
$$
"""

READ_FUNCTION = """
create or replace function {target}.coliseum_leaderboard(
    p_domain text, p_window text default '7d', p_limit integer default null
) returns table ({returns})
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
    if p_window not in ({windows}) then
        raise exception 'unknown window % (expected {windows_text})', p_window using errcode = '22023';
    end if;
    if not upper(p_domain) = any(v_domains) then
        raise exception 'the % plan does not include domain %', v_plan, upper(p_domain) using errcode = '42501';
    end if;
    return query
        select {board_columns}
        from {build}.coliseum_published_leaderboards as b
        where b.publication_id = {pid} and b.domain = upper(p_domain) and b."window" = p_window
        order by b.rank, b.entity_id
        -- NULL depth (no plan limit) and NULL p_limit both mean all rows; LEAST ignores NULLs.
        limit case when p_limit is null then v_depth else least(greatest(p_limit, 0), v_depth) end;
end
$$
"""


def create_entitlement_api(
    conn: psycopg.Connection, settings: Settings, publication_id: int, published: tuple[str, ...]
) -> None:
    """Point the read function at this publication and make it the app roles' only way to the boards."""
    target, build = sql.Identifier(settings.publish_schema), sql.Identifier(settings.build_schema)
    app_roles = sql.SQL("array[{}]::text[]").format(sql.SQL(", ").join(map(sql.Literal, settings.app_roles)))
    conn.execute(sql.SQL(PLAN_FUNCTION).format(target=target, app_roles=app_roles))
    conn.execute(
        sql.SQL(READ_FUNCTION).format(
            target=target,
            build=build,
            pid=sql.Literal(publication_id),
            windows=sql.SQL(", ").join(map(sql.Literal, WINDOWS)),
            windows_text=sql.SQL(" or ".join(WINDOWS)),
            returns=sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in BOARD_COLUMNS
            ),
            board_columns=sql.SQL(", ").join(sql.Identifier("b", c) for c, _t in BOARD_COLUMNS),
        )
    )
    functions = [
        sql.SQL("{}.get_user_coliseum_plan(uuid)").format(target),
        sql.SQL("{}.coliseum_leaderboard(text, text, integer)").format(target),
    ]
    for function in functions:
        conn.execute(sql.SQL("revoke all on function {} from public").format(function))
    roles = existing_app_roles(conn, settings)
    if not roles:
        return
    role_list = sql.SQL(", ").join(map(sql.Identifier, roles))
    for function in functions:
        conn.execute(sql.SQL("grant execute on function {} to {}").format(function, role_list))
    for name in published:
        conn.execute(sql.SQL("revoke all on {}.{} from {}").format(target, sql.Identifier(name), role_list))
    conn.execute(sql.SQL("grant usage on schema {}, auth to {}").format(target, role_list))
    conn.execute(sql.SQL("grant select on {}.coliseum_entitlements to {}").format(target, role_list))
