"""dbt in this process (dbtRunner) rather than a `dbt` subprocess: a subprocess starts Python and imports dbt
and its adapter again on every invocation, about 3 s of CPU each, two or more per night. The pipeline's builds
(defs/resources.py) and the recompute (defs/quality/recompute.py) run dbt here; `dbt parse` at setup stays
dagster-dbt's subprocess.

dbt runs on a worker thread while the caller consumes its result events as they arrive, so Dagster records
materializations (SQLite writes, 10-30 ms each) while dbt's SQL runs, as it did with a subprocess. If the caller
stops (a run's interruption, an abandoned generator), dbt is interrupted as by Ctrl-C, its open queries are
cancelled and its thread joined before the caller's exception goes on. dbt reads its environment from
os.environ: one invocation at a time per process, as Dagster's in-process executor runs steps."""

import ctypes
import queue
import shutil
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from dagster_dbt.errors import DagsterDbtCliRuntimeError

from dagster_project.settings import environment

PARTIAL_PARSE_FILE = "partial_parse.msgpack"

# dbt's result events: what dagster-dbt turns into outputs and check results (DbtCoreCliEventMessage).
RESULT_EVENTS = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})
_DONE = object()
CANCEL_WAIT_SECONDS = 120


def stream_dbt(
    args: Sequence[str],
    *,
    project_dir: Path,
    profiles_dir: Path,
    target_path: Path,
    parse_state: Path,
    variables: Mapping[str, str],
    echo: bool = True,
) -> Iterator[dict[str, Any]]:
    """One dbt invocation in this process: yields its result events as dbt's JSON log writes them, then raises
    DagsterDbtCliRuntimeError, naming dbt's errors and its debug log, if the invocation failed. The target folder
    starts from `parse_state` (partial parsing) and gets dbt's artifacts and its JSON debug log; with `echo`,
    stdout gets dbt's info lines, as a subprocess's would."""
    from dbt.cli.main import dbtRunner  # imported by the first build, not by loading the definitions
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.functions import msg_to_dict

    target_path.mkdir(parents=True, exist_ok=True)
    if parse_state.exists() and parse_state != target_path / PARTIAL_PARSE_FILE:
        shutil.copyfile(parse_state, target_path / PARTIAL_PARSE_FILE)
    arrived: queue.SimpleQueue = queue.SimpleQueue()
    errors: list[str] = []
    outcome: dict[str, Any] = {}

    def collect(message: Any) -> None:  # called from dbt's threads
        level = message.info.level
        if level == EventLevel.DEBUG:
            return
        if level == EventLevel.ERROR:
            errors.append(message.info.msg)
        if message.info.name in RESULT_EVENTS:
            arrived.put(msg_to_dict(message))
        if echo and message.info.msg:
            sys.stdout.write(message.info.msg + "\n")

    flags = [
        *("--project-dir", str(project_dir), "--profiles-dir", str(profiles_dir)),
        *("--target-path", str(target_path), "--log-path", str(target_path)),
        # The callback prints dbt's lines; dbt's own stdout logger stays silent (the file log level would follow
        # it unless set). The debug log is JSON, as a dagster-dbt subprocess's (bench/artifacts.py reads it).
        *("--log-level", "none", "--log-level-file", "debug", "--log-format-file", "json", "--no-use-colors"),
        "--no-send-anonymous-usage-stats",
    ]

    def invoke() -> None:
        try:
            outcome["result"] = dbtRunner(callbacks=[collect]).invoke([*args, *flags])
        finally:
            arrived.put(_DONE)

    with environment(variables):
        worker = threading.Thread(target=invoke, name="dbt", daemon=True)
        worker.start()
        try:
            while (event := _next(arrived)) is not _DONE:
                yield event
        except BaseException:
            _interrupt(worker)
            raise
        worker.join()
    sys.stdout.flush()
    result = outcome.get("result")
    if result is None or not result.success:
        raise DagsterDbtCliRuntimeError(
            description="\n\n".join(
                [
                    f"dbt {' '.join(args)} failed",
                    *errors,
                    *([f"exception: {result.exception}"] if result is not None and result.exception else []),
                    f"dbt debug log: {target_path / 'dbt.log'}",
                ]
            )
        )


def _next(arrived: queue.SimpleQueue) -> Any:
    # A bounded wait: a signal (Dagster's run termination) is handled between waits on the calling thread.
    while True:
        try:
            return arrived.get(timeout=1.0)
        except queue.Empty:
            continue


def _interrupt(worker: threading.Thread) -> None:
    """Ctrl-C for dbt's thread: a KeyboardInterrupt raised in it (dbt's own stop: it cancels its connections
    and ends its node pool), and its running queries cancelled now, so the node it waits for ends at once."""
    from dbt.adapters.factory import FACTORY

    if worker.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident), ctypes.py_object(KeyboardInterrupt))
    for adapter in list(FACTORY.adapters.values()):
        with adapter.connection_named("master"):  # the cancel queries run on a connection of this thread
            adapter.cancel_open_connections()
    worker.join(timeout=CANCEL_WAIT_SECONDS)
