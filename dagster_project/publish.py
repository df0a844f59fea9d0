"""Publish: switch the published relations from the last good build to this one in one transaction.

The published relations are views in the publish schema over a per-publication snapshot in the build
schema. One transaction inserts the new snapshot and repoints every view, so a reader sees the complete
old set or the complete new set, never a mix. CREATE OR REPLACE VIEW keeps the grants the app relies on.
Rebuilding or rerunning a partition never touches what is published until the next publish.

The mutations are a log, too long to copy per publication: `coliseum_published_mutations` holds one
published copy, and each publish replaces only the days whose audited build changed since (the daily
ledger, assets/ledger.py), in the same transaction that switches the views. `coliseum_metrics` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import psycopg
from psycopg import sql

from dagster_project.analytics import create_analytics_functions
from dagster_project.entitlements import create_entitlement_api
from dagster_project.settings import DOMAINS, WINDOWS, Settings

PUBLISH_LOCK = "coliseum.publish"

BOARD_COLUMNS = "rank, entity_id, artist_name, score, event_count, unique_fans, previous_rank, rank_change, as_of_date"
MUTATION_COLUMNS = "passport_entry_id, entity_id, domain, event_type, effective_delta, weight_version, created_at"

INFRA_DDL = (
    # A daily run opens its days in the ledger before dbt has created the schema on a new database.
    "create schema if not exists {build}",
    """
    create table if not exists {build}.coliseum_publications (
        publication_id bigserial primary key,
        as_of_date date not null,
        dagster_run_id text,
        staged_at timestamptz not null default now(),
        published_at timestamptz,
        status text not null default 'candidate',
        row_counts jsonb
    )
    """,
    # Tables created before candidates existed: their rows were published directly.
    "alter table {build}.coliseum_publications add column if not exists status text not null default 'published'",
    "alter table {build}.coliseum_publications add column if not exists staged_at timestamptz",
    "alter table {build}.coliseum_publications alter column published_at drop not null",
    "alter table {build}.coliseum_publications alter column published_at drop default",
    """
    create table if not exists {build}.coliseum_published_leaderboards (
        publication_id bigint not null,
        domain text not null,
        "window" text not null,
        rank bigint not null,
        entity_id uuid not null,
        artist_name text,
        score numeric not null,
        event_count bigint not null,
        unique_fans bigint not null,
        previous_rank bigint,
        rank_change bigint,
        as_of_date date not null
    )
    """,
    """
    create index if not exists coliseum_published_leaderboards_idx
        on {build}.coliseum_published_leaderboards (publication_id, domain, "window", rank)
    """,
    # The daily ledger (assets/ledger.py): per day, the run rebuilding it (set when its daily run starts,
    # cleared once everything derived passed its checks) and its last audited build, which publish copies.
    """
    create table if not exists {build}.coliseum_daily_ledger (
        day date primary key,
        building_run_id text,
        run_id text,
        mutations bigint,
        delta_sum numeric,
        audited_at timestamptz
    )
    """,
    "alter table {build}.coliseum_publications add column if not exists ledger_version text",
    """
    create table if not exists {build}.coliseum_published_mutations (
        passport_entry_id uuid not null,
        entity_id uuid not null,
        domain text not null,
        event_type text not null,
        effective_delta numeric(18, 4) not null,
        weight_version text not null,
        created_at timestamptz not null,
        activity_date date not null
    )
    """,
    "create index if not exists coliseum_published_mutations_day_idx on {build}.coliseum_published_mutations "
    "(activity_date)",
    "create index if not exists coliseum_published_mutations_entity_idx on {build}.coliseum_published_mutations "
    "(entity_id)",
    # The audited build of each day that coliseum_published_mutations holds.
    """
    create table if not exists {build}.coliseum_published_days (
        day date primary key,
        run_id text not null
    )
    """,
)

# The state of the audited daily builds a candidate was staged from: publish refuses a candidate when a day
# was re-audited in between (the published mutations would not match the boards).
LEDGER_VERSION = (
    "select coalesce(max(audited_at)::text, '') || ':' || count(audited_at) from {build}.coliseum_daily_ledger"
)


def board_name(domain: str, window: str) -> str:
    return f"coliseum_leaderboard_{domain.lower()}_{window}"


BOARDS: tuple[tuple[str, str], ...] = tuple((d, w) for d in DOMAINS for w in WINDOWS)
BOARD_NAMES: tuple[str, ...] = tuple(board_name(d, w) for d, w in BOARDS)


@dataclass(frozen=True)
class Snapshot:
    """A published view over one as-of date of a window-grain mart, copied per publication."""

    name: str
    columns: str
    table: str


SNAPSHOTS: tuple[Snapshot, ...] = (
    Snapshot(
        "coliseum_domain_strength",
        'entity_id, domain, "window", as_of_date, strength, event_count, unique_fans',
        "coliseum_published_strength",
    ),
    Snapshot(
        "artist_revenue_summary",
        'artist_id, artist_name, currency, "window", as_of_date, gross_cents, refunds_cents, net_cents, '
        "completed_transactions, refunded_transactions, pending_transactions, failed_transactions, "
        "excluded_transactions, paying_fans, first_sale_at, last_sale_at",
        "coliseum_published_revenue_summary",
    ),
    Snapshot(
        "artist_event_revenue",
        'artist_id, event_id, currency, "window", as_of_date, ticket_cents, on_site_cents, gross_cents, '
        "refunds_cents, net_cents, tickets_sold, on_site_sales, excluded_transactions, paying_fans",
        "coliseum_published_event_revenue",
    ),
    Snapshot(
        "artist_revenue_per_fan",
        'artist_id, artist_name, currency, "window", as_of_date, net_cents, unique_fans, paying_fans, '
        "net_cents_per_fan, net_cents_per_paying_fan",
        "coliseum_published_revenue_per_fan",
    ),
    Snapshot(
        "coliseum_artist_dna",
        'entity_id, artist_name, "window", as_of_date, strength_a, rank_a, strength_t, rank_t, strength_g, '
        "rank_g, strength_c, rank_c, genre_diversity_score, genres, repeat_engagement_rate, repeat_fans, "
        "unique_fans, geographic_reach, cities",
        "coliseum_published_artist_dna",
    ),
)
PUBLISHED_NAMES: tuple[str, ...] = (
    *BOARD_NAMES,
    *(snapshot.name for snapshot in SNAPSHOTS),
    "coliseum_dna_mutations",
    "coliseum_metrics",
)

# Legacy readers (useColiseum, useDNA) read coliseum_metrics; it is a compatibility view over the mutations.
# coliseum_leaderboards (one cached table) is retired: readers move to the twelve boards.
METRICS_SELECT = """
    select passport_entry_id as id, entity_id, 'artist'::text as entity_type,
           'dna_' || lower(domain) as metric_type, effective_delta as metric_value,
           jsonb_build_object('event_type', event_type, 'domain', domain, 'weight_version', weight_version,
                              'passport_entry_id', passport_entry_id) as metadata,
           created_at as "timestamp"
    from {build}.coliseum_published_mutations
