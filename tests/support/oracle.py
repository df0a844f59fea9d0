"""An independent reference computation of the leaderboards, in pandas, from passport_entries and the
weights CSV. It shares no SQL with the pipeline: if both agree, the dbt models do what DESIGN.md says."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

import pandas as pd
import psycopg

from dagster_project.settings import DBT_PROJECT_DIR

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
DOMAIN_COLUMNS = {"A": "weight_a", "T": "weight_t", "G": "weight_g", "C": "weight_c"}
WINDOW_DAYS = {"7d": 7, "30d": 30, "alltime": None}


def load_weights() -> list[dict]:
    with open(DBT_PROJECT_DIR / "seeds" / "influence_weights.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _weights_for(weights: list[dict], event_type: str | None, day: date) -> dict | None:
    candidates = [w for w in weights if w["event_type"] == event_type and date.fromisoformat(w["valid_from"]) <= day]
    return max(candidates, key=lambda w: w["valid_from"]) if candidates else None


def _number(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def load_entries(conn: psycopg.Connection, schema: str = "public") -> pd.DataFrame:
    rows = conn.execute(
        f"select id::text, user_id::text, event_type, entity_type, entity_id::text, metadata::text, created_at "
        f"from {schema}.passport_entries"
    ).fetchall()
    return pd.DataFrame(
        rows, columns=["id", "user_id", "event_type", "entity_type", "entity_id", "metadata", "created_at"]
    )


def load_profiles(conn: psycopg.Connection, schema: str = "public") -> dict[str, str | None]:
    return dict(conn.execute(f"select id::text, artist_name from {schema}.artist_profiles").fetchall())


def mutations(entries: pd.DataFrame, weights: list[dict]) -> pd.DataFrame:
    """One row per (entry, domain) with a non-zero delta, after dedup by id within the UTC day."""
    out = []
    seen: set[tuple[str, date]] = set()
    for row in entries.sort_values(["created_at"], kind="stable").itertuples(index=False):
        if row.created_at is None or row.id is None or row.user_id is None:
            continue
        created = row.created_at.astimezone(UTC)
        day = created.date()
        if (row.id, day) in seen:
            continue
        seen.add((row.id, day))
        weight = _weights_for(weights, row.event_type, day)
        if weight is None:
            continue
        meta = json.loads(row.metadata) if row.metadata else {}
        meta = meta if isinstance(meta, dict) else {}
        artist = row.entity_id if row.entity_type == "artist" else meta.get("artist_id")
        if not isinstance(artist, str) or not UUID_RE.match(artist):
            continue
        quality = Decimal(1)
        if weight["min_duration_seconds"]:
            duration = _number(meta.get("duration_seconds"))
            if duration is None or duration < Decimal(weight["min_duration_seconds"]):
                quality = Decimal(0)
        if weight["requires_completed_status"] == "true" and meta.get("status") != "completed":
            quality = Decimal(0)
        for domain, column in DOMAIN_COLUMNS.items():
            delta = Decimal(weight["base_intensity"]) * Decimal(weight[column]) * quality
            if delta != 0:
                out.append((row.id, artist.lower(), row.user_id, domain, delta, created))
    return pd.DataFrame(out, columns=["entry_id", "entity_id", "user_id", "domain", "delta", "created_at"])


def window_bounds(as_of: date, window: str) -> tuple[datetime | None, datetime]:
    end = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
    days = WINDOW_DAYS[window]
    start = None if days is None else datetime.combine(as_of - timedelta(days=days - 1), time(), tzinfo=UTC)
    return start, end


def board(muts: pd.DataFrame, profiles: dict[str, str | None], as_of: date, window: str, domain: str) -> list[dict]:
    start, end = window_bounds(as_of, window)
    rows = muts[(muts.domain == domain) & (muts.created_at < end)]
    if start is not None:
        rows = rows[rows.created_at >= start]
    grouped = rows.groupby("entity_id").agg(
        score=("delta", lambda s: sum(s, Decimal(0))),
        event_count=("delta", "size"),
        unique_fans=("user_id", "nunique"),
    )
    grouped = grouped.reset_index()
    grouped["rank"] = grouped["score"].map(lambda s: 1 + int((grouped["score"] > s).sum()))
    grouped = grouped.sort_values(["rank", "entity_id"])
    return [
        {
            "rank": int(r.rank),
            "entity_id": r.entity_id,
            "artist_name": profiles.get(r.entity_id) or f"Unknown artist {r.entity_id[:8]}",
            "score": r.score,
            "event_count": int(r.event_count),
            "unique_fans": int(r.unique_fans),
        }
        for r in grouped.itertuples(index=False)
    ]
