"""Dagster's local SQLite event log, without a new connection and an fsync for every event.

Dagster's `SqliteEventLogStorage` opens a new engine per write, and in WAL mode the close of the last
connection checkpoints the file: every event paid a connection, a WAL sync at commit and a checkpoint, about 6 ms.
The main job's first load writes about 2,300 events (23 daily assets x 45 days, planned and materialized):
replayed, 13.2 s with Dagster's class, 3.1 s with this one. It keeps one connection to the index shard and one
to the run shard being written, per process, and writes with `synchronous=NORMAL`
(WAL mode: a crash of the process loses nothing; a power loss may drop the last events, never corrupt the file,
and never the pipeline's own state, which lives in Postgres)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

BUSY_TIMEOUT_SECONDS = 30  # as Dagster's own SQLite storages: wait for a writer in another process


def _synchronous_normal(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class ColiseumSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        # (process, shard) -> engine: a forked child opens its own; at most the index and one run shard.
        self._engines: dict[tuple[int, str], Engine] = {}
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> ColiseumSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        key = (os.getpid(), shard)
        if key in self._engines:
            return self._engines[key]
        if shard != INDEX_SHARD_NAME:  # a new run shard: close the previous one (the UI reads many runs)
            for other in [k for k in self._engines if k[1] != INDEX_SHARD_NAME]:
                self._engines.pop(other).dispose()
        engine = create_engine(
            self.conn_string_for_shard(shard),
            # One connection kept; Dagster's schema check at a shard's first use briefly opens a second.
            poolclass=QueuePool,
            pool_size=1,
            max_overflow=2,
            connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False},  # used under the lock
        )
        event.listen(engine, "connect", _synchronous_normal)
        self._engines[key] = engine
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                sqlite = conn.connection.dbapi_connection
                changes = sqlite.total_changes
                with conn.begin():
                    yield conn
                wrote = sqlite.total_changes != changes
            if wrote and shard != INDEX_SHARD_NAME:
                # The UI follows a running run by watching its shard file for changes, which a checkpoint at
                # each close used to make; the write stays in the WAL now, so touch the file (after writes
                # only: a watcher's own reads must not wake it).
                os.utime(self.path_for_shard(shard))

    def _dispose_engines(self) -> None:
        for key in [k for k in self._engines if k[0] == os.getpid()]:
            self._engines.pop(key).dispose()

    def wipe(self) -> None:
        self._dispose_engines()  # before the run shards' files go
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()
