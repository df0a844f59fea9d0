"""The one reader of Coliseum's environment: a frozen `Settings`, built once at the edge (the CLI, the code
location's load) and handed to everything else. Nothing else in the package reads `os.environ`."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
# dbt and dagster are console scripts beside this interpreter (an unactivated venv still finds them).
BIN_DIR = Path(sys.executable).parent

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class SettingsError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


def _identifier(name: str, value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise SettingsError(f"{name}={value!r} is not a plain lower-case Postgres identifier")
    return value


def _parsed(name: str, text: str, kind: type):
    try:
        return date.fromisoformat(text) if kind is date else kind(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r} is not a valid {kind.__name__}") from None


def _flag(name: str, text: str) -> bool:
    if text.lower() in ("1", "true", "on", "yes"):
        return True
    if text.lower() in ("0", "false", "off", "no"):
        return False
    raise SettingsError(f"{name}={text!r} must be 1 or 0")


def _http_url(name: str, text: str) -> str:
    from urllib.parse import urlparse

    parts = urlparse(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{name}={text!r} must be an http(s) URL with a host, e.g. http://localhost:3001")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise SettingsError(f"{name}={text!r} has an invalid port") from None
    return text.rstrip("/")


def _database_url(text: str | None) -> str | None:
    if not text:
        return None
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(text)
    except Exception as error:  # psycopg.ProgrammingError: the message says what is wrong
        reason = str(error).strip().splitlines()[0]
        raise SettingsError(f"COLISEUM_DATABASE_URL is not a valid Postgres URL: {reason}") from None
    return text


# Settings a home keeps for itself: the CLI writes them for the demo it loads (its partitions start where its
# data starts), so `coliseum` and `dagster dev` on that home agree. The environment always wins.
HOME_SETTINGS_FILE = "settings.env"


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("COLISEUM_HOME") or PROJECT_ROOT / ".coliseum").resolve()


def home_settings(home: Path) -> dict[str, str]:
    """The NAME=value lines of the home's settings file (none when it does not exist)."""
    path = home / HOME_SETTINGS_FILE
    if not path.exists():
        return {}
    lines = [line.strip() for line in path.read_text().splitlines()]
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#") and "=" in line)


