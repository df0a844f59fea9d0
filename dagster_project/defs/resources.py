"""Dagster resources: the settings and the database they name, and dbt pointed at the same database.

The settings are built once at the edge (CLI, code-location load) and travel as this resource's config, so a
run, a check or a sensor reads the values the code location was loaded with, never the environment again."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
from dagster import (
    AssetExecutionContext,
    ConfigurableResource,
    InitResourceContext,
    Output,
    TableColumn,
    TableSchema,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliInvocation, DbtCliResource
from dagster_dbt.asset_utils import DBT_INDIRECT_SELECTION_ENV, get_updated_cli_invocation_params_for_context
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
from packaging import version
from pydantic import Field

from dagster_project.db.connection import connect, database_url, dbt_env
from dagster_project.db.migrations import migrate
from dagster_project.defs.dbt.invoke import PARTIAL_PARSE_FILE, stream_dbt
from dagster_project.defs.dbt.vars import RunValues, run_environment
from dagster_project.settings import BIN_DIR, DBT_PROJECT_DIR, Settings, environment

DBT_TARGETS_KEPT = 40


@cache
def _parse(items: tuple[tuple[str, str], ...]) -> Settings:
    return Settings.from_env(dict(items))


class ColiseumResource(ConfigurableResource):
    """Settings (as the variables that rebuild them) and connections to the database they name."""

    variables: dict[str, str] = Field(description="The COLISEUM_* settings this code location was loaded with.")

    @classmethod
    def from_settings(cls, settings: Settings) -> ColiseumResource:
        return cls(variables=settings.as_env())

    @property
    def settings(self) -> Settings:
        return _parse(tuple(sorted(self.variables.items())))

    def url(self) -> str:
        return database_url(self.settings)

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        with connect(self.url()) as conn:
            yield conn

    def dbt_env(self) -> dict[str, str]:
        return dbt_env(self.url(), self.settings)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # Every run starts on a current schema (one SELECT once it is); sensors (no run) never migrate.
        if context.dagster_run is not None:
            with self.connect() as conn:
                migrate(conn, self.settings)


class ColiseumDbtResource(DbtCliResource):
    """dbt on the database of `coliseum`: the connection and the run values travel through this resource."""

    coliseum: ColiseumResource

    # Two per-invocation costs of dagster-dbt 0.29 that buy these assets nothing (tests/unit/test_definitions.py
    # checks that the overridden members still exist):
    @cached_property
    def _cli_version(self) -> version.Version:
        # `dbt --version` in a subprocess, once per resource instance, i.e. per run: 2-3 s. The executable is
        # this environment's dbt-core (BIN_DIR).
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        # An in-process dbt adapter (1-1.3 s of macro parsing per invocation), only used by
        # fetch_column_metadata / fetch_row_counts, which these assets do not call.
        return None

    def cli(self, args: Sequence[str], *, run_values: RunValues | None = None, **kwargs: Any) -> DbtCliInvocation:
        """dbt in a subprocess, dagster-dbt's way: for one-off commands (`dbt parse` at setup); builds run in
        this process (`build`)."""
        # dagster-dbt builds the subprocess environment (and its in-process adapter) from the process environment,
        # and puts each invocation's target folder under DBT_TARGET_PATH.
        variables = {
            **self.coliseum.dbt_env(),
            **run_environment(run_values),
            "DBT_TARGET_PATH": str(self.coliseum.settings.dbt_target_dir),
        }
        with environment(variables):
            return super().cli(args, **kwargs)

    def build(self, context: AssetExecutionContext, run_values: RunValues) -> Iterator[Any]:
        """`dbt build` of the context's selection for `run_values`, as Dagster events (what dagster-dbt's
        `stream()` yields), each model's with its rows written and its columns with their Postgres types.

        dbt runs in this process (defs/dbt/invoke.py), its events streamed as they happen; a failed build raises
        after them, naming dbt's errors and its debug log."""
        params = get_updated_cli_invocation_params_for_context(
            context=context, manifest={}, dagster_dbt_translator=DagsterDbtTranslator()
        )
        target_dir = self.coliseum.settings.dbt_target_dir
        target_path = target_dir / f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-{uuid4().hex[:7]}"
        events = stream_dbt(
            ["build", *params.selection_args],
            project_dir=Path(params.dbt_project.project_dir if params.dbt_project else self.project_dir),
            profiles_dir=Path(self.profiles_dir or self.project_dir),
            target_path=target_path,
            parse_state=target_dir / PARTIAL_PARSE_FILE,
            variables={
                **self.coliseum.dbt_env(),
                **run_environment(run_values),
                **({DBT_INDIRECT_SELECTION_ENV: params.indirect_selection} if params.indirect_selection else {}),
            },
        )
        try:
            with self.coliseum.connect() as conn:
                for raw_event in events:
                    event = DbtCoreCliEventMessage(raw_event=raw_event, event_history_metadata={})
                    for dagster_event in event.to_default_asset_events(
                        manifest=params.manifest,
                        dagster_dbt_translator=params.dagster_dbt_translator,
                        context=context,
                        target_path=target_path,
                        project=params.dbt_project,
                    ):
                        if isinstance(dagster_event, Output):
                            unique_id = raw_event["data"]["node_info"]["unique_id"]
                            extra = {
                                **written_rows_metadata(raw_event),
                                **typed_columns(conn, params.manifest["nodes"][unique_id]),
                            }
                            dagster_event = dagster_event.with_metadata({**dagster_event.metadata, **extra})
                        yield dagster_event
        finally:
            keep_parse_state(target_path, target_dir)


