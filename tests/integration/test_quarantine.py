"""Bad input: every case of the catalogue is quarantined with its reason, nothing is lost, counts reconcile."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from dagster_project.app.runner import execute_plan
from dagster_project.defs.nightly.plan import DAILY_JOB, Step
from dagster_project.devtools.generate import generate, generate_bad_rows
from tests.support.database import AS_OF
from tests.support.helpers import insert_entry, new_id, quiet

D = AS_OF
DAYS = 5
REASONS = (
    "missing_id",
    "missing_user_id",
    "unknown_event_type",
    "category_mismatch",
    "invalid_artist",
    "missing_created_at",
    "invalid_created_at",
    "before_platform_start",
    "metadata_not_object",
    "invalid_duration",
    "invalid_progress",
    "invalid_amount",
    "unknown_currency",
    "invalid_status",
    "refund_of_unknown_transaction",
    "invalid_event_id",
    "oversized_text",
    "control_characters",
    "conflicting_duplicate_id",
)


def run_days(database) -> None:
    first = D - timedelta(days=DAYS - 1)
    plan = [[Step(DAILY_JOB, partition_range=(first.isoformat(), D.isoformat()))]]
    execute_plan(database.settings, plan, D, database.instance, log=quiet)


# Text that looks like SQL is data: ordinary titles and comments, and an injection attempt too.
SQL_LIKE = ["Stop; Drop It Low", "great show; update me next time", "Union Select Hall",
            "x'; DROP TABLE passport_entries; --"]  # fmt: skip
SQL_LIKE_ARTIST = new_id()


@pytest.fixture(scope="module")
def expected(database):
    with database.connect() as conn:
        generate(conn, database.settings, events=1500, days=DAYS, seed=3, end_date=D)
        outcomes = generate_bad_rows(conn, database.settings, 120, seed=3, end_date=D, days=DAYS)
        for i, text in enumerate(SQL_LIKE):
            insert_entry(
                conn,
                user_id=new_id(),
                event_type="artist_follow",
                entity_type="artist",
                entity_id=SQL_LIKE_ARTIST,
                artist_id=SQL_LIKE_ARTIST,
                created_at=datetime.combine(D, time(10, i), tzinfo=UTC),
                metadata={"genre": text, "note": text},
            )
    run_days(database)
    return outcomes


def quarantine_counts(database) -> dict[str, int]:
    return dict(database.query("select rejection_reason, count(*) from coliseum.coliseum_quarantine group by 1"))


@pytest.mark.parametrize("reason", REASONS)
def test_each_bad_case_is_quarantined_with_its_reason(database, expected, reason):
    assert expected[reason] >= 2, "the catalogue produced this case"
    assert quarantine_counts(database).get(reason) == expected[reason]


def test_exact_duplicates_count_once_and_are_reported(database, expected):
    copies = database.query(
        "select coalesce(sum(duplicate_copies), 0) from coliseum.stg_passport__entries where rejection_reason is null"
    )[0][0]
    assert copies == expected["exact_duplicate"]
    assert "exact_duplicate" not in quarantine_counts(database)


def test_partitions_reconcile_and_every_row_is_marked(database, expected):
    rows = database.query(
        """
        with raw as (
            select (created_at at time zone 'UTC')::date as day, count(*) as n from public.passport_entries
            where created_at >= %(first)s and created_at < %(end)s group by 1
        ), staged as (
            select activity_date as day,
                   count(*) filter (where rejection_reason is null) as counted,
                   count(*) filter (where rejection_reason is not null) as quarantined,
                   sum(duplicate_copies) as duplicates
            from coliseum.stg_passport__entries where not swept group by 1
        )
        select raw.day, raw.n, staged.counted + staged.quarantined + staged.duplicates
        from raw join staged using (day)
        """,
        {"first": D - timedelta(days=DAYS - 1), "end": D + timedelta(days=1)},
    )
    assert len(rows) == DAYS
    assert all(raw == accounted for _day, raw, accounted in rows), rows
    total = database.query("select count(*) from public.passport_entries")[0][0]
    accounted = database.query(
        "select (select count(*) from coliseum.stg_passport__entries where not swept) "
        "+ (select sum(duplicate_copies) from coliseum.stg_passport__entries) "
        "+ (select count(*) from coliseum.coliseum_quarantine where swept)"
    )[0][0]
    assert accounted == total, "raw = counted + quarantined + exact duplicates, over the whole log"
    assert database.query("select count(*) from public.passport_entries where coliseum_processed_at is null") == [(0,)]


def test_quarantined_entries_never_reach_mutations(database, expected):
    leaked = database.query(
        "select count(*) from coliseum.coliseum_dna_mutations m join coliseum.coliseum_quarantine q "
        "on q.passport_entry_id = m.passport_entry_id"
    )
    assert leaked == [(0,)]


def test_sql_like_text_is_counted_stored_verbatim_and_never_executed(database, expected):
    """No reason code for text that looks like SQL: such entries score like any other, their text is stored and
    shown exactly as written (bound parameters, jsonb), and nothing of it ever runs."""
    staged = database.query(
        "select metadata ->> 'note', genre, rejection_reason from coliseum.stg_passport__entries "
        "where artist_id = %s order by created_at",
        (SQL_LIKE_ARTIST,),
    )
    assert staged == [(text, text.lower(), None) for text in SQL_LIKE]
    counted = database.query(
        "select count(distinct passport_entry_id) from coliseum.coliseum_dna_mutations where entity_id = %s",
        (SQL_LIKE_ARTIST,),
    )
    assert counted == [(len(SQL_LIKE),)]
    tags = database.query(
        "select tag from coliseum.int_artist_tags_daily where entity_id = %s and tag_kind = 'genre' order by tag",
        (SQL_LIKE_ARTIST,),
    )
    assert tags == [(text.lower(),) for text in sorted(SQL_LIKE, key=str.lower)]
    assert database.query("select to_regclass('public.passport_entries') is not null") == [(True,)]


def test_rerun_keeps_first_seen_and_the_same_quarantine(database, expected):
    query = (
        "select quarantine_key, rejection_reason, first_seen_at, first_run_id, raw_entry::text "
        "from coliseum.coliseum_quarantine order by quarantine_key"
    )
    before = database.query(query)
    run_days(database)
    assert database.query(query) == before
