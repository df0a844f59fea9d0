"""The fan side's published views: user DNA and the DIA dashboard's marts (README, "User DNA and the DIA marts").

Each view reads two relations: the users' counted entries (`int_user_entries`) and their DNA running sums
(`int_user_dna_totals`), as of the publication's date. Publish points them at the published copies (brought up
to date day by day in the publish transaction, defs/publish/publication.py); `verify --recompute` points the
same queries at a full rebuild, so both sides of the trust invariant run one definition.

Every row belongs to one user. The views run with their owner's rights and show an app role (settings.app_roles:
Supabase's anon and authenticated) only the rows of `auth.uid()`; any other role granted SELECT (the admin roles,
settings.admin_roles, default service_role) reads all. They are security barriers: a caller's own filter is
applied after theirs (a `user_id = ...` filter is leakproof, so it still uses the per-user indexes).
"""

from __future__ import annotations

from datetime import date

import psycopg
from psycopg import sql

from dagster_project.contract import (
    DIA_AFFINITY,
    DIA_INFLUENCE,
    DIA_SESSIONS,
    DIA_TIMELINE,
    DIA_USER_MATRIX,
    DOMAINS,
    FAN_RELATIONS,
    USER_DNA,
    USER_DNA_HISTORY,
)
from dagster_project.db.migrations import existing_app_roles
from dagster_project.settings import Settings

# The EMA of a user's daily influence as of a date, from the running sum scaled to the anchor (README, "User
# DNA"): alpha x scaled x 2^(-(as_of - anchor) / half_life), alpha = 1 - 2^(-1 / half_life), 6 decimals.
EMA_FUNCTION = """
create or replace function {target}.coliseum_user_dna_ema(
    p_scaled numeric, p_anchor date, p_half_life numeric, p_as_of date
) returns numeric language sql immutable parallel safe as $$
    select round(
        (1 - power(2::numeric, -1 / p_half_life)) * p_scaled
        * power(2::numeric, -(p_as_of - p_anchor)::numeric / p_half_life),
        6
    )
$$
"""

_D = [d.lower() for d in DOMAINS]


def _dna_columns(alias: str, as_of: str) -> str:
    """The four EMAs as of `as_of` and the four shares (positive parts over their sum: a domain pulled below zero
    by unfollows or refunds has share 0; no share when no domain is positive). Shares need no decay: every
    domain decays alike."""
    positive = " + ".join(f"greatest({alias}.scaled_{d}, 0)" for d in _D)
    emas = [
        f"{{target}}.coliseum_user_dna_ema({alias}.scaled_{d}, {alias}.anchor_date, {alias}.half_life_days, {as_of})"
        f" as dna_{d}"
        for d in _D
    ]
    shares = [f"round(greatest({alias}.scaled_{d}, 0) / nullif({positive}, 0), 6) as share_{d}" for d in _D]
    return ",\n        ".join(emas + shares)


def _current(alias: str) -> str:
    """The row of each user's totals in force on the as-of date."""
    return f"{alias}.activity_date <= {{as_of}} and ({alias}.valid_until is null or {alias}.valid_until > {{as_of}})"


def _artist_name(alias: str) -> str:
    return (
        f"case when {alias}.artist_id is not null then "
        f"coalesce(profiles.artist_name, 'Unknown artist ' || left({alias}.artist_id::text, 8)) end"
    )


_LISTENING = "e.interaction_category = 'listening'"

