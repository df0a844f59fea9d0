"""The one place where Coliseum reads its configuration (environment variables with defaults)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"

WINDOWS: tuple[str, ...] = ("7d", "30d", "alltime")
DOMAINS: tuple[str, ...] = ("A", "T", "G", "C")

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _identifier(name: str, value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError(f"{name}={value!r} is not a plain lower-case Postgres identifier")
    return value


def _schema(name: str, default: str) -> str:
    return _identifier(name, os.environ.get(name, default))


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    """Explicit Postgres URL; None means the embedded pgserver under `home`."""
    home: Path
    dagster_home: Path
    source_schema: str
    build_schema: str
    publish_schema: str
    partitions_start: date
    schedule_hour: int
    publications_kept: int
    platform_start: date
    max_amount_cents: int
    max_metadata_bytes: int
    volume_drop_share: float
    freshness_hours: float
    alert_webhook_url: str | None
    app_roles: tuple[str, ...]
    """Roles the app's users act as (Supabase: anon, authenticated): they read boards only by entitlement."""
    audit_force_fail: frozenset[str]
    """Check names made to fail on purpose: a drill that the gate really holds publication back."""

    @property
    def alert_log(self) -> Path:
        return Path(os.environ.get("COLISEUM_ALERT_LOG", self.home / "alerts.jsonl"))

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"


def get_settings() -> Settings:
    """Read the environment now (not at import), so tests and the CLI can point it elsewhere."""
    home = Path(os.environ.get("COLISEUM_HOME", PROJECT_ROOT / ".coliseum")).resolve()
    partitions_start = date.fromisoformat(os.environ.get("COLISEUM_PARTITIONS_START", "2025-01-01"))
    settings = Settings(
        database_url=os.environ.get("COLISEUM_DATABASE_URL") or None,
        home=home,
        dagster_home=Path(os.environ.get("DAGSTER_HOME", home / "dagster_home")).resolve(),
        source_schema=_schema("COLISEUM_SOURCE_SCHEMA", "public"),
        build_schema=_schema("COLISEUM_BUILD_SCHEMA", "coliseum"),
        publish_schema=_schema("COLISEUM_PUBLISH_SCHEMA", "public"),
        partitions_start=partitions_start,
        schedule_hour=int(os.environ.get("COLISEUM_SCHEDULE_HOUR", "2")),
        publications_kept=int(os.environ.get("COLISEUM_PUBLICATIONS_KEPT", "7")),
        platform_start=date.fromisoformat(os.environ.get("COLISEUM_PLATFORM_START", partitions_start.isoformat())),
        max_amount_cents=int(os.environ.get("COLISEUM_MAX_AMOUNT_CENTS", "10000000")),
        max_metadata_bytes=int(os.environ.get("COLISEUM_MAX_METADATA_BYTES", "16384")),
        volume_drop_share=float(os.environ.get("COLISEUM_VOLUME_DROP_SHARE", "0.5")),
        freshness_hours=float(os.environ.get("COLISEUM_FRESHNESS_HOURS", "36")),
        alert_webhook_url=os.environ.get("COLISEUM_ALERT_WEBHOOK_URL") or None,
        app_roles=tuple(
            _identifier("COLISEUM_APP_ROLES", role.strip())
            for role in os.environ.get("COLISEUM_APP_ROLES", "anon,authenticated").split(",")
            if role.strip()
        ),
        audit_force_fail=frozenset(
            name.strip() for name in os.environ.get("COLISEUM_AUDIT_FORCE_FAIL", "").split(",") if name.strip()
        ),
    )
    if settings.build_schema == settings.publish_schema:
        # Published views carry the same names as the build tables; one schema cannot hold both.
        raise ValueError("COLISEUM_BUILD_SCHEMA and COLISEUM_PUBLISH_SCHEMA must differ")
    if not 0 <= settings.schedule_hour <= 23:
        raise ValueError("COLISEUM_SCHEDULE_HOUR must be 0-23")
    return settings