"""


class PublishConflictError(RuntimeError):
    """A published name is taken by something publish must not replace (a table, a materialized view)."""


class StaleCandidateError(RuntimeError):
    """The daily builds changed since the candidate was staged, or a day's rows differ from its audit."""


class OlderPublicationError(RuntimeError):
    """Publishing an as-of date older than the live one would roll the app back; it must be asked for."""


@dataclass(frozen=True)
class Publication:
    publication_id: int
    as_of_date: date
    row_counts: dict[str, int]
    published_at: datetime | None = None


def stage_candidate(conn: psycopg.Connection, settings: Settings, as_of_date: date, run_id: str) -> int:
    """Write: copy the as-of date's boards and every snapshot mart under a new candidate id. Readers see nothing yet."""
    build = sql.Identifier(settings.build_schema)
    with conn.transaction():
        ensure_infrastructure(conn, settings)
        publication_id = conn.execute(
            sql.SQL(
                "insert into {b}.coliseum_publications (as_of_date, dagster_run_id, status, ledger_version) "
                "values (%s, %s, 'candidate', (" + LEDGER_VERSION + ")) returning publication_id"
            ).format(b=build, build=build),
            (as_of_date, run_id),
        ).fetchone()[0]
        conn.execute(
            sql.SQL(
                """
                insert into {build}.coliseum_published_leaderboards
                select %(pid)s, domain, "window", rank, entity_id, artist_name, score, event_count,
                       unique_fans, previous_rank, rank_change, as_of_date
                from {build}.coliseum_leaderboard_history
                where as_of_date = %(d)s
                """
            ).format(build=build),
            {"pid": publication_id, "d": as_of_date},
        )
        for snapshot in SNAPSHOTS:
            _ensure_snapshot_table(conn, settings, snapshot)
            conn.execute(
                sql.SQL(
                    "insert into {build}.{table} (publication_id, {columns}) "
                    "select %(pid)s, {columns} from {build}.{model} where as_of_date = %(d)s"
                ).format(
                    build=build,
                    table=sql.Identifier(snapshot.table),
                    columns=sql.SQL(snapshot.columns),
                    model=sql.Identifier(snapshot.name),
                ),
                {"pid": publication_id, "d": as_of_date},
            )
        conn.execute(
            sql.SQL("update {}.coliseum_publications set row_counts = %s where publication_id = %s").format(build),
            (psycopg.types.json.Jsonb(_row_counts(conn, settings, publication_id)), publication_id),
        )
    return publication_id


