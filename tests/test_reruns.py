"""Reruns: idempotency, late events, and partition isolation between windows."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from dagster_project.generate import generate
from dagster_project.late_data import late_days
from dagster_project.nightly import DAILY_JOB, WINDOWS_JOB, Step
from dagster_project.runner import execute_plan, run_pipeline
from tests.conftest import AS_OF
from tests.helpers import follow, insert_profile, new_id, table_rows

D = AS_OF
LATE_ARTIST, FAN = new_id(), new_id()
BUILD_TABLES = {
    "coliseum.stg_passport__entries": ("passport_entry_id", ()),
    "coliseum.coliseum_dna_mutations": ("passport_entry_id, domain", ()),
    "coliseum.int_artist_domain_daily": ("activity_date, entity_id, domain", ()),
    "coliseum.int_artist_fans_daily": ("activity_date, entity_id, domain, user_id", ()),
    "coliseum.coliseum_domain_strength": ('as_of_date, "window", entity_id, domain', ()),
    "coliseum.coliseum_leaderboard_history": ('as_of_date, "window", domain, rank, entity_id', ()),
}


def snapshot(database) -> dict[str, list[tuple]]:
    with database.connect() as conn:
        tables = {name: table_rows(conn, name, order) for name, (order, _) in BUILD_TABLES.items()}
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
    return run_pipeline(database.url, database.settings, [D], database.instance)


def test_rerun_gives_identical_tables(database, built):
    before = snapshot(database)
    assert all(before.values()), "every snapshotted relation has rows"
    run_pipeline(database.url, database.settings, [D], database.instance)
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
    execute_plan(plan, D, database.instance, log=lambda _msg: None)
    assert score(history(database, "7d"), "A", LATE_ARTIST) == Decimal("1.2")
    assert history(database, "30d") == thirty_before
    assert history(database, "alltime") == alltime_before
    with database.connect() as conn:
        assert late_days(conn, database.settings) == []

    # The full nightly plan then brings every window and the publication up to date.
    run_pipeline(database.url, database.settings, [D], database.instance)
    assert score(history(database, "30d"), "A", LATE_ARTIST) == Decimal("2.4")
    with database.connect() as conn:
        published = conn.execute(
            "select score from public.coliseum_leaderboard_a_30d where entity_id = %s", (LATE_ARTIST,)
        ).fetchone()
    assert published == (Decimal("2.4"),)
