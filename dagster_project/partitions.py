"""Partitionings: one UTC day for the log-reading models, as_of_date x window for strength and boards."""

from __future__ import annotations

from dagster import (
    DailyPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
)

from dagster_project.settings import WINDOWS, get_settings

daily_partitions = DailyPartitionsDefinition(
    start_date=get_settings().partitions_start.isoformat(), timezone="UTC", fmt="%Y-%m-%d"
)

window_partitions = MultiPartitionsDefinition(
    {"date": daily_partitions, "window": StaticPartitionsDefinition(list(WINDOWS))}
)


def window_partition_key(as_of_date: str, window: str) -> MultiPartitionKey:
    return MultiPartitionKey({"date": as_of_date, "window": window})
