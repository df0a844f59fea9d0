"""Pure helpers that turn a Dagster partition into dbt arguments (tested for their exact --vars)."""

from __future__ import annotations

import json
from datetime import date

from dagster_project.settings import WINDOWS


def daily_vars(start: date, end: date) -> dict[str, str]:
    """Vars for the UTC days [start, end)."""
    if end <= start:
        raise ValueError(f"empty day range [{start}, {end})")
    return {"start_date": start.isoformat(), "end_date": end.isoformat()}


def window_vars(as_of_date: date, window: str) -> dict[str, str]:
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}; expected one of {WINDOWS}")
    return {"as_of_date": as_of_date.isoformat(), "window": window}


def dbt_build_args(dbt_vars: dict[str, str] | None = None) -> list[str]:
    args = ["build"]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars, sort_keys=True)]
    return args
