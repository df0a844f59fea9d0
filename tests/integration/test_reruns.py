"""Reruns: idempotency, late events, and partition isolation between windows."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from dagster_project.app.runner import execute_plan, run_pipeline
from dagster_project.defs.nightly.pending import late_days
from dagster_project.defs.nightly.plan import DAILY_JOB, WINDOWS_JOB, Step
from dagster_project.devtools.generate import generate
from tests.support.database import AS_OF
from tests.support.helpers import follow, insert_profile, new_id, quiet, table_rows

D = AS_OF
LATE_ARTIST, FAN = new_id(), new_id()
QUIET_ARTIST = new_id()  # active on D-6 and D-2 only: erasing D-2 makes the D-6 totals current again
BUILD_TABLES = {
    # source_ctids: where staging read each row; marking an entry processed moves it.
    "coliseum.stg_passport__entries": ("passport_entry_id", ("source_ctids",)),
    "coliseum.coliseum_dna_mutations": ("passport_entry_id, domain", ()),
    "coliseum.int_artist_domain_daily": ("activity_date, entity_id, domain", ()),
    "coliseum.int_artist_fans_daily": ("activity_date, entity_id, domain, user_id", ()),
    "coliseum.int_artist_fan_days": ("activity_date, entity_id, user_id", ()),
    "coliseum.int_artist_new_fans_daily": ("activity_date, entity_id", ()),
    "coliseum.int_artist_domain_new_fans_daily": ("activity_date, entity_id, domain", ()),
    "coliseum.int_artist_domain_totals": ("entity_id, domain, activity_date", ()),
    "coliseum.int_artist_totals": ("entity_id, activity_date", ()),
    "coliseum.int_artist_tag_totals": ("entity_id, tag_kind, tag, activity_date", ()),
    "coliseum.int_artist_revenue_daily": ("activity_date, artist_id, currency", ()),
    "coliseum.int_artist_new_payers_daily": ("activity_date, artist_id, currency", ()),
    "coliseum.int_artist_revenue_totals": ("artist_id, currency, activity_date", ()),
    "coliseum.coliseum_artist_fans": ('as_of_date, "window", entity_id', ()),
    "coliseum.coliseum_domain_strength": ('as_of_date, "window", entity_id, domain', ()),
    "coliseum.coliseum_leaderboard_history": ('as_of_date, "window", domain, rank, entity_id', ()),
}


def snapshot(database) -> dict[str, list[tuple]]:
    with database.connect() as conn:
        tables = {name: table_rows(conn, name, order, exclude) for name, (order, exclude) in BUILD_TABLES.items()}
        for board in ("a_7d", "g_30d", "c_alltime"):
            tables[board] = conn.execute(f"select * from public.coliseum_leaderboard_{board}").fetchall()
    return tables


def history(database, window: str) -> list[tuple]:
    with database.connect() as conn:
        return conn.execute(
            "select domain, rank, entity_id, score, event_count, unique_fans from "
            'coliseum.coliseum_leaderboard_history where as_of_date = %s and "window" = %s '
            "order by domain, rank, entity_id",
            (D, window),
        ).fetchall()


def score(rows: list[tuple], domain: str, entity_id: str) -> Decimal | None:
    return next((r[3] for r in rows if r[0] == domain and str(r[2]) == entity_id), None)


@pytest.fixture(scope="module")
def built(database):
    with database.connect() as conn:
        generate(conn, database.settings, events=2500, days=20, seed=5, end_date=D)
        insert_profile(conn, LATE_ARTIST, "Late Artist")
        follow(conn, LATE_ARTIST, FAN, datetime.combine(D - timedelta(days=10), time(12), tzinfo=UTC))
        insert_profile(conn, QUIET_ARTIST, "Quiet Artist")
        for days_before in (6, 2):
            follow(conn, QUIET_ARTIST, FAN, datetime.combine(D - timedelta(days=days_before), time(9), tzinfo=UTC))
    return run_pipeline(database.settings, [D], database.instance)


def test_rerun_gives_identical_tables(database, built):
    before = snapshot(database)
    assert all(before.values()), "every snapshotted relation has rows"
    run_pipeline(database.settings, [D], database.instance)
    assert snapshot(database) == before


def test_late_event_counts_only_after_its_day_is_rerun(database, built):
    late_day = D - timedelta(days=3)
    seven_before, thirty_before, alltime_before = (
        history(database, "7d"),
        history(database, "30d"),
        history(database, "alltime"),
    )
    published_before = snapshot(database)
    assert score(seven_before, "A", LATE_ARTIST) is None  # its only follow is 10 days old
    with database.connect() as conn:
        assert late_days(conn, database.settings) == []
        follow(conn, LATE_ARTIST, new_id(), datetime.combine(late_day, time(8), tzinfo=UTC))
        assert late_days(conn, database.settings) == [late_day]
    assert snapshot(database) == published_before, "nothing changes before the day is rerun"

    # Rerun the late day and only the 7d window of D: 30d and alltime must stay exactly as they were.
    plan = [
        [Step(DAILY_JOB, partition_key=late_day.isoformat())],
        [Step(WINDOWS_JOB, partition_key=f"{D}|7d")],
    ]
    execute_plan(database.settings, plan, D, database.instance, log=quiet)
    assert score(history(database, "7d"), "A", LATE_ARTIST) == Decimal("1.2")
    assert history(database, "30d") == thirty_before
    assert history(database, "alltime") == alltime_before
    with database.connect() as conn:
        assert late_days(conn, database.settings) == []

    # The full nightly plan then brings every window and the publication up to date.
    run_pipeline(database.settings, [D], database.instance)
    assert score(history(database, "30d"), "A", LATE_ARTIST) == Decimal("2.4")
    with database.connect() as conn:
        published = conn.execute(
            "select score from public.coliseum_leaderboard_a_30d where entity_id = %s", (LATE_ARTIST,)
        ).fetchone()
    assert published == (Decimal("2.4"),)


ALLTIME_FANS_REFERENCE = """
    select entity_id, domain, count(distinct user_id) from coliseum.int_artist_fans_daily
    where activity_date <= %(d)s group by entity_id, domain order by 1, 2
