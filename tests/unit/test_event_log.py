"""The instance's event log (app/event_log.py): what it writes, Dagster's own SQLite storage reads back the same,
and a watcher in another storage (the UI following a running run) still sees each event as it lands."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid

from dagster import DagsterEventType, DailyPartitionsDefinition, asset, materialize
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from dagster_project.app.event_log import ColiseumSqliteEventLogStorage
from dagster_project.app.runner import dagster_instance
from dagster_project.settings import Settings

DAYS = DailyPartitionsDefinition(start_date="2026-11-01", end_date="2026-11-06")


@asset(partitions_def=DAYS)
def daily_thing() -> None:
    """A five-day range in one run, as the first load's: one planned and one materialization event per day."""


def _message(run_id: str, text: str) -> EventLogEntry:
    return EventLogEntry(
        error_info=None,
        level=logging.INFO,
        user_message=text,
        run_id=run_id,
        timestamp=time.time(),
        step_key=None,
        job_name=None,
        dagster_event=None,
    )


def test_a_new_home_runs_on_it_and_dagsters_own_storage_reads_the_same_events(tmp_path):
    settings = Settings.from_env({"COLISEUM_HOME": str(tmp_path)})
    with dagster_instance(settings) as instance:
        assert isinstance(instance.event_log_storage, ColiseumSqliteEventLogStorage)
        result = materialize(
            [daily_thing],
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2026-11-01",
                "dagster/asset_partition_range_end": "2026-11-05",
            },
        )
        assert result.success
        ours = instance.event_log_storage.get_records_for_run(result.run_id).records
    stock = SqliteEventLogStorage(str(settings.dagster_home / "history" / "runs"))
    theirs = stock.get_records_for_run(result.run_id).records
    assert [(r.storage_id, r.event_log_entry) for r in theirs] == [(r.storage_id, r.event_log_entry) for r in ours]
    types = [r.event_log_entry.dagster_event_type for r in theirs]
    assert types.count(DagsterEventType.ASSET_MATERIALIZATION) == 5
    assert types.count(DagsterEventType.PIPELINE_SUCCESS) == 1
    # The cross-run index (the catalog's partitions) has every day, read through a fresh connection.
    key = daily_thing.key
    assert stock.get_materialized_partitions(key) == {f"2026-11-0{d}" for d in range(1, 6)}
    stock.dispose()


def test_a_watcher_in_another_storage_sees_each_write_and_its_own_reads_do_not_wake_it(tmp_path):
    base = str(tmp_path / "runs")
    writer = ColiseumSqliteEventLogStorage(base)
    watcher = ColiseumSqliteEventLogStorage(base)  # as the UI's process: its own connections, the same files
    run_id = str(uuid.uuid4())
    writer.store_event(_message(run_id, "created"))  # the shard exists before the watch starts, as for a run
    seen: list[str] = []
    arrived = threading.Event()

    def callback(entry: EventLogEntry, _cursor: str) -> None:
        seen.append(entry.user_message)
        if len(seen) == 4:
            arrived.set()

    watcher.watch(run_id, None, callback)
    try:
        for n in range(3):
            writer.store_event(_message(run_id, f"event {n}"))
        assert arrived.wait(10), f"the watcher saw {seen}"
        assert seen == ["created", "event 0", "event 1", "event 2"]
        shard = writer.path_for_shard(run_id)
        settled = os.stat(shard).st_mtime_ns
        time.sleep(0.5)  # the watcher's reads of the shard must not touch it (that would wake it forever)
        assert os.stat(shard).st_mtime_ns == settled
        assert seen == ["created", "event 0", "event 1", "event 2"]
    finally:
        watcher.end_watch(run_id, callback)
        watcher.dispose()
        writer.dispose()