def candidate_for_run(conn: psycopg.Connection, settings: Settings, run_id: str) -> tuple[int, date]:
    row = conn.execute(
        sql.SQL(
            "select publication_id, as_of_date from {}.coliseum_publications "
            "where dagster_run_id = %s and status = 'candidate' order by publication_id desc limit 1"
        ).format(sql.Identifier(settings.build_schema)),
        (run_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"run {run_id} staged no publication candidate")
    return row[0], row[1]


def publish(
    conn: psycopg.Connection, settings: Settings, publication_id: int, allow_older: bool = False
) -> Publication:
    """Publish an audited candidate: bring the published mutations to its as-of date and repoint every
    published view to it, in one transaction. An as-of date older than the live one needs `allow_older`."""
    build, target = sql.Identifier(settings.build_schema), sql.Identifier(settings.publish_schema)
    with conn.transaction():
        # Two publishes at once would interleave view switches; the second waits for the first.
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (PUBLISH_LOCK,))
        ensure_infrastructure(conn, settings)
        row = conn.execute(
            sql.SQL(
                "select as_of_date, status, ledger_version, (" + LEDGER_VERSION + ") "
                "from {build}.coliseum_publications where publication_id = %s"
            ).format(build=build),
            (publication_id,),
        ).fetchone()
        if row is None or row[1] != "candidate":
            raise ValueError(f"publication {publication_id} is not a staged candidate ({row and row[1]})")
        as_of_date, _status, staged_version, ledger_version = row
        if staged_version != ledger_version:
            raise StaleCandidateError(
                f"publication {publication_id} ({as_of_date}) was staged before a later daily build was audited; "
                "rerun the windows and publish"
            )
        live = current_publication(conn, settings)
        if live and as_of_date < live.as_of_date and not allow_older:
            raise OlderPublicationError(
                f"not publishing {as_of_date}: it would replace the live publication {live.publication_id} "
                f"as of {live.as_of_date} with an older one (ask for it explicitly: coliseum run --publish-older)"
            )
        _sync_mutations(conn, settings, as_of_date)
        conn.execute(sql.SQL("create schema if not exists {}").format(target))
        _refuse_non_views(conn, settings.publish_schema)
        for domain, window in BOARDS:
            conn.execute(
                sql.SQL(
                    """
                    create or replace view {target}.{name} as
                    select {columns} from {build}.coliseum_published_leaderboards
                    where publication_id = {pid} and domain = {domain} and "window" = {window}
                    order by rank, entity_id
                    """
                ).format(
                    target=target,
                    name=sql.Identifier(board_name(domain, window)),
                    columns=sql.SQL(BOARD_COLUMNS),
                    build=build,
                    pid=sql.Literal(publication_id),
                    domain=sql.Literal(domain),
                    window=sql.Literal(window),
                )
            )
        for snapshot in SNAPSHOTS:
            conn.execute(
                sql.SQL(
                    "create or replace view {target}.{name} as select {columns} "
                    "from {build}.{table} where publication_id = {pid}"
                ).format(
                    target=target,
                    name=sql.Identifier(snapshot.name),
                    columns=sql.SQL(snapshot.columns),
                    build=build,
                    table=sql.Identifier(snapshot.table),
                    pid=sql.Literal(publication_id),
                )
            )
        conn.execute(
            sql.SQL(
                "create or replace view {target}.coliseum_dna_mutations as select {columns} "
                "from {build}.coliseum_published_mutations"
            ).format(target=target, columns=sql.SQL(MUTATION_COLUMNS), build=build)
        )
        conn.execute(
            sql.SQL("create or replace view {target}.coliseum_metrics as " + METRICS_SELECT).format(
                target=target, build=build
            )
        )
        create_analytics_functions(conn, settings)
        create_entitlement_api(conn, settings, publication_id, PUBLISHED_NAMES)
        conn.execute(
            sql.SQL(
                "update {}.coliseum_publications set status = 'published', published_at = now() "
                "where publication_id = %s"
            ).format(build),
            (publication_id,),
        )
        _prune(conn, settings)
    return current_publication(conn, settings)  # type: ignore[return-value]


