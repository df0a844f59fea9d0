"""Pure helpers that turn a Dagster partition into dbt arguments (tested for their exact --vars)."""

from __future__ import annotations

import json
from datetime import date

from dagster_project.contract import WINDOWS
from dagster_project.settings import Settings


def daily_vars(start: date, end: date, run_id: str, settings: Settings) -> dict[str, str | int]:
    """Vars for the UTC days [start, end), with the validation limits from the settings."""
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
    """Vars for some windows of one as-of date, in the canonical order (one dbt invocation for all)."""
    unknown = set(windows) - set(WINDOWS)
    if unknown or not windows:
        raise ValueError(f"windows must be a non-empty subset of {WINDOWS}, got {windows!r}")
    return {"as_of_date": as_of_date.isoformat(), "windows": [w for w in WINDOWS if w in windows]}


def dbt_build_args(dbt_vars: dict[str, str | int | list[str]] | None = None) -> list[str]:
    args = ["build"]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars, sort_keys=True)]
    return args