# name -> query; {entries} and {dna} are the two inputs, already limited to the as-of date and the caller's rows.
QUERIES: dict[str, str] = {
    USER_DNA.name: f"""
    select
        d.user_id,
        {{as_of}} as as_of_date,
        {_dna_columns("d", "{as_of}")},
        d.events_counted,
        d.last_event_at,
        d.activity_date as last_active_date,
        d.half_life_days
    from {{dna}} as d
    where {_current("d")}
    """,
    USER_DNA_HISTORY.name: f"""
    select
        d.user_id,
        d.activity_date,
        {_dna_columns("d", "d.activity_date")},
        d.events_counted,
        d.last_event_at
    from {{dna}} as d
    """,
    DIA_USER_MATRIX.name: f"""
    with activity as (
        select
            e.user_id,
            min(e.created_at) as first_seen_at,
            max(e.created_at) as last_seen_at,
            count(*) filter (where e.interaction_category = 'listening') as listening_count,
            count(*) filter (where e.interaction_category = 'engagement') as engagement_count,
            count(*) filter (where e.interaction_category = 'voting') as vote_count,
            count(*) filter (where e.interaction_category = 'attendance') as attendance_count,
            count(*) filter (where e.interaction_category = 'purchase') as purchase_count,
            count(*) filter (where e.interaction_category = 'refund') as refund_count,
            count(distinct e.session_id) as sessions
        from {{entries}} as e
        group by e.user_id
    ),
    spend as (
        select user_id, jsonb_object_agg(currency, net_cents) as net_spend_cents
        from (
            select e.user_id, e.currency, sum(e.spend_cents)::bigint as net_cents
            from {{entries}} as e
            where e.currency is not null
            group by e.user_id, e.currency
        ) as per_currency
        group by user_id
    )
    select
        activity.user_id,
        activity.first_seen_at,
        activity.last_seen_at,
        activity.listening_count,
        activity.engagement_count,
        activity.vote_count,
        activity.attendance_count,
        activity.purchase_count,
        activity.refund_count,
        activity.sessions,
        coalesce(spend.net_spend_cents, '{{{{}}}}'::jsonb) as net_spend_cents,
        {{as_of}} as dna_as_of_date,
        {_dna_columns("d", "{as_of}")},
        d.last_event_at as dna_last_updated
    from activity
    left join spend on spend.user_id = activity.user_id
    left join {{dna}} as d on d.user_id = activity.user_id and {_current("d")}
    """,
    DIA_TIMELINE.name: f"""
    select
        e.user_id,
        e.passport_entry_id,
        e.created_at,
        e.interaction_category as source,
        e.event_type as interaction_type,
        e.event_category,
        e.entity_type,
        e.entity_id,
        e.artist_id,
        {_artist_name("e")} as artist_name,
        e.content_id,
        e.genre,
        e.duration_seconds as play_duration,
        e.progress_percentage,
        e.session_id,
        {", ".join(f"e.delta_{d} as influence_{d}" for d in _D)}
    from {{entries}} as e
    left join {{profiles}} as profiles on profiles.id = e.artist_id
    """,
    DIA_INFLUENCE.name: f"""
    select
        e.user_id,
        e.event_type as interaction_type,
        count(*) as occurrence_count,
        min(e.created_at) as first_occurrence,
        max(e.created_at) as last_occurrence,
        {
        ", ".join(
            f"(array_agg(e.{c} order by e.created_at desc, e.passport_entry_id desc))[1] as {c}"
            for c in ("weight_version", "base_intensity", *(f"weight_{d}" for d in _D))
        )
    },
        {", ".join(f"sum(e.delta_{d}) as total_influence_{d}" for d in _D)},
        sum({" + ".join(f"e.delta_{d}" for d in _D)}) as total_influence
    from {{entries}} as e
    group by e.user_id, e.event_type
    """,
    DIA_SESSIONS.name: f"""
    with plays as (
        select e.* from {{entries}} as e where {_LISTENING} and e.session_id is not null
    ),
    genres as (
        -- The most played genre of each session; a tie goes to the first genre in alphabetical order.
        select distinct on (user_id, session_id) user_id, session_id, genre
        from (
            select user_id, session_id, genre, count(*) as plays
            from plays where genre is not null group by user_id, session_id, genre
        ) as per_genre
        order by user_id, session_id, plays desc, genre
    ),
    sessions as (
        select
            user_id,
            session_id,
            count(*) as tracks_played,
            count(distinct content_id) as unique_tracks,
            min(created_at) as session_start,
            max(created_at) as session_end,
            extract(epoch from max(created_at) - min(created_at)) as session_duration_seconds,
            round(avg(progress_percentage), 2) as avg_completion_rate
        from plays
        group by user_id, session_id
    )
    select sessions.*, genres.genre as dominant_genre
    from sessions
    left join genres on genres.user_id = sessions.user_id and genres.session_id = sessions.session_id
    """,
    DIA_AFFINITY.name: f"""
    with player as (
        select
            e.user_id,
            e.artist_id,
            count(*) filter (where {_LISTENING}) as play_count,
            round(avg(e.progress_percentage) filter (where {_LISTENING}), 2) as avg_completion_rate,
            coalesce(sum(e.duration_seconds) filter (where {_LISTENING}), 0) as total_listen_time_seconds,
            min(e.created_at) filter (where {_LISTENING}) as first_listen,
            max(e.created_at) filter (where {_LISTENING}) as last_listen,
            bool_or(e.event_type = 'track_favorite') as ever_favorited,
            (array_agg(e.event_type order by e.created_at desc, e.passport_entry_id desc)
                filter (where e.event_type in ('track_favorite', 'track_unfavorite')))[1] as latest_favorite_event
        from {{entries}} as e
        where e.event_category = 'player' and e.artist_id is not null
        group by e.user_id, e.artist_id
    )
    select
        player.user_id,
        player.artist_id,
        {_artist_name("player")} as artist_name,
        player.play_count,
        player.avg_completion_rate,
        player.total_listen_time_seconds,
        player.first_listen,
        player.last_listen,
        coalesce(player.latest_favorite_event = 'track_favorite', false) as has_favorited,
        coalesce(player.ever_favorited and player.latest_favorite_event = 'track_unfavorite', false)
            as has_unfavorited_since
    from player
    left join {{profiles}} as profiles on profiles.id = player.artist_id
    """,
}