def _sync_mutations(conn: psycopg.Connection, settings: Settings, as_of_date: date) -> None:
    """Make the published mutations the audited build of every day up to the as-of date: replace the days
    whose audited build changed since they were published, drop the days after it. Each copied day must
    match its audit (count and sum), or nothing is published."""
    build = sql.Identifier(settings.build_schema)
    changed = conn.execute(
        sql.SQL(
            """
            select ledger.day, ledger.run_id, ledger.mutations, ledger.delta_sum
            from {b}.coliseum_daily_ledger as ledger
            left join {b}.coliseum_published_days as published on published.day = ledger.day
            where ledger.day <= %(d)s and ledger.run_id is not null
              and published.run_id is distinct from ledger.run_id
            """
        ).format(b=build),
        {"d": as_of_date},
    ).fetchall()
    days = [day for day, *_ in changed]
    conn.execute(
        sql.SQL(
            "delete from {b}.coliseum_published_mutations where activity_date = any(%(days)s) or activity_date > %(d)s"
        ).format(b=build),
        {"days": days, "d": as_of_date},
    )
    conn.execute(
        sql.SQL(
            "insert into {b}.coliseum_published_mutations ({columns}, activity_date) "
            "select {columns}, activity_date from {b}.coliseum_dna_mutations where activity_date = any(%(days)s)"
        ).format(b=build, columns=sql.SQL(MUTATION_COLUMNS)),
        {"days": days},
    )
    drifted = conn.execute(
        sql.SQL(
            """
            with copied as (
                select activity_date as day, count(*) as n, sum(effective_delta) as total
                from {b}.coliseum_published_mutations where activity_date = any(%(days)s) group by 1
            )
            select ledger.day, ledger.mutations, ledger.delta_sum, coalesce(copied.n, 0), coalesce(copied.total, 0)
            from {b}.coliseum_daily_ledger as ledger left join copied using (day)
            where ledger.day = any(%(days)s)
              and (ledger.mutations <> coalesce(copied.n, 0) or ledger.delta_sum <> coalesce(copied.total, 0))
            order by ledger.day
            """
        ).format(b=build),
        {"days": days},
    ).fetchall()
    if drifted:
        raise StaleCandidateError(
            "mutations changed after their day's audit (is a run rebuilding them?); nothing published: "
            + "; ".join(f"{d}: audited {n} (sum {t}), built {bn} (sum {bt})" for d, n, t, bn, bt in drifted[:5])
        )
    conn.execute(
        sql.SQL("delete from {b}.coliseum_published_days where day > %(d)s").format(b=build), {"d": as_of_date}
    )
    conn.execute(
        sql.SQL(
            "insert into {b}.coliseum_published_days (day, run_id) select * from unnest(%(days)s::date[], "
            "%(runs)s::text[]) on conflict (day) do update set run_id = excluded.run_id"
        ).format(b=build),
        {"days": days, "runs": [run for _day, run, *_ in changed]},
    )


INFRA_LOCK = "coliseum.infrastructure"
# The newest object of INFRA_DDL: when it exists, every earlier statement has run.
INFRA_LATEST = ("coliseum_daily_ledger", "building_run_id")


def ensure_infrastructure(conn: psycopg.Connection, settings: Settings) -> None:
    """Create or upgrade the publication and ledger tables, once. Two runs starting together would deadlock on
    each other's ALTER TABLE: the DDL runs under an advisory lock, and not at all once it is current."""
    if _infrastructure_current(conn, settings):
        return
    conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (INFRA_LOCK,))
    for ddl in INFRA_DDL:
        conn.execute(sql.SQL(ddl).format(build=sql.Identifier(settings.build_schema)))


