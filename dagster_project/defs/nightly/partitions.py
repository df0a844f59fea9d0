"""Partitionings (one UTC day for the log-reading models, as_of_date x window for strength and boards) and the
one reading of a run's partition tags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from dagster import (
    BackfillPolicy,
    DailyPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from dagster_project.contract import WINDOWS


@dataclass(frozen=True)
class Partitionings:
    daily: DailyPartitionsDefinition
    windows: MultiPartitionsDefinition
    daily_backfill: BackfillPolicy
    """A backfill of the daily assets launched from the UI: runs of at most COLISEUM_MAX_DAYS_PER_RUN days,
    as the CLI's and the schedule's plans (defs/nightly/plan.py)."""

    @classmethod
    def starting(cls, start: date, max_days_per_run: int) -> Partitionings:
        daily = DailyPartitionsDefinition(start_date=start.isoformat(), timezone="UTC", fmt="%Y-%m-%d")
        return cls(
            daily,
            MultiPartitionsDefinition({"date": daily, "window": StaticPartitionsDefinition(list(WINDOWS))}),
            BackfillPolicy.multi_run(max_partitions_per_run=max_days_per_run),
        )


def window_partition_key(as_of_date: str, window: str) -> MultiPartitionKey:
    return MultiPartitionKey({"date": as_of_date, "window": window})


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    """The tags of a run over the partition range [first, last] (Dagster's own names)."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def run_partition(tags: Mapping[str, str]) -> str | None:
    """A run's partition as one label: `2026-11-20`, `2026-11-20|7d` or a range `first..last`; None when the
    run has no partition (e.g. a check launched on its own from the UI)."""
    if PARTITION_NAME_TAG in tags:
        return tags[PARTITION_NAME_TAG]
    if ASSET_PARTITION_RANGE_START_TAG in tags:
        return f"{tags[ASSET_PARTITION_RANGE_START_TAG]}..{tags[ASSET_PARTITION_RANGE_END_TAG]}"
    return None


def run_days(tags: Mapping[str, str]) -> list[date]:
    """The UTC days a run covers (one day, or a range; window keys `D|w` count as D); empty without a partition."""
    if PARTITION_NAME_TAG in tags:
        first = last = tags[PARTITION_NAME_TAG]
    elif ASSET_PARTITION_RANGE_START_TAG in tags:
        first, last = tags[ASSET_PARTITION_RANGE_START_TAG], tags[ASSET_PARTITION_RANGE_END_TAG]
    else:
        return []
    return days_between(date.fromisoformat(first.split("|")[0]), date.fromisoformat(last.split("|")[0]))


def days_between(first: date, last: date) -> list[date]:
    """The UTC days [first, last], inclusive."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
