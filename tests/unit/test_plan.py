"""The nightly plan (pure): stages, recovery, contiguous ranges, and the reading of a run's partition tags."""

from __future__ import annotations

from datetime import date, timedelta

from dagster_project.defs.nightly.partitions import partition_range_tags, run_days, run_partition
from dagster_project.defs.nightly.pending import PlannedRun
from dagster_project.defs.nightly.plan import (
    DAILY_JOB,
    PUBLISH_JOB,
    TAG_AS_OF,
    TAG_CHAIN,
    TAG_LAUNCHED_BY,
    TAG_PUBLISH_OLDER,
    TAG_STAGE,
    WINDOWS_JOB,
    Step,
    chunked,
    contiguous_ranges,
    nightly_plan,
    plan_days,
    plan_from_json,
    plan_to_json,
    stage_tags,
)
from dagster_project.defs.nightly.schedules import as_of_for_tick


def test_nightly_plan_stages():
    d = date(2026, 11, 20)
    plan = nightly_plan([d], pending=[date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 18), date(2026, 11, 25)])
    # Daily ranges one stage each, in date order (a refund reads what is dated before it); later days wait.
    assert plan == [
        [Step(DAILY_JOB, partition_range=("2026-11-02", "2026-11-03"))],
        [Step(DAILY_JOB, partition_key="2026-11-18")],
        [Step(DAILY_JOB, partition_key="2026-11-20")],
        [Step(WINDOWS_JOB, partition_range=("2026-11-20|7d", "2026-11-20|alltime"))],
        [Step(PUBLISH_JOB, partition_key="2026-11-20")],
    ]
    assert plan_days(plan) == [date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 18), date(2026, 11, 20)]


def test_contiguous_ranges():
    assert contiguous_ranges([date(2026, 1, 3), date(2026, 1, 1), date(2026, 1, 2)]) == [
        (date(2026, 1, 1), date(2026, 1, 3))
    ]
    assert contiguous_ranges([date(2026, 1, 5), date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 5)]) == [
        (date(2026, 1, 1), date(2026, 1, 2)),
        (date(2026, 1, 5), date(2026, 1, 5)),
    ]
    assert contiguous_ranges([]) == []


def test_chunked_cuts_each_range_in_order():
    jan = [date(2026, 1, day) for day in range(1, 32)]
    assert chunked([(jan[0], jan[6]), (jan[9], jan[9])], 3) == [
        (jan[0], jan[2]),
        (jan[3], jan[5]),
        (jan[6], jan[6]),
        (jan[9], jan[9]),
    ]
    assert chunked([(jan[0], jan[5])], 6) == [(jan[0], jan[5])]
    assert chunked([], 5) == []


def test_first_load_runs_in_chunks_of_max_days():
    """A first load of 70 days with at most 30 per run: three daily stages in date order, then the windows."""
    d = date(2026, 3, 11)
    history = [date(2026, 1, 1) + timedelta(days=i) for i in range(70)]
    plan = nightly_plan([d], pending=history, max_days_per_run=30)
    assert [step for stage in plan[:3] for step in stage] == [
        Step(DAILY_JOB, partition_range=("2026-01-01", "2026-01-30")),
        Step(DAILY_JOB, partition_range=("2026-01-31", "2026-03-01")),
        Step(DAILY_JOB, partition_range=("2026-03-02", "2026-03-11")),
    ]
    assert plan_days(plan) == history and len(plan) == 5
    # Without a bound (the default), one run per contiguous range.
    assert nightly_plan([d], pending=history)[0] == [Step(DAILY_JOB, partition_range=("2026-01-01", "2026-03-11"))]


def test_recovery_plan_republishes_the_live_date():
    """Rerunning a past day rebuilds it and its windows, then rebuilds and publishes the live as-of date."""
    plan = nightly_plan([date(2026, 11, 10)], pending=[date(2026, 11, 19)], publish_date=date(2026, 11, 20))
    assert plan == [
        [Step(DAILY_JOB, partition_key="2026-11-10")],
        [Step(DAILY_JOB, partition_key="2026-11-19")],
        [
            Step(WINDOWS_JOB, partition_range=("2026-11-10|7d", "2026-11-10|alltime")),
            Step(WINDOWS_JOB, partition_range=("2026-11-20|7d", "2026-11-20|alltime")),
        ],
        [Step(PUBLISH_JOB, partition_key="2026-11-20")],
    ]


def test_pending_days_before_the_first_partition_are_ignored():
    plan = nightly_plan([date(2025, 1, 2)], pending=[date(2024, 12, 31)], first_day=date(2025, 1, 1))
    assert plan_days(plan) == [date(2025, 1, 2)]


def test_plan_is_stored_as_json_losslessly():
    plan = nightly_plan([date(2026, 11, 10)], pending=[date(2026, 11, 8), date(2026, 11, 9)])
    assert plan_from_json(plan_to_json(plan)) == plan


def test_planned_run_describes_what_it_publishes():
    plan = nightly_plan([date(2026, 11, 20)])
    assert PlannedRun(plan, date(2026, 11, 20), None, False).describe() == "publishes 2026-11-20"
    assert PlannedRun(plan, date(2026, 11, 20), date(2026, 11, 19), False).describe() == (
        "publishes 2026-11-20 (live: 2026-11-19)"
    )
    assert PlannedRun(plan, date(2026, 11, 10), date(2026, 11, 20), True).describe() == (
        "publishes 2026-11-10, replacing the newer live publication as of 2026-11-20"
    )


def test_stage_tags():
    assert stage_tags("c-1", date(2026, 11, 20), 2, "schedule") == {
        TAG_CHAIN: "c-1",
        TAG_AS_OF: "2026-11-20",
        TAG_STAGE: "2",
        TAG_LAUNCHED_BY: "schedule",
    }
    assert stage_tags("c-1", date(2026, 11, 20), 0, "cli", publish_older=True)[TAG_PUBLISH_OLDER] == "true"


def test_run_days_and_partition_from_tags():
    single = {"dagster/partition": "2026-11-20"}
    window = {"dagster/partition": "2026-11-20|7d"}
    days = partition_range_tags("2026-11-18", "2026-11-20")
    windows = Step(WINDOWS_JOB, partition_range=("2026-11-19|7d", "2026-11-20|alltime")).run_tags()
    assert run_partition(single) == "2026-11-20" and run_days(single) == [date(2026, 11, 20)]
    assert run_partition(window) == "2026-11-20|7d" and run_days(window) == [date(2026, 11, 20)]
    assert run_partition(days) == "2026-11-18..2026-11-20"
    assert run_days(days) == [date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)]
    assert run_partition(windows) == "2026-11-19|7d..2026-11-20|alltime"
    assert run_days(windows) == [date(2026, 11, 19), date(2026, 11, 20)]
    assert run_partition({}) is None and run_days({"coliseum/chain": "x"}) == []
    assert Step(DAILY_JOB, partition_key="2026-11-20").run_tags() == {}


def test_the_nightly_schedule_computes_yesterday():
    assert as_of_for_tick(date(2026, 11, 21)) == date(2026, 11, 20)
    assert as_of_for_tick(date(2026, 3, 1)) == date(2026, 2, 28)