def fan_queries(
    settings: Settings, entries: sql.Composable, dna: sql.Composable, as_of: date
) -> dict[str, sql.Composable]:
    """Each fan relation's query over these inputs (relations or subqueries, limited to the as-of date)."""
    params = {
        "entries": entries,
        "dna": dna,
        "as_of": sql.SQL("{}::date").format(sql.Literal(as_of)),
        "profiles": sql.SQL("{}.artist_profiles").format(sql.Identifier(settings.source_schema)),
        "target": sql.Identifier(settings.publish_schema),
    }
    return {name: sql.SQL(query).format(**params) for name, query in QUERIES.items()}


def published_inputs(settings: Settings, as_of: date) -> tuple[sql.Composable, sql.Composable]:
    """The published copies up to the as-of date, each limited to the caller's rows (see the module docstring)."""
    build = sql.Identifier(settings.build_schema)
    app_roles = sql.SQL("array[{}]::name[]").format(sql.SQL(", ").join(map(sql.Literal, settings.app_roles or ("",))))
    visible = sql.SQL("(user_id = auth.uid() or not current_user = any({}))").format(app_roles)
    return tuple(  # type: ignore[return-value]
        sql.SQL("(select * from {build}.{table} where activity_date <= {d} and {visible})").format(
            build=build, table=sql.Identifier(table), d=sql.Literal(as_of), visible=visible
        )
        for table in ("coliseum_published_user_entries", "coliseum_published_user_dna")
    )


def create_fan_views(conn: psycopg.Connection, settings: Settings, as_of: date) -> None:
    """Point the fan views at the published copies as of `as_of`, and grant them to the app and admin roles."""
    target = sql.Identifier(settings.publish_schema)
    conn.execute(sql.SQL(EMA_FUNCTION).format(target=target))
    entries, dna = published_inputs(settings, as_of)
    for name, query in fan_queries(settings, entries, dna, as_of).items():
        conn.execute(
            sql.SQL("create or replace view {}.{} with (security_barrier) as {}").format(
                target, sql.Identifier(name), query
            )
        )
    roles = existing_app_roles(conn, settings) + [
        role
        for role in settings.admin_roles
        if conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
    ]
    if not roles:
        return
    role_list = sql.SQL(", ").join(map(sql.Identifier, roles))
    for relation in FAN_RELATIONS:
        name = sql.Identifier(relation.name)
        # Only SELECT: Supabase's default privileges give new relations in public every privilege.
        conn.execute(sql.SQL("revoke all on {}.{} from {}").format(target, name, role_list))
        conn.execute(sql.SQL("grant select on {}.{} to {}").format(target, name, role_list))
    function = sql.SQL("{}.coliseum_user_dna_ema(numeric, date, numeric, date)").format(target)
    conn.execute(sql.SQL("grant execute on function {} to {}").format(function, role_list))
