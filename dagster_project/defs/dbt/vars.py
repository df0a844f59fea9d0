"""Pure helpers that turn a Dagster partition into the values of one dbt invocation (tested exactly).

The values travel as JSON in one environment variable that the models read only while executing
(dbt/macros/run_values.sql), not as `--vars`: dbt stores --vars in its parse state, so a new partition or
run id would re-parse the whole project on every invocation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date

from dagster_project.contract import WINDOWS
from dagster_project.settings import Settings

RUN_VALUES_VARIABLE = "COLISEUM_DBT_RUN"

RunValues = Mapping[str, str | int | list[str]]


def daily_vars(start: date, end: date, run_id: str, settings: Settings) -> dict[str, str | int]:
    """Values for the UTC days [start, end), with the validation limits from the settings."""
    if end <= start:
        raise ValueError(f"empty day range [{start}, {end})")
    return {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "run_id": run_id,
        "platform_start": settings.platform_start.isoformat(),
        "max_amount_cents": settings.max_amount_cents,
        "max_metadata_bytes": settings.max_metadata_bytes,
    }


def window_vars(as_of_date: date, windows: list[str]) -> dict[str, str | list[str]]:
    """Values for some windows of one as-of date, in the canonical order (one dbt invocation for all)."""
    unknown = set(windows) - set(WINDOWS)
    if unknown or not windows:
        raise ValueError(f"windows must be a non-empty subset of {WINDOWS}, got {windows!r}")
    return {"as_of_date": as_of_date.isoformat(), "windows": [w for w in WINDOWS if w in windows]}


def run_environment(values: RunValues | None) -> dict[str, str]:
    """The environment that hands `values` to dbt (it reads them from os.environ while a build runs)."""
    return {RUN_VALUES_VARIABLE: json.dumps(dict(values or {}), sort_keys=True)}