def _infrastructure_current(conn: psycopg.Connection, settings: Settings) -> bool:
    table, column = INFRA_LATEST
    return bool(
        conn.execute(
            "select exists (select 1 from pg_attribute where attrelid = to_regclass(%s) and attname = %s "
            "and not attisdropped) and to_regclass(%s) is not null",
            (f"{settings.build_schema}.{table}", column, f"{settings.build_schema}.coliseum_published_days"),
        ).fetchone()[0]
    )


def _ensure_snapshot_table(conn: psycopg.Connection, settings: Settings, snapshot: Snapshot) -> None:
    """The snapshot table has the mart's published columns, typed as the mart types them."""
    build, table = sql.Identifier(settings.build_schema), sql.Identifier(snapshot.table)
    conn.execute(
        sql.SQL(
            "create table if not exists {build}.{table} as "
            "select null::bigint as publication_id, {columns} from {build}.{model} with no data"
        ).format(build=build, table=table, columns=sql.SQL(snapshot.columns), model=sql.Identifier(snapshot.name))
    )
    conn.execute(
        sql.SQL("create index if not exists {index} on {build}.{table} (publication_id)").format(
            index=sql.Identifier(f"{snapshot.table}_idx"), build=build, table=table
        )
    )


def _refuse_non_views(conn: psycopg.Connection, schema: str) -> None:
    rows = conn.execute(
        """
        select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relname = any(%s) and c.relkind <> 'v'
        """,
        (schema, list(PUBLISHED_NAMES)),
    ).fetchall()
    if rows:
        found = ", ".join(f"{schema}.{name} (relkind {kind})" for name, kind in rows)
        raise PublishConflictError(
            f"cannot publish: {found} exist(s) and are not views; rename or drop them after checking "
            "nothing reads them (legacy migration objects?)"
        )


def _row_counts(conn: psycopg.Connection, settings: Settings, publication_id: int) -> dict[str, int]:
    build = sql.Identifier(settings.build_schema)
    counts = {board_name(d, w): 0 for d, w in BOARDS}
    for domain, window, n in conn.execute(
        sql.SQL(
            'select domain, "window", count(*) from {}.coliseum_published_leaderboards '
            'where publication_id = %s group by domain, "window"'
        ).format(build),
        (publication_id,),
    ):
        counts[board_name(domain, window)] = n
    for snapshot in SNAPSHOTS:
        counts[snapshot.name] = conn.execute(
            sql.SQL("select count(*) from {}.{} where publication_id = %s").format(
                build, sql.Identifier(snapshot.table)
            ),
            (publication_id,),
        ).fetchone()[0]
    return counts


def _prune(conn: psycopg.Connection, settings: Settings) -> None:
    """Keep the last few publications (for diffing and rollback) and the live one; older snapshots go."""
    build = sql.Identifier(settings.build_schema)
    keep = sql.SQL(
        "(select publication_id from {b}.coliseum_publications order by publication_id desc limit %(n)s) "
        "union (select publication_id from {b}.coliseum_publications where status = 'published' "
        "order by published_at desc limit 1)"
    ).format(b=build)
    for table in ("coliseum_published_leaderboards", *(snapshot.table for snapshot in SNAPSHOTS)):
        conn.execute(
            sql.SQL("delete from {}.{} where publication_id not in ({})").format(build, sql.Identifier(table), keep),
            {"n": settings.publications_kept},
        )


def current_publication(conn: psycopg.Connection, settings: Settings) -> Publication | None:
    build = sql.Identifier(settings.build_schema)
    exists = conn.execute("select to_regclass(%s)", (f"{settings.build_schema}.coliseum_publications",)).fetchone()[0]
    if exists is None:
        return None
    ensure_infrastructure(conn, settings)
    row = conn.execute(
        sql.SQL(
            "select publication_id, as_of_date, row_counts, published_at from {}.coliseum_publications "
            "where status = 'published' order by published_at desc, publication_id desc limit 1"
        ).format(build)
    ).fetchone()
    return Publication(row[0], row[1], row[2] or {}, row[3]) if row else None