"""
ALLTIME_REPEAT_REFERENCE = """
    select entity_id, count(*), count(*) filter (where days >= 2) from (
        select entity_id, user_id, count(distinct activity_date) as days from coliseum.int_artist_fans_daily
        where activity_date <= %(d)s group by entity_id, user_id
    ) as fan_days group by entity_id order by 1
"""


def test_late_first_day_moves_alltime_fans(database, built):
    """All-time fans are summed from first/second active days: a late day before a fan's first day must move it
    (repeat fan now), and a new fan on a late day counts. Reference: distinct fans over the daily fan rows."""
    with database.connect() as conn:
        artist, fan, first_day = conn.execute(
            "select entity_id, user_id, min(activity_date) from coliseum.int_artist_fans_daily "
            "group by entity_id, user_id having min(activity_date) >= %s and "
            "count(distinct activity_date) = 1 order by 1, 2 limit 1",
            (D - timedelta(days=12),),
        ).fetchone()
        before = conn.execute(
            "select unique_fans, repeat_fans from coliseum.coliseum_artist_dna "
            "where as_of_date = %s and \"window\" = 'alltime' and entity_id = %s",
            (D, artist),
        ).fetchone()
        late_day = first_day - timedelta(days=4)
        follow(conn, str(artist), str(fan), datetime.combine(late_day, time(9), tzinfo=UTC))
        follow(conn, str(artist), new_id(), datetime.combine(late_day, time(10), tzinfo=UTC))
        assert late_days(conn, database.settings) == [late_day]

    run_pipeline(database.settings, [D], database.instance)

    with database.connect() as conn:
        after = conn.execute(
            "select unique_fans, repeat_fans from coliseum.coliseum_artist_dna "
            "where as_of_date = %s and \"window\" = 'alltime' and entity_id = %s",
            (D, artist),
        ).fetchone()
        assert after == (before[0] + 1, before[1] + 1), "one new fan, and the late fan now has two active days"
        strength = conn.execute(
            "select entity_id, domain, unique_fans from coliseum.coliseum_domain_strength "
            "where as_of_date = %(d)s and \"window\" = 'alltime' order by 1, 2",
            {"d": D},
        ).fetchall()
        assert strength == conn.execute(ALLTIME_FANS_REFERENCE, {"d": D}).fetchall()
        dna = conn.execute(
            "select entity_id, unique_fans, repeat_fans from coliseum.coliseum_artist_dna "
            "where as_of_date = %(d)s and \"window\" = 'alltime' order by 1",
            {"d": D},
        ).fetchall()
        reference = conn.execute(ALLTIME_REPEAT_REFERENCE, {"d": D}).fetchall()
        # The DNA lists ranked artists; every one of them matches the reference.
        assert dna and set(dna) <= set(reference)


DOMAIN_TOTALS_REFERENCE = """
    select entity_id, domain, activity_date, sum(strength) over days, sum(event_count) over days,
        sum(new_fans) over days, lead(activity_date) over days
    from (
        select activity_date, entity_id, domain, coalesce(strength, 0) as strength,
            coalesce(event_count, 0) as event_count, coalesce(new_fans, 0) as new_fans
        from coliseum.int_artist_domain_daily
        full join coliseum.int_artist_domain_new_fans_daily using (activity_date, entity_id, domain)
    ) as daily
    window days as (partition by entity_id, domain order by activity_date)
    order by 1, 2, 3
