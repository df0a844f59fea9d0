"""Alerts reach a real webhook on loopback and the JSONL log, once per check, partition and run."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from dagster import build_sensor_context

from dagster_project.app.runner import PipelineRunError, execute_plan, run_pipeline
from dagster_project.defs.alerts.alerts import dispatch, freshness_alerts, run_alerts
from dagster_project.defs.alerts.sensors import coliseum_alerts
from dagster_project.defs.nightly.plan import nightly_plan
from dagster_project.defs.publish.publication import current_publication
from dagster_project.defs.resources import ColiseumResource
from dagster_project.devtools.generate import generate
from dagster_project.settings import Settings
from tests.support.database import AS_OF
from tests.support.helpers import follow, new_id, quiet

D = AS_OF


class Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def webhook():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


@pytest.fixture(scope="module")
def baseline(database):
    with database.connect() as conn:
        generate(conn, database.settings, events=2000, days=10, seed=21, end_date=D)
    return run_pipeline(database.settings, [D], database.instance)


@pytest.fixture
def alerting(database, tmp_path, webhook) -> Settings:
    """The database's settings with an alert log of this test and the loopback webhook."""
    Receiver.received.clear()
    return database.settings.with_changes(alert_log=tmp_path / "alerts.jsonl", alert_webhook_url=webhook)


def publish_stage(database, settings: Settings) -> list[str]:
    """Only the publish run (candidate, audits, switch): the boards of D are already built."""
    return execute_plan(settings, nightly_plan([D])[2:], D, database.instance, log=quiet)


def forced(settings: Settings, check: str) -> Settings:
    """The force-fail drill: `check` fails on purpose."""
    return settings.with_changes(audit_force_fail=frozenset({check}))


def lines(log) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_failed_warning_check_in_a_successful_run_alerts_once(database, baseline, alerting):
    settings = forced(alerting, "volume_anomaly")
    run_ids = publish_stage(database, settings)  # a failed warning does not fail the run
    with database.connect() as conn:
        sent = dispatch(conn, settings, run_alerts(database.instance, run_ids))
        assert dispatch(conn, settings, run_alerts(database.instance, run_ids)) == []
    # The generated data has artists without a profile: that warning is real, the volume one is forced.
    assert sorted((a.kind, a.check, a.severity, a.partition) for a in sent) == [
        ("check_failed", "artists_without_profile", "warn", D.isoformat()),
        ("check_failed", "volume_anomaly", "warn", D.isoformat()),
    ]
    assert len(Receiver.received) == 2
    posted = next(p for p in Receiver.received if p["coliseum"]["check"] == "volume_anomaly")
    assert "volume_anomaly" in posted["text"]
    assert posted["coliseum"]["run_id"] in run_ids
    assert posted["coliseum"]["asset"] == "coliseum/publication_candidate"
    assert sorted(entry["check"] for entry in lines(settings.alert_log)) == [
        "artists_without_profile",
        "volume_anomaly",
    ]


def test_blocking_failure_alerts_from_the_sensor_with_check_rows_and_run(database, baseline, alerting):
    settings = forced(alerting, "gx_leaderboard_suite")
    with pytest.raises(PipelineRunError) as failure:
        publish_stage(database, settings)
    resources = {"coliseum": ColiseumResource.from_settings(settings)}
    with build_sensor_context(instance=database.instance, resources=resources) as context:
        coliseum_alerts(context)
    alerts = lines(settings.alert_log)
    check = next(a for a in alerts if a["kind"] == "check_failed" and a["check"] == "gx_leaderboard_suite")
    assert check["severity"] == "error"
    assert check["partition"] == D.isoformat()
    assert check["run_id"] in failure.value.run_ids
    assert check["failing_count"] >= 1
    assert any(a["kind"] == "run_failed" for a in alerts)
    assert len(Receiver.received) == len(alerts)
    with build_sensor_context(instance=database.instance, resources=resources) as context:
        coliseum_alerts(context)
    assert len(lines(settings.alert_log)) == len(alerts), "a second tick sends nothing again"


def test_misconfigured_webhook_does_not_block_publishing(database, baseline, alerting):
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    settings = alerting.with_changes(alert_webhook_url=dead)
    with database.connect() as conn:
        before = current_publication(conn, database.settings).publication_id
    run_ids = publish_stage(database, settings)
    with database.connect() as conn:
        assert current_publication(conn, database.settings).publication_id > before
        sent = dispatch(conn, settings, run_alerts(database.instance, run_ids))
    assert [a.check for a in sent] == ["artists_without_profile"]
    kinds = [entry["kind"] for entry in lines(settings.alert_log)]
    assert kinds == ["check_failed", "sink_failed"]


def test_freshness_and_backlog(database, baseline):
    settings = database.settings
    now = datetime.now(UTC)
    with database.connect() as conn:
        assert freshness_alerts(conn, settings, now) == []
        conn.execute("update coliseum.coliseum_publications set published_at = %s", (now - timedelta(hours=40),))
        follow(conn, new_id(), new_id(), now - timedelta(minutes=5))  # news in the log
        follow(conn, new_id(), new_id(), now - timedelta(days=3))  # an old entry nobody processed
        kinds = {a.kind: a for a in freshness_alerts(conn, settings, now)}
    assert set(kinds) == {"stale_publication", "backlog"}
    assert kinds["backlog"].failing_count == 1


def test_entries_dated_ahead_are_named_and_infinite_dates_never_crash(database, baseline):
    """An entry dated more than a day ahead is not yet due: a backlog warning names it. A created_at of
    +infinity (quarantined when swept) must not break the freshness tick."""
    settings = database.settings
    now = datetime.now(UTC)
    with database.connect() as conn:
        ahead = follow(conn, new_id(), new_id(), now + timedelta(days=3))
        conn.execute(
            "insert into public.passport_entries (user_id, event_type, created_at) "
            "values (gen_random_uuid(), 'artist_follow', 'infinity')"
        )
        warnings = [a for a in freshness_alerts(conn, settings, now) if a.key.startswith("future:")]
    assert [(a.kind, a.severity, a.failing_count) for a in warnings] == [("backlog", "warn", 1)]
    assert ahead in warnings[0].message and [row["id"] for row in warnings[0].sample] == [ahead]
