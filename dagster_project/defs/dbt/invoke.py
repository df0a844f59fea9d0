"""dbt in this process (dbtRunner) rather than a `dbt` subprocess: a subprocess starts Python and imports dbt
and its adapter again on every invocation, about 3 s of CPU each, two or more per night. The pipeline's builds
(defs/resources.py) and the recompute (defs/quality/recompute.py) run dbt here; `dbt parse` at setup stays
dagster-dbt's subprocess.

dbt runs on the calling thread (a run's interruption stops it there) and reads its environment from
os.environ, so one invocation at a time per process, as Dagster's in-process executor runs steps."""

import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dagster_project.settings import environment

PARTIAL_PARSE_FILE = "partial_parse.msgpack"

# dbt's result events: what dagster-dbt turns into outputs and check results (DbtCoreCliEventMessage).
RESULT_EVENTS = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})


def run_dbt_in_process(
    args: Sequence[str],
    *,
    project_dir: Path,
    profiles_dir: Path,
    target_path: Path,
    parse_state: Path,
    variables: Mapping[str, str],
    echo: bool = True,
) -> tuple[Any, list[dict[str, Any]], list[str]]:
    """One dbt invocation in this process: (dbtRunnerResult, its result events as dbt's JSON log writes
    them, its error messages). The target folder starts from `parse_state` (partial parsing) and gets dbt's
    artifacts and its JSON debug log; with `echo`, stdout gets dbt's info lines, as a subprocess's would."""
    from dbt.cli.main import dbtRunner  # imported by the first build, not by loading the definitions
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.functions import msg_to_dict

    target_path.mkdir(parents=True, exist_ok=True)
    if parse_state.exists() and parse_state != target_path / PARTIAL_PARSE_FILE:
        shutil.copyfile(parse_state, target_path / PARTIAL_PARSE_FILE)
    events: list[dict[str, Any]] = []
    errors: list[str] = []

    def collect(message: Any) -> None:  # called from dbt's threads; list.append is atomic
        level = message.info.level
        if level == EventLevel.DEBUG:
            return
        if level == EventLevel.ERROR:
            errors.append(message.info.msg)
        if message.info.name in RESULT_EVENTS:
            events.append(msg_to_dict(message))
        if echo and message.info.msg:
            sys.stdout.write(message.info.msg + "\n")

    flags = [
        *("--project-dir", str(project_dir), "--profiles-dir", str(profiles_dir)),
        *("--target-path", str(target_path), "--log-path", str(target_path)),
        # The callback prints dbt's lines; dbt's own stdout logger stays silent. The debug log is JSON, as a
        # dagster-dbt subprocess's (bench/artifacts.py reads it).
        *("--log-level", "none", "--log-format-file", "json", "--no-use-colors"),
        "--no-send-anonymous-usage-stats",
    ]
    with environment(variables):
        result = dbtRunner(callbacks=[collect]).invoke([*args, *flags])
    sys.stdout.flush()
    return result, events, errors