"""
DOMAIN_TOTALS = """
    select entity_id, domain, activity_date, strength, event_count, unique_fans, valid_until
    from coliseum.int_artist_domain_totals order by 1, 2, 3
"""


def test_erased_day_makes_earlier_totals_current_again(database, built):
    """A rerun that removes an artist's only activity of a day: the running totals carried into that day
    must become current again. Reference: cumulative sums over the daily tables."""
    erased_day = D - timedelta(days=2)
    with database.connect() as conn:
        artist, domain = conn.execute(
            "select entity_id, domain from coliseum.int_artist_domain_totals as totals "
            "where activity_date < %(day)s and valid_until = %(day)s and not exists ("
            "  select 1 from coliseum.int_artist_domain_totals as later "
            "  where later.entity_id = totals.entity_id and later.domain = totals.domain "
            "    and later.activity_date > %(day)s"
            ") order by 1, 2 limit 1",
            {"day": erased_day},
        ).fetchone()
        # An erasure (e.g. a deletion request) of the artist's entries of that day.
        erased = conn.execute(
            "delete from public.passport_entries where id in (select passport_entry_id from "
            "coliseum.stg_passport__entries where artist_id = %s and activity_date = %s)",
            (artist, erased_day),
        ).rowcount
        assert erased > 0
    erase = [[Step(DAILY_JOB, partition_key=erased_day.isoformat())]]
    execute_plan(database.settings, erase, D, database.instance, log=quiet)
    with database.connect() as conn:
        totals = conn.execute(DOMAIN_TOTALS).fetchall()
        assert totals == conn.execute(DOMAIN_TOTALS_REFERENCE).fetchall()
        current = [row for row in totals if (row[0], row[1]) == (artist, domain) and row[6] is None]
        assert len(current) == 1 and current[0][2] < erased_day
    run_pipeline(database.settings, [D], database.instance)
    with database.connect() as conn:
        strength = conn.execute(
            "select strength, event_count, unique_fans from coliseum.coliseum_domain_strength "
            "where as_of_date = %s and \"window\" = 'alltime' and entity_id = %s and domain = %s",
            (D, artist, domain),
        ).fetchone()
    assert strength == current[0][3:6]


def _build_indexes(database) -> list[tuple[str, str, str, int]]:
    """The build schema's indexes of the daily models: (table, name, definition, oid)."""
    with database.connect() as conn:
        return conn.execute(
            "select tablename, indexname, indexdef, (schemaname || '.' || quote_ident(indexname))::regclass::oid "
            "from pg_indexes where schemaname = 'coliseum' "
            "and (tablename like 'int\\_%%' or tablename in ('stg_passport__entries', 'coliseum_dna_mutations')) "
            "order by 1, 2"
        ).fetchall()


def _staging_analyzes(database) -> int:
    """Manual ANALYZEs of the staged log (autovacuum's are counted apart, in autoanalyze_count)."""
    with database.connect() as conn:
        return conn.execute(
            "select analyze_count from pg_stat_user_tables where relid = 'coliseum.stg_passport__entries'::regclass"
        ).fetchone()[0]


def test_statistics_are_refreshed_only_when_a_build_is_a_large_part_of_the_table(database, built):
    """analyze_if_grown: a rerun of one day of 20 (about 5% of the rows) keeps staging's statistics (ANALYZE
    samples the whole table: a nightly cost that grows with the history); a rebuild of every day refreshes them."""
    analyzed = _staging_analyzes(database)
    assert analyzed >= 1, "the first build of the history analyzed the staged log"
    one_day = [[Step(DAILY_JOB, partition_key=(D - timedelta(days=5)).isoformat())]]
    execute_plan(database.settings, one_day, D, database.instance, log=quiet)
    assert _staging_analyzes(database) == analyzed

    indexes = _build_indexes(database)
    every_day = [[Step(DAILY_JOB, partition_range=(built.days[0].isoformat(), built.days[-1].isoformat()))]]
    execute_plan(database.settings, every_day, D, database.instance, log=quiet)
    assert _staging_analyzes(database) == analyzed + 1
    # Such a build is a bulk load (replace_partition.sql): every index was dropped and rebuilt as it was (new
    # index objects, the same names and definitions).
    rebuilt = _build_indexes(database)
    assert [row[:3] for row in rebuilt] == [row[:3] for row in indexes]
    assert not {row[3] for row in rebuilt} & {row[3] for row in indexes}