def typed_columns(conn: psycopg.Connection, node: Mapping[str, Any]) -> dict[str, TableSchema]:
    """A dbt node's relation's columns as Postgres types them (one catalog lookup), with the descriptions of
    dbt's YAML (the manifest node's columns); nothing for a relation that is not there."""
    rows = conn.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
        "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped order by a.attnum",
        (node["schema"], node["alias"]),
    ).fetchall()
    documented = node.get("columns", {})
    columns = [
        TableColumn(name, kind, description=(documented.get(name) or {}).get("description") or None)
        for name, kind in rows
    ]
    return {"dagster/column_schema": TableSchema(columns=columns)} if columns else {}


# Postgres's command tag, as dbt reports a node's result: `SELECT 1500` (a table built), `INSERT 0 51`.
_COMMAND_TAG = re.compile(r"(?:INSERT|SELECT|COPY|MERGE|UPDATE|DELETE)(?: \d+)? (\d+)")


def written_rows_metadata(raw_event: Mapping[str, Any]) -> dict[str, int]:
    """Row counts from what Postgres answered dbt (no query of ours): a table or seed is rebuilt whole, so its
    statement's count is its row count; an incremental model's is the rows this build wrote, for all the
    partitions of the run (its history is never counted: a count(*) per run would scan it)."""
    data = raw_event.get("data", {})
    message = data.get("result_message") or data.get("status")  # seeds, models (dbt's LogSeedResult/LogModelResult)
    match = _COMMAND_TAG.fullmatch(message) if isinstance(message, str) else None
    if match is None:
        return {}
    rows = int(match.group(1))
    materialized = data.get("node_info", {}).get("materialized")
    if materialized in ("table", "seed"):
        return {"dagster/row_count": rows, "rows_written_by_build": rows}
    return {"rows_written_by_build": rows} if materialized == "incremental" else {}


def keep_parse_state(invocation_target: Path, target_dir: Path, keep: int = DBT_TARGETS_KEPT) -> None:
    """Make this invocation's parse state the next one's starting point (dagster-dbt copies
    `<DBT_TARGET_PATH>/partial_parse.msgpack` into each new target folder), so dbt re-parses only what changed;
    keep the newest target folders (about 2 MB each) for debugging."""
    state = invocation_target / PARTIAL_PARSE_FILE
    if state.exists():
        staged = target_dir / f".{PARTIAL_PARSE_FILE}.{os.getpid()}"
        shutil.copyfile(state, staged)
        staged.replace(target_dir / PARTIAL_PARSE_FILE)  # atomic: a concurrent invocation reads old or new
    folders = sorted((p for p in target_dir.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in folders[: max(0, len(folders) - keep)]:
        shutil.rmtree(old, ignore_errors=True)


def build_resources(settings: Settings) -> Mapping[str, object]:
    coliseum = ColiseumResource.from_settings(settings)
    return {
        "coliseum": coliseum,
        "dbt": ColiseumDbtResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            dbt_executable=str(BIN_DIR / "dbt"),
            coliseum=coliseum,
        ),
    }
