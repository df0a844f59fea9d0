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

from dagster_project.contract import (
    BOARD_RELATIONS,
    BOARDS,
    FAN_NAMES,
    METRICS,
    MUTATIONS,
    PUBLISHED_NAMES,
    SNAPSHOTS,
    USER_DNA_COPY,
    USER_ENTRIES_COPY,
    board_name,
)
from dagster_project.db.connection import run
from dagster_project.defs.publish.analytics import create_analytics_functions
from dagster_project.defs.publish.entitlements import create_entitlement_api
from dagster_project.defs.publish.fan import create_fan_views
from dagster_project.settings import Settings

PUBLISH_LOCK = "coliseum.publish"
BOARD_COLUMNS = BOARD_RELATIONS[0].select_list
MUTATION_COLUMNS = MUTATIONS.select_list

# The state of the audited daily builds a candidate was staged from: publish refuses a candidate when a day
# was re-audited in between (the published mutations would not match the boards).
LEDGER_VERSION = (
    "select coalesce(max(audited_at)::text, '') || ':' || count(audited_at) from {build}.coliseum_daily_ledger"
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
            conn.execute(
                sql.SQL(
                    "insert into {build}.{table} (publication_id, {columns}) "
                    "select %(pid)s, {columns} from {build}.{model} where as_of_date = %(d)s"
                ).format(
                    build=build,
                    table=sql.Identifier(snapshot.snapshot_table),
                    columns=sql.SQL(snapshot.select_list),
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
    row = run(
        conn,
        settings,
        "select publication_id, as_of_date from {build}.coliseum_publications "
        "where dagster_run_id = %s and status = 'candidate' order by publication_id desc limit 1",
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
        changed = _sync_mutations(conn, settings, as_of_date)
        _sync_fan_copies(conn, settings, as_of_date, changed)
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
                    columns=sql.SQL(snapshot.select_list),
                    build=build,
                    table=sql.Identifier(snapshot.snapshot_table),
                    pid=sql.Literal(publication_id),
                )
            )
        conn.execute(
            sql.SQL(
                "create or replace view {target}.{name} as select {columns} from {build}.coliseum_published_mutations"
            ).format(target=target, name=sql.Identifier(MUTATIONS.name), columns=sql.SQL(MUTATION_COLUMNS), build=build)
        )
        conn.execute(
            sql.SQL("create or replace view {target}.{name} as " + METRICS_SELECT).format(
                target=target, name=sql.Identifier(METRICS.name), build=build
            )
        )
        create_analytics_functions(conn, settings)
        # The fan views are the app roles' to read (each user their own rows); the rest only through functions.
        create_entitlement_api(conn, settings, publication_id, tuple(n for n in PUBLISHED_NAMES if n not in FAN_NAMES))
        create_fan_views(conn, settings, as_of_date)
        conn.execute(
            sql.SQL(
                "update {}.coliseum_publications set status = 'published', published_at = now() "
                "where publication_id = %s"
            ).format(build),
            (publication_id,),
        )
        _prune(conn, settings)
    return current_publication(conn, settings)  # type: ignore[return-value]


def _sync_mutations(conn: psycopg.Connection, settings: Settings, as_of_date: date) -> list[date]:
    """Make the published mutations the audited build of every day up to the as-of date: replace the days
    whose audited build changed since they were published, drop the days after it. Each copied day must
    match its audit (count and sum), or nothing is published. Returns the days replaced."""
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
    _copy_days(conn, settings, "coliseum_dna_mutations", "coliseum_published_mutations",
               f"{MUTATION_COLUMNS}, activity_date", days, as_of_date)  # fmt: skip
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
    return days


def _copy_days(
    conn: psycopg.Connection, settings: Settings, model: str, table: str, columns: str, days: list[date], as_of: date
) -> None:
    """Replace `days` of a published copy by the build model's rows, and drop its days after `as_of`."""
    build, copy = sql.Identifier(settings.build_schema), sql.Identifier(table)
    params = {"days": days, "d": as_of}
    bulk = _is_empty(conn, settings, table)
    conn.execute(
        sql.SQL("delete from {b}.{t} where activity_date = any(%(days)s) or activity_date > %(d)s").format(
            b=build, t=copy
        ),
        params,
    )
    insert = sql.SQL(
        "insert into {b}.{t} ({columns}) select {columns} from {b}.{model} where activity_date = any(%(days)s)"
    ).format(b=build, t=copy, columns=sql.SQL(columns), model=sql.Identifier(model))
    _insert_copy(conn, settings, table, insert, params, bulk)


def _is_empty(conn: psycopg.Connection, settings: Settings, table: str) -> bool:
    build, copy = sql.Identifier(settings.build_schema), sql.Identifier(table)
    return conn.execute(sql.SQL("select not exists (select from {}.{})").format(build, copy)).fetchone()[0]


def _insert_copy(
    conn: psycopg.Connection,
    settings: Settings,
    table: str,
    insert: sql.Composed,
    params: dict[str, object],
    bulk: bool,
) -> None:
    """Run `insert` into a published copy; `bulk` (the copy held nothing before this publish: a first publish,
    or after a reset) makes it a bulk load: the copy's indexes are dropped and rebuilt once after the insert,
    with the same definitions (a first load at 1M events spent 29 s inserting 4.3M rows index by index).
    No publication reads an empty copy, so the exclusive lock this takes until the publish commits holds no
    reader back."""
    build = sql.Identifier(settings.build_schema)
    indexes = (
        conn.execute(
            "select indexname, indexdef from pg_indexes where schemaname = %s and tablename = %s order by 1",
            (settings.build_schema, table),
        ).fetchall()
        if bulk
        else []
    )
    for name, _definition in indexes:
        conn.execute(sql.SQL("drop index {}.{}").format(build, sql.Identifier(name)))
    conn.execute(insert, params)
    for _name, definition in indexes:
        conn.execute(definition)


def _sync_fan_copies(conn: psycopg.Connection, settings: Settings, as_of_date: date, days: list[date]) -> None:
    """Bring the fan side's published copies to the audited builds up to the as-of date, with the days the
    mutations replaced: the users' entries day by day (each copied day's deltas must add up to its audit), and
    the DNA running sums from the earliest replaced day on (a day's rebuild rewrites its users' later rows and
    the valid_until of their row before it)."""
    build = sql.Identifier(settings.build_schema)
    entries, dna = (sql.Identifier(copy.table) for copy in (USER_ENTRIES_COPY, USER_DNA_COPY))
    params = {"days": days, "d": as_of_date, "since": min(days) if days else None}
    _copy_days(conn, settings, USER_ENTRIES_COPY.model, USER_ENTRIES_COPY.table, USER_ENTRIES_COPY.select_list,
               days, as_of_date)  # fmt: skip
    drifted = conn.execute(
        sql.SQL(
            """
            with copied as (
                select activity_date as day, sum(delta_a + delta_t + delta_g + delta_c) as total
                from {b}.{t} where activity_date = any(%(days)s) group by 1
            )
            select ledger.day, ledger.delta_sum, coalesce(copied.total, 0)
            from {b}.coliseum_daily_ledger as ledger left join copied using (day)
            where ledger.day = any(%(days)s) and ledger.delta_sum <> coalesce(copied.total, 0)
            order by ledger.day
            """
        ).format(b=build, t=entries),
        params,
    ).fetchall()
    if drifted:
        raise StaleCandidateError(
            "the users' entries differ from their day's audit (is a run rebuilding them?); nothing published: "
            + "; ".join(f"{d}: audited delta sum {t}, entries {e}" for d, t, e in drifted[:5])
        )
    model = sql.Identifier(USER_DNA_COPY.model)
    if days:
        columns = sql.SQL(USER_DNA_COPY.select_list)
        bulk = _is_empty(conn, settings, USER_DNA_COPY.table)
        conn.execute(sql.SQL("delete from {b}.{t} where activity_date >= %(since)s").format(b=build, t=dna), params)
        insert = sql.SQL(
            "insert into {b}.{t} ({columns}) select {columns} from {b}.{model} "
            "where activity_date >= %(since)s and activity_date <= %(d)s"
        ).format(b=build, t=dna, columns=columns, model=model)
        _insert_copy(conn, settings, USER_DNA_COPY.table, insert, params, bulk)
        # Earlier rows whose next active day moved: now pointing into the rebuilt days (found by the build's
        # valid_until index), or no longer (by the copy's), each probed by key on the other side. A join of the
        # two was planned as a hash join over a sequential scan of one whole history, growing with it (0.5-0.6 s
        # for each side at 1M events on a loaded host).
        conn.execute(
            sql.SQL(
                """
                update {b}.{t} as published
                set valid_until = (
                    select built.valid_until from {b}.{model} as built
                    where built.user_id = published.user_id and built.activity_date = published.activity_date
                )
                where published.ctid = any(array(
                    select copy.ctid
                    from {b}.{model} as built
                    cross join lateral (
                        select copy.ctid from {b}.{t} as copy
                        where copy.user_id = built.user_id and copy.activity_date = built.activity_date
                          and copy.valid_until is distinct from built.valid_until
                        offset 0
                    ) as copy
                    where built.activity_date < %(since)s and built.valid_until >= %(since)s
                    union all
                    select copy.ctid
                    from {b}.{t} as copy
                    cross join lateral (
                        select built.valid_until from {b}.{model} as built
                        where built.user_id = copy.user_id and built.activity_date = copy.activity_date
                        offset 0
                    ) as built
                    where copy.activity_date < %(since)s and copy.valid_until >= %(since)s
                      and copy.valid_until is distinct from built.valid_until
                ))
                """
            ).format(b=build, t=dna, model=model),
            params,
        )
    conn.execute(sql.SQL("delete from {b}.{t} where activity_date > %(d)s").format(b=build, t=dna), params)


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
                build, sql.Identifier(snapshot.snapshot_table)
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
    for table in ("coliseum_published_leaderboards", *(snapshot.snapshot_table for snapshot in SNAPSHOTS)):
        conn.execute(
            sql.SQL("delete from {}.{} where publication_id not in ({})").format(build, sql.Identifier(table), keep),
            {"n": settings.publications_kept},
        )


def current_publication(conn: psycopg.Connection, settings: Settings) -> Publication | None:
    """The live publication (None before the first). Read-only: read paths call it."""
    build = sql.Identifier(settings.build_schema)
    exists = conn.execute("select to_regclass(%s)", (f"{settings.build_schema}.coliseum_publications",)).fetchone()[0]
    if exists is None:
        return None
    row = conn.execute(
        sql.SQL(
            "select publication_id, as_of_date, row_counts, published_at from {}.coliseum_publications "
            "where status = 'published' order by published_at desc, publication_id desc limit 1"
        ).format(build)
    ).fetchone()
    return Publication(row[0], row[1], row[2] or {}, row[3]) if row else None
