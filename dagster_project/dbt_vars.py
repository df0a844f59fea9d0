"""Pure helpers that turn a Dagster partition into dbt arguments (tested for their exact --vars)."""

from __future__ import annotations

import json
from datetime import date

from dagster_project.settings import WINDOWS, Settings


def daily_vars(start: date, end: date, run_id: str, settings: Settings) -> dict[str, str | int]:
    """Vars for the UTC days [start, end), with the validation limits from the settings."""
    if end <= start:
        raise ValueError(f"empty day range [{start}, {end})")
    return {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "run_id": run_id,
        "platform_start": settings.platform_start.isoformat(),
        "future_skew_minutes": settings.future_skew_minutes,
        "max_amount_cents": settings.max_amount_cents,
        "max_metadata_bytes": settings.max_metadata_bytes,
    }


def window_vars(as_of_date: date, window: str) -> dict[str, str]:
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}; expected one of {WINDOWS}")
    return {"as_of_date": as_of_date.isoformat(), "window": window}


def dbt_build_args(dbt_vars: dict[str, str | int] | None = None) -> list[str]:
    args = ["build"]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars, sort_keys=True)]
    return args
