"""The nightly plan for an as-of date D (pure: no database, no Dagster instance).

Dagster runs one partitioning per run, so the plan is stages of runs, each stage after the previous one
succeeded:
  - the daily partitions: D plus every earlier day that a run must rebuild (late_data.pending_days), one
    stage per contiguous range of at most COLISEUM_MAX_DAYS_PER_RUN days, in date order: a refund's outcome
    reads the payments and refunds dated before it, so earlier days are built first;
  - the three window partitions (D, 7d), (D, 30d), (D, alltime), as one run over that range (for a
    backfill, one run per date, in date order);
  - publish the publication date: D, or the live as-of date when D is older (recovery never rolls the app
    back; publishing an older date is explicit).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from dagster_project.contract import WINDOWS
from dagster_project.defs.nightly.partitions import days_between, partition_range_tags

DAILY_JOB = "coliseum_daily"
WINDOWS_JOB = "coliseum_windows"
PUBLISH_JOB = "coliseum_publish"
RECOMPUTE_JOB = "coliseum_recompute"

# A plan's runs carry its chain id and stage; the plan itself is stored under the chain id (defs/nightly/chain.py).
TAG_CHAIN = "coliseum/chain"
TAG_AS_OF = "coliseum/as_of_date"
TAG_STAGE = "coliseum/stage"
TAG_LAUNCHED_BY = "coliseum/launched_by"
TAG_PUBLISH_OLDER = "coliseum/publish_older"


@dataclass(frozen=True)
class Step:
    job_name: str
    partition_key: str | None = None
    partition_range: tuple[str, str] | None = None

    def run_tags(self) -> dict[str, str]:
        if self.partition_range is None:
            return {}
        return partition_range_tags(*self.partition_range)

    @property
    def label(self) -> str:
        if self.partition_range:
            return f"{self.job_name}[{self.partition_range[0]}..{self.partition_range[1]}]"
        return f"{self.job_name}[{self.partition_key}]"


Plan = list[list[Step]]


def contiguous_ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted, de-duplicated days grouped into inclusive [first, last] runs of consecutive days."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1][1] + timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def chunked(ranges: Iterable[tuple[date, date]], max_days: int) -> list[tuple[date, date]]:
    """Each inclusive range cut, in order, into ranges of at most `max_days` days."""
    chunks: list[tuple[date, date]] = []
    for first, last in ranges:
        while first <= last:
            end = min(last, first + timedelta(days=max_days - 1))
            chunks.append((first, end))
            first = end + timedelta(days=1)
    return chunks


def nightly_plan(
    as_of_dates: Iterable[date],
    pending: Iterable[date] = (),
    first_day: date | None = None,
    publish_date: date | None = None,
    max_days_per_run: int | None = None,
) -> Plan:
    """Stages for building `as_of_dates` and publishing `publish_date` (default: the last of them); a daily
    stage covers at most `max_days_per_run` days (a first load runs in chunks, in date order)."""
    targets = sorted(set(as_of_dates))
    if not targets:
        raise ValueError("no as-of date")
    published = publish_date or targets[-1]
    last = max(targets[-1], published)
    days = {d for d in pending if d <= last and (first_day is None or d >= first_day)} | set(targets)
    daily_stages = [
        [
            Step(DAILY_JOB, partition_key=start.isoformat())
            if start == end
            else Step(DAILY_JOB, partition_range=(start.isoformat(), end.isoformat()))
        ]
        for start, end in chunked(contiguous_ranges(days), max_days_per_run or len(days))
    ]
    # All windows of a date in one run (a partition range), dates in order.
    window_steps = [
        Step(WINDOWS_JOB, partition_range=(f"{d.isoformat()}|{WINDOWS[0]}", f"{d.isoformat()}|{WINDOWS[-1]}"))
        for d in sorted({*targets, published})
    ]
    return [*daily_stages, window_steps, [Step(PUBLISH_JOB, partition_key=published.isoformat())]]


def plan_days(plan: Plan) -> list[date]:
    """The UTC days the plan's daily steps build."""
    days: set[date] = set()
    for stage in plan:
        for step in stage:
            if step.job_name != DAILY_JOB:
                continue
            first, last = step.partition_range or (step.partition_key, step.partition_key)
            days |= set(days_between(date.fromisoformat(first), date.fromisoformat(last)))  # type: ignore[arg-type]
    return sorted(days)


def plan_to_json(plan: Plan) -> str:
    return json.dumps([[asdict(step) for step in stage] for stage in plan], sort_keys=True)


def plan_from_json(text: str) -> Plan:
    return [
        [
            Step(
                s["job_name"],
                s["partition_key"],
                tuple(s["partition_range"]) if s["partition_range"] else None,  # type: ignore[arg-type]
            )
            for s in stage
        ]
        for stage in json.loads(text)
    ]


def stage_tags(
    chain: str, as_of_date: date, stage: int, launched_by: str, publish_older: bool = False
) -> dict[str, str]:
    tags = {TAG_CHAIN: chain, TAG_AS_OF: as_of_date.isoformat(), TAG_STAGE: str(stage), TAG_LAUNCHED_BY: launched_by}
    if publish_older:
        tags[TAG_PUBLISH_OLDER] = "true"
    return tags
