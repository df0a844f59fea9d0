"""Settings: the one reader of the environment parses, validates and round-trips."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from dagster_project.settings import Settings, SettingsError


def test_defaults_from_an_empty_environment(tmp_path):
    settings = Settings.from_env({"COLISEUM_HOME": str(tmp_path)})
    assert settings.database_url is None
    assert settings.home == tmp_path.resolve()
    assert settings.dagster_home == tmp_path.resolve() / "dagster_home"
    assert (settings.source_schema, settings.build_schema, settings.publish_schema) == ("public", "coliseum", "public")
    assert settings.partitions_start == settings.platform_start == date(2025, 1, 1)
    assert settings.schedule_hour == 2
    assert settings.alert_log == tmp_path.resolve() / "alerts.jsonl"
    assert settings.alert_webhook_url is None
    assert settings.app_roles == ("anon", "authenticated")
    assert settings.audit_force_fail == frozenset()
    assert settings.pgdata == tmp_path.resolve() / "pgdata"
    assert settings.data_docs is True


def test_every_variable_is_parsed(tmp_path):
    env = {
        "COLISEUM_DATABASE_URL": "postgresql://u:p@db.example:6543/app",
        "COLISEUM_HOME": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path / "dh"),
        "COLISEUM_SOURCE_SCHEMA": "app",
        "COLISEUM_BUILD_SCHEMA": "build",
        "COLISEUM_PUBLISH_SCHEMA": "api",
        "COLISEUM_PARTITIONS_START": "2026-01-01",
        "COLISEUM_SCHEDULE_HOUR": "5",
        "COLISEUM_PUBLICATIONS_KEPT": "3",
        "COLISEUM_PLATFORM_START": "2025-06-01",
        "COLISEUM_MAX_AMOUNT_CENTS": "123",
        "COLISEUM_MAX_METADATA_BYTES": "456",
        "COLISEUM_VOLUME_DROP_SHARE": "0.25",
        "COLISEUM_FRESHNESS_HOURS": "12.5",
        "COLISEUM_ALERT_WEBHOOK_URL": "https://hooks.example/x",
        "COLISEUM_ALERT_LOG": str(tmp_path / "a.jsonl"),
        "COLISEUM_APP_ROLES": "anon, web_user",
        "COLISEUM_AUDIT_FORCE_FAIL": "volume_anomaly, gx_strength_suite",
        "COLISEUM_DATA_DOCS": "0",
        "COLISEUM_DATA_DOCS_URL": "http://docs.example:8080/",
    }
    s = Settings.from_env(env)
    assert s.data_docs_url == "http://docs.example:8080"
    assert s.database_url == "postgresql://u:p@db.example:6543/app"
    assert s.dagster_home == (tmp_path / "dh").resolve()
    assert (s.source_schema, s.build_schema, s.publish_schema) == ("app", "build", "api")
    assert (s.partitions_start, s.platform_start) == (date(2026, 1, 1), date(2025, 6, 1))
    assert (s.schedule_hour, s.publications_kept, s.max_amount_cents, s.max_metadata_bytes) == (5, 3, 123, 456)
    assert (s.volume_drop_share, s.freshness_hours) == (0.25, 12.5)
    assert s.alert_webhook_url == "https://hooks.example/x"
    assert s.alert_log == tmp_path / "a.jsonl"
    assert s.app_roles == ("anon", "web_user")
    assert s.audit_force_fail == frozenset({"volume_anomaly", "gx_strength_suite"})
    assert s.data_docs is False
    assert Settings.from_env(s.as_env()) == s


def test_as_env_round_trips_the_defaults_and_changes(tmp_path):
    settings = Settings.from_env({"COLISEUM_HOME": str(tmp_path)})
    assert Settings.from_env(settings.as_env()) == settings
    changed = settings.with_changes(
        alert_log=tmp_path / "x.jsonl", alert_webhook_url="http://127.0.0.1:1/hook", audit_force_fail=frozenset({"a"})
    )
    assert Settings.from_env(changed.as_env()) == changed
    assert changed != settings and hash(changed) != hash(settings)


def test_settings_are_frozen(tmp_path):
    settings = Settings.from_env({"COLISEUM_HOME": str(tmp_path)})
    with pytest.raises(AttributeError):
        settings.schedule_hour = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"COLISEUM_SCHEDULE_HOUR": "24"}, "COLISEUM_SCHEDULE_HOUR=24 must be 0-23"),
        ({"COLISEUM_SCHEDULE_HOUR": "two"}, "COLISEUM_SCHEDULE_HOUR='two' is not a valid int"),
        ({"COLISEUM_PARTITIONS_START": "2026-13-01"}, "COLISEUM_PARTITIONS_START='2026-13-01' is not a valid date"),
        ({"COLISEUM_VOLUME_DROP_SHARE": "half"}, "COLISEUM_VOLUME_DROP_SHARE='half' is not a valid float"),
        ({"COLISEUM_PUBLISH_SCHEMA": "Public"}, "COLISEUM_PUBLISH_SCHEMA='Public' is not a plain lower-case"),
        ({"COLISEUM_BUILD_SCHEMA": "x; drop table y"}, "COLISEUM_BUILD_SCHEMA='x; drop table y' is not a plain"),
        ({"COLISEUM_APP_ROLES": "anon,bad-role"}, "COLISEUM_APP_ROLES='bad-role' is not a plain"),
        ({"COLISEUM_BUILD_SCHEMA": "public"}, "COLISEUM_BUILD_SCHEMA and COLISEUM_PUBLISH_SCHEMA must differ"),
        ({"COLISEUM_DATA_DOCS": "maybe"}, "COLISEUM_DATA_DOCS='maybe' must be 1 or 0"),
        ({"COLISEUM_DATA_DOCS_URL": "file:///tmp/docs"}, "COLISEUM_DATA_DOCS_URL='file:///tmp/docs' must be an http"),
        ({"COLISEUM_DATA_DOCS_URL": "http://h:99999"}, "COLISEUM_DATA_DOCS_URL='http://h:99999' has an invalid"),
    ],
)
def test_invalid_values_name_the_variable(tmp_path, variables, message):
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"COLISEUM_HOME": str(tmp_path), **variables})
    assert str(error.value).startswith(message)


def test_with_changes_validates_again_and_rejects_unknown_names(tmp_path):
    settings = Settings.from_env({"COLISEUM_HOME": str(tmp_path)})
    with pytest.raises(SettingsError, match="must be 0-23"):
        settings.with_changes(schedule_hour=30)
    with pytest.raises(TypeError, match="coliseum_alert_log"):
        settings.with_changes(coliseum_alert_log=Path("x"))


def test_empty_values_mean_unset(tmp_path):
    settings = Settings.from_env(
        {
            "COLISEUM_HOME": str(tmp_path),
            "COLISEUM_DATABASE_URL": "",
            "COLISEUM_ALERT_WEBHOOK_URL": "",
            "DAGSTER_HOME": "",
        }
    )
    assert settings.database_url is None and settings.alert_webhook_url is None
    assert settings.dagster_home == tmp_path.resolve() / "dagster_home"


def test_the_homes_settings_file_fills_in_what_the_environment_leaves_unset(tmp_path, monkeypatch):
    """The CLI keeps the demo's partitions start in the home (settings.env), so `coliseum` and `dagster dev` on
    that home agree; a variable that is set wins. Only the process environment is merged with the file."""
    from dagster_project.settings import home_settings, write_home_settings

    write_home_settings(tmp_path, {"COLISEUM_PARTITIONS_START": "2026-10-17"}, "the demo's")
    write_home_settings(tmp_path, {"COLISEUM_SCHEDULE_HOUR": "4"}, "merged")
    assert home_settings(tmp_path) == {"COLISEUM_PARTITIONS_START": "2026-10-17", "COLISEUM_SCHEDULE_HOUR": "4"}
    for name in list(os.environ):
        if name.startswith("COLISEUM_") or name == "DAGSTER_HOME":
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLISEUM_HOME", str(tmp_path))
    settings = Settings.from_env()
    assert (settings.partitions_start, settings.platform_start) == (date(2026, 10, 17), date(2026, 10, 17))
    assert settings.schedule_hour == 4
    monkeypatch.setenv("COLISEUM_PARTITIONS_START", "2025-01-01")
    assert Settings.from_env().partitions_start == date(2025, 1, 1)
    assert Settings.from_env({"COLISEUM_HOME": str(tmp_path)}).partitions_start == date(2025, 1, 1)  # no file