def write_home_settings(home: Path, values: Mapping[str, str], why: str) -> Path:
    """Keep `values` in the home's settings file (merged with what it holds)."""
    path = home / HOME_SETTINGS_FILE
    merged = {**home_settings(home), **values}
    home.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {why}\n" + "".join(f"{name}={value}\n" for name, value in sorted(merged.items())))
    return path


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


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
    max_days_per_run: int
    """Daily partitions per run at most: a first load or a long backfill runs in chunks of this many days, so
    one run's memory, ledger transaction and Dagster events stay bounded whatever the history."""
    schedule_hour: int
    publications_kept: int
    platform_start: date
    max_amount_cents: int
    max_metadata_bytes: int
    volume_drop_share: float
    freshness_hours: float
    alert_webhook_url: str | None
    alert_log: Path
    app_roles: tuple[str, ...]
    """Roles the app's users act as (Supabase: anon, authenticated): they read boards only by entitlement."""
    admin_roles: tuple[str, ...]
    """Roles that read every user's rows of the fan views (the DIA dashboard: Supabase's service_role)."""
    audit_force_fail: frozenset[str]
    """Check names made to fail on purpose: a drill that the gate really holds publication back."""
    data_docs: bool
    """Render GX Data Docs pages for each validation (1-2 s per check); off, checks still record results."""
    data_docs_url: str
    """Where the checks' Data Docs links point: the base URL `coliseum ui` serves $COLISEUM_HOME/data_docs at."""

    def __post_init__(self) -> None:
        if self.build_schema == self.publish_schema:
            # Published views carry the same names as the build tables; one schema cannot hold both.
            raise SettingsError("COLISEUM_BUILD_SCHEMA and COLISEUM_PUBLISH_SCHEMA must differ")
        if self.max_days_per_run < 1:
            raise SettingsError(f"COLISEUM_MAX_DAYS_PER_RUN={self.max_days_per_run} must be at least 1")
        if not 0 <= self.schedule_hour <= 23:
            raise SettingsError(f"COLISEUM_SCHEDULE_HOUR={self.schedule_hour} must be 0-23")

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's target folders for this home: one per invocation, and the parse state they start from."""
        return self.home / "dbt_target"

    @property
    def data_docs_dir(self) -> Path:
        return self.home / "data_docs"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Parse the configuration from `environ` (the process environment when None): the only place where a
        variable is read. Tests pass a mapping; nothing reads the variables again later. With the process
        environment, the home's settings file (HOME_SETTINGS_FILE) fills in what the environment leaves unset."""
        env = {**home_settings(_home(os.environ)), **os.environ} if environ is None else environ

        def value(name: str, default: str, kind: type = str):
            return _parsed(name, env.get(name, default), kind)

        home = _home(env)
        partitions_start = value("COLISEUM_PARTITIONS_START", "2025-01-01", date)
        return cls(
            database_url=_database_url(env.get("COLISEUM_DATABASE_URL")),
            home=home,
            dagster_home=Path(env.get("DAGSTER_HOME") or home / "dagster_home").resolve(),
            source_schema=_identifier("COLISEUM_SOURCE_SCHEMA", value("COLISEUM_SOURCE_SCHEMA", "public")),
            build_schema=_identifier("COLISEUM_BUILD_SCHEMA", value("COLISEUM_BUILD_SCHEMA", "coliseum")),
            publish_schema=_identifier("COLISEUM_PUBLISH_SCHEMA", value("COLISEUM_PUBLISH_SCHEMA", "public")),
            partitions_start=partitions_start,
            max_days_per_run=value("COLISEUM_MAX_DAYS_PER_RUN", "90", int),
            schedule_hour=value("COLISEUM_SCHEDULE_HOUR", "2", int),
            publications_kept=value("COLISEUM_PUBLICATIONS_KEPT", "7", int),
            platform_start=value("COLISEUM_PLATFORM_START", partitions_start.isoformat(), date),
            max_amount_cents=value("COLISEUM_MAX_AMOUNT_CENTS", "10000000", int),
            max_metadata_bytes=value("COLISEUM_MAX_METADATA_BYTES", "16384", int),
            volume_drop_share=value("COLISEUM_VOLUME_DROP_SHARE", "0.5", float),
            freshness_hours=value("COLISEUM_FRESHNESS_HOURS", "36", float),
            alert_webhook_url=env.get("COLISEUM_ALERT_WEBHOOK_URL") or None,
            alert_log=Path(env.get("COLISEUM_ALERT_LOG") or home / "alerts.jsonl"),
            app_roles=tuple(
                _identifier("COLISEUM_APP_ROLES", role)
                for role in _names(value("COLISEUM_APP_ROLES", "anon,authenticated"))
            ),
            admin_roles=tuple(
                _identifier("COLISEUM_ADMIN_ROLES", role)
                for role in _names(value("COLISEUM_ADMIN_ROLES", "service_role"))
            ),
            audit_force_fail=frozenset(_names(value("COLISEUM_AUDIT_FORCE_FAIL", ""))),
            data_docs=_flag("COLISEUM_DATA_DOCS", env.get("COLISEUM_DATA_DOCS", "1")),
            data_docs_url=_http_url("COLISEUM_DATA_DOCS_URL", value("COLISEUM_DATA_DOCS_URL", "http://localhost:3001")),
        )

    def as_env(self) -> dict[str, str]:
        """The variables that rebuild exactly these settings (`from_env(s.as_env()) == s`): how the settings
        travel into a Dagster resource's config and into subprocesses."""
        return {
            "COLISEUM_DATABASE_URL": self.database_url or "",
            "COLISEUM_HOME": str(self.home),
            "DAGSTER_HOME": str(self.dagster_home),
            "COLISEUM_SOURCE_SCHEMA": self.source_schema,
            "COLISEUM_BUILD_SCHEMA": self.build_schema,
            "COLISEUM_PUBLISH_SCHEMA": self.publish_schema,
            "COLISEUM_PARTITIONS_START": self.partitions_start.isoformat(),
            "COLISEUM_MAX_DAYS_PER_RUN": str(self.max_days_per_run),
            "COLISEUM_SCHEDULE_HOUR": str(self.schedule_hour),
            "COLISEUM_PUBLICATIONS_KEPT": str(self.publications_kept),
            "COLISEUM_PLATFORM_START": self.platform_start.isoformat(),
            "COLISEUM_MAX_AMOUNT_CENTS": str(self.max_amount_cents),
            "COLISEUM_MAX_METADATA_BYTES": str(self.max_metadata_bytes),
            "COLISEUM_VOLUME_DROP_SHARE": repr(self.volume_drop_share),
            "COLISEUM_FRESHNESS_HOURS": repr(self.freshness_hours),
            "COLISEUM_ALERT_WEBHOOK_URL": self.alert_webhook_url or "",
            "COLISEUM_ALERT_LOG": str(self.alert_log),
            "COLISEUM_APP_ROLES": ",".join(self.app_roles),
            "COLISEUM_ADMIN_ROLES": ",".join(self.admin_roles),
            "COLISEUM_AUDIT_FORCE_FAIL": ",".join(sorted(self.audit_force_fail)),
            "COLISEUM_DATA_DOCS": "1" if self.data_docs else "0",
            "COLISEUM_DATA_DOCS_URL": self.data_docs_url,
        }

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some values replaced (validated again): how tests and drills vary the settings."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        return replace(self, **changes)  # type: ignore[arg-type]


def child_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a subprocess (dagster dev): this process's, plus `extra`."""
    return {**os.environ, **extra}


@contextmanager
def environment(extra: Mapping[str, str]) -> Iterator[None]:
    """Set `extra` in this process's environment for the duration of a call that only reads it from there
    (dbt in this process, and dagster-dbt's subprocess environment, come from os.environ)."""
    saved = {name: os.environ.get(name) for name in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
