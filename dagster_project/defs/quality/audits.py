"""SQL audits that are not row expectations: reconciliation, volume against the last publication, profiles."""

from __future__ import annotations

from datetime import date

import psycopg
from dagster import AssetKey
from psycopg import sql

from dagster_project.contract import CANDIDATE_KEY, STAGING_KEY, WINDOWS, window_start
from dagster_project.db.connection import run
from dagster_project.defs.quality.results import AuditResult
from dagster_project.settings import Settings


def reconciliation(conn: psycopg.Connection, settings: Settings, days: list[date]) -> AuditResult:
    """Per day: raw entries = counted + quarantined + exact duplicates (all from the staged partition), and the
    daily rollup holds exactly the day's mutations (count and sum), so window audits may read the rollup."""
    rows = conn.execute(
        sql.SQL(
            """
            with days as (select unnest(%(days)s::date[]) as day),
            raw as (
                select (created_at at time zone 'UTC')::date as day, count(*) as raw
                from {source}.passport_entries
                where created_at >= %(first)s::date::timestamp at time zone 'UTC'
                  and created_at < (%(last)s::date + 1)::timestamp at time zone 'UTC'
                group by 1
            ),
            staged as (
                select activity_date as day,
                       count(*) filter (where rejection_reason is null) as counted,
                       count(*) filter (where rejection_reason is not null) as quarantined,
                       coalesce(sum(duplicate_copies), 0) as duplicates
                from {build}.stg_passport__entries
                where not swept and activity_date between %(first)s and %(last)s
                group by 1
            ),
            mutations as (
                select activity_date as day, count(*) as n, sum(effective_delta) as total
                from {build}.coliseum_dna_mutations
                where activity_date between %(first)s and %(last)s
                group by 1
            ),
            rollup as (
                select activity_date as day, sum(event_count) as n, sum(strength) as total
                from {build}.int_artist_domain_daily
                where activity_date between %(first)s and %(last)s
                group by 1
            )
            select days.day, coalesce(raw.raw, 0), coalesce(staged.counted, 0), coalesce(staged.quarantined, 0),
                   coalesce(staged.duplicates, 0),
                   coalesce(mutations.n, 0) = coalesce(rollup.n, 0)
                   and coalesce(mutations.total, 0) = coalesce(rollup.total, 0)
            from days left join raw using (day) left join staged using (day)
            left join mutations using (day) left join rollup using (day)
            order by days.day
            """
        ).format(source=sql.Identifier(settings.source_schema), build=sql.Identifier(settings.build_schema)),
        {"days": days, "first": min(days), "last": max(days)},
    ).fetchall()
    broken = [
        {
            "day": str(day),
            "raw": raw,
            "counted": counted,
            "quarantined": quarantined,
            "exact_duplicates": dups,
            "rollup_matches_mutations": rolled_up,
        }
        for day, raw, counted, quarantined, dups, rolled_up in rows
        if raw != counted + quarantined + dups or not rolled_up
    ]
    totals = [sum(r[i] for r in rows) for i in range(1, 5)]
    summary = (
        f"raw {totals[0]} = counted {totals[1]} + quarantined {totals[2]} + exact duplicates {totals[3]}"
        if not broken
        else f"{len(broken)} day(s) do not reconcile: " + ", ".join(b["day"] for b in broken)
    )
    return _result("reconciliation", STAGING_KEY, True, broken, summary)


def board_row_counts(conn: psycopg.Connection, settings: Settings, publication_id: int) -> dict[tuple[str, str], int]:
    return {
        (domain, window): n
        for domain, window, n in conn.execute(
            sql.SQL(
                'select domain, "window", count(*) from {}.coliseum_published_leaderboards '
                'where publication_id = %s group by domain, "window"'
            ).format(sql.Identifier(settings.build_schema)),
            (publication_id,),
        )
    }


def volume_anomaly(
    conn: psycopg.Connection, settings: Settings, candidate: int, published: int | None, max_drop: float
) -> AuditResult:
    """Warn when a board shrinks by more than `max_drop` (a share) against the current publication."""
    if published is None:
        return _result("volume_anomaly", CANDIDATE_KEY, False, [], "no previous publication to compare with")
    before, after = board_row_counts(conn, settings, published), board_row_counts(conn, settings, candidate)
    drops = [
        {"board": f"{d.lower()}_{w}", "published_rows": n, "candidate_rows": after.get((d, w), 0)}
        for (d, w), n in sorted(before.items())
        if n > 0 and (n - after.get((d, w), 0)) / n > max_drop
    ]
    summary = (
        f"no board dropped more than {max_drop:.0%} of its rows"
        if not drops
        else f"{len(drops)} board(s) dropped more than {max_drop:.0%}: " + ", ".join(x["board"] for x in drops)
    )
    return _result("volume_anomaly", CANDIDATE_KEY, False, drops, summary)


def artists_without_profile(conn: psycopg.Connection, settings: Settings, as_of: date) -> AuditResult:
    rows = run(
        conn,
        settings,
        "select distinct entity_id::text, artist_name from {build}.coliseum_leaderboard_history "
        "where as_of_date = %s and missing_profile order by 1",
        (as_of,),
    ).fetchall()
    summary = f"{len(rows)} ranked artist(s) have no artist_profiles row (ranked under a fallback name)"
    return _result(
        "artists_without_profile", CANDIDATE_KEY, False, [{"entity_id": e, "shown_as": n} for e, n in rows], summary
    )


def _result(check: str, asset: AssetKey, blocking: bool, failures: list[dict], summary: str) -> AuditResult:
    """Passed when nothing failed; the failures are the count and the sample."""
    return AuditResult(
        check_name=check,
        asset=asset.to_user_string(),
        passed=not failures,
        blocking=blocking,
        failing_count=len(failures),
        summary=summary,
        sample=failures,
    )


def window_placeholders(as_of: date) -> dict[str, str]:
    """The suites' window placeholders as of `as_of`: `windows`, each window and its first day as a SQL relation
    `w("window", window_start)` (-infinity for all time); `bounded_windows`, the same for the windows with a first
    day; `bounded_since`, the earliest of those days (a literal bound, so a suite reads those days by index)."""
    starts = {window: window_start(as_of, window) for window in WINDOWS}
    bounded = {window: start for window, start in starts.items() if start is not None}

    def relation(windows: dict[str, date | None]) -> str:
        rows = ", ".join(
            f"('{window}', " + ("'-infinity'::date" if start is None else f"'{start.isoformat()}'::date") + ")"
            for window, start in windows.items()
        )
        return f'(values {rows}) as w("window", window_start)'

    return {
        "windows": relation(starts),
        "bounded_windows": relation(bounded),
        "bounded_since": min(bounded.values()).isoformat(),
    }
