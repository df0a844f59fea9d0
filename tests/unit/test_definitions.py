"""The code location without a database: loads and validates, shows the lineage, exact dbt args, asset keys."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from dagster import AssetKey, BackfillPolicy, Definitions

from dagster_project.contract import (
    BOARD_NAMES,
    CANDIDATE_KEY,
    LEDGER_KEY,
    PUBLISHED_NAMES,
    STAGING_KEY,
    build_key,
    published_key,
)
from dagster_project.defs.dbt.assets import translator
from dagster_project.defs.dbt.project import coliseum_dbt
from dagster_project.defs.dbt.vars import RUN_VALUES_VARIABLE, daily_vars, run_environment, window_vars
from dagster_project.defs.nightly.plan import DAILY_JOB, PUBLISH_JOB, RECOMPUTE_JOB, WINDOWS_JOB


@pytest.fixture(scope="module")
def defs(dbt_manifest, offline_settings) -> Definitions:
    from dagster_project.defs import build_defs

    return build_defs(offline_settings)


def test_definitions_load_and_validate(defs):
    Definitions.validate_loadable(defs)
    assert {job for job in (DAILY_JOB, WINDOWS_JOB, PUBLISH_JOB) if defs.resolve_job_def(job)} == {
        DAILY_JOB,
        WINDOWS_JOB,
        PUBLISH_JOB,
    }
    assert defs.resolve_job_def(RECOMPUTE_JOB)
    assert defs.resolve_schedule_def("coliseum_nightly").cron_schedule == "0 2 * * *"
    assert defs.resolve_schedule_def("coliseum_weekly_recompute").cron_schedule == "0 5 * * 0"
    for sensor in ("coliseum_nightly_chain", "coliseum_alerts", "coliseum_freshness"):
        assert defs.resolve_sensor_def(sensor)


def test_the_schedule_hour_comes_from_the_settings(dbt_manifest, offline_settings):
    from dagster_project.defs import build_defs

    defs = build_defs(offline_settings.with_changes(schedule_hour=22))
    assert defs.resolve_schedule_def("coliseum_nightly").cron_schedule == "0 22 * * *"
    assert defs.resolve_schedule_def("coliseum_weekly_recompute").cron_schedule == "0 1 * * 0"


def test_a_ui_backfill_of_the_daily_assets_runs_in_chunks_of_max_days(dbt_manifest, offline_settings):
    """The daily dbt assets and the ledger share one policy (a run closes what it built), from the setting."""
    from dagster_project.defs import build_defs

    graph = build_defs(offline_settings.with_changes(max_days_per_run=7)).resolve_asset_graph()
    assert {graph.get(key).backfill_policy for key in (STAGING_KEY, LEDGER_KEY)} == {BackfillPolicy.multi_run(7)}


def test_lineage_from_passport_entries_to_each_board(defs):
    graph = defs.resolve_asset_graph()
    chain = [
        AssetKey("passport_entries"),
        AssetKey(["coliseum", "stg_passport__entries"]),
        AssetKey(["coliseum", "coliseum_dna_mutations"]),
        AssetKey(["coliseum", "int_artist_domain_daily"]),
        AssetKey(["coliseum", "coliseum_domain_strength"]),
        AssetKey(["coliseum", "coliseum_leaderboard_history"]),
        AssetKey(["coliseum", "publication_candidate"]),
    ]
    for upstream, downstream in zip(chain, chain[1:], strict=False):
        assert upstream in graph.get(downstream).parent_keys, f"{upstream} -> {downstream}"
    # Every window's branch is in the lineage: the all-time running totals and the 7d/30d fan-days (whose fans
    # coliseum_artist_fans counts once for both window marts).
    fans = AssetKey(["coliseum", "coliseum_artist_fans"])
    strength_parents = graph.get(AssetKey(["coliseum", "coliseum_domain_strength"])).parent_keys
    assert {AssetKey(["coliseum", "int_artist_domain_totals"]), fans} <= strength_parents
    assert fans in graph.get(AssetKey(["coliseum", "coliseum_artist_dna"])).parent_keys
    assert {
        AssetKey(["coliseum", "int_artist_fan_days"]),
        AssetKey(["coliseum", "int_artist_totals"]),
        AssetKey(["coliseum", "int_artist_domain_totals"]),
    } <= graph.get(fans).parent_keys
    # The all-time revenue from its running totals, which add the days' revenue and first payments.
    revenue_totals = AssetKey(["coliseum", "int_artist_revenue_totals"])
    assert revenue_totals in graph.get(AssetKey(["coliseum", "artist_revenue_summary"])).parent_keys
    assert {
        AssetKey(["coliseum", "int_artist_revenue_daily"]),
        AssetKey(["coliseum", "int_artist_new_payers_daily"]),
    } <= graph.get(revenue_totals).parent_keys
    for name in BOARD_NAMES:
        assert chain[-1] in graph.get(AssetKey(["published", name])).parent_keys
    assert len(BOARD_NAMES) == 12


def test_each_published_relation_shows_its_model_columns_and_owner(defs, offline_settings):
    """The catalog tells the truth: a board depends on the leaderboard history, a snapshot on its mart (both
    copied from the candidate), the published mutations and metrics on the mutations alone (the candidate does
    not read them); columns typed as the contract, a freshness window of COLISEUM_FRESHNESS_HOURS."""
    from dagster_project.contract import FAN_NAMES, METRICS, MUTATIONS, PUBLISHED, SNAPSHOTS
    from dagster_project.defs.publish.assets import OWNERS

    graph = defs.resolve_asset_graph()
    candidate = AssetKey(["coliseum", "publication_candidate"])
    model = {name: AssetKey(["coliseum", "coliseum_leaderboard_history"]) for name in BOARD_NAMES}
    model |= {s.name: AssetKey(["coliseum", s.name]) for s in SNAPSHOTS}
    model[MUTATIONS.name] = AssetKey(["coliseum", "coliseum_dna_mutations"])
    model |= {name: AssetKey(["coliseum", "int_user_entries"]) for name in FAN_NAMES if name.startswith("dia_")}
    model |= {name: AssetKey(["coliseum", "int_user_dna_totals"]) for name in FAN_NAMES if "user_dna" in name}
    for relation in PUBLISHED:
        node = graph.get(AssetKey(["published", relation.name]))
        copied_day_by_day = (MUTATIONS.name, METRICS.name, *FAN_NAMES)
        assert (candidate in node.parent_keys) == (relation.name not in copied_day_by_day)
        assert node.freshness_policy.fail_window.to_timedelta() == timedelta(hours=offline_settings.freshness_hours)
        if relation.name in model:
            assert model[relation.name] in node.parent_keys, relation.name
        assert node.owners == OWNERS
        references = node.metadata["dagster/code_references"].code_references
        assert any(r.file_path.endswith("defs/publish/assets.py") for r in references)
        columns = node.metadata["dagster/column_schema"].columns
        assert [(c.name, c.type) for c in columns] == list(relation.columns)


def test_every_published_name_is_an_asset(defs):
    keys = set(defs.resolve_asset_graph().get_all_asset_keys())
    assert {published_key(name) for name in PUBLISHED_NAMES} <= keys
    assert {CANDIDATE_KEY, STAGING_KEY} <= keys


def test_translator_asset_keys():
    assert translator.get_asset_key({"resource_type": "source", "name": "passport_entries"}) == AssetKey(
        "passport_entries"
    )
    assert translator.get_asset_key({"resource_type": "model", "name": "stg_passport__entries"}) == STAGING_KEY
    assert translator.get_asset_key({"resource_type": "seed", "name": "influence_weights"}) == AssetKey(
        ["coliseum", "influence_weights"]
    )
    assert build_key("x") == AssetKey(["coliseum", "x"]) and published_key("x") == AssetKey(["published", "x"])
    assert translator.get_group_name({"resource_type": "model", "name": "x"}) == "coliseum"


def test_importing_definitions_does_not_parse_dbt(dbt_manifest):
    manifest = coliseum_dbt.manifest_path
    before = manifest.stat().st_mtime_ns
    subprocess.run([sys.executable, "-c", "import dagster_project.definitions"], check=True)
    assert manifest.stat().st_mtime_ns == before


def test_dbt_run_values_are_exact(offline_settings):
    settings = offline_settings.with_changes(
        platform_start=date(2025, 3, 1),
        max_amount_cents=999,
        max_metadata_bytes=10,
    )
    assert run_environment(daily_vars(date(2026, 11, 20), date(2026, 11, 21), "run-1", settings)) == {
        RUN_VALUES_VARIABLE: '{"end_date": "2026-11-21", "max_amount_cents": 999, "max_metadata_bytes": 10, '
        '"platform_start": "2025-03-01", "run_id": "run-1", "start_date": "2026-11-20"}',
    }
    assert run_environment(window_vars(date(2026, 11, 20), ["alltime", "7d"])) == {
        RUN_VALUES_VARIABLE: '{"as_of_date": "2026-11-20", "windows": ["7d", "alltime"]}',
    }
    assert run_environment(None) == {RUN_VALUES_VARIABLE: "{}"}


def test_dbt_vars_refuse_empty_ranges_and_unknown_windows(offline_settings):
    with pytest.raises(ValueError, match="empty day range"):
        daily_vars(date(2026, 11, 20), date(2026, 11, 20), "run-1", offline_settings)
    with pytest.raises(ValueError, match="windows must be"):
        window_vars(date(2026, 11, 20), ["1y"])
    with pytest.raises(ValueError, match="windows must be"):
        window_vars(date(2026, 11, 20), [])


def test_recompute_compares_every_published_relation(offline_settings):
    """verify --recompute (and the differential test through it) must cover each published name: a new
    published relation joins the comparison the day it lands, or this fails."""
    from dagster_project.defs.quality.recompute import expected_relations

    relations = expected_relations(offline_settings, "scratch", date(2026, 11, 20))
    assert set(relations) == set(PUBLISHED_NAMES)


def test_dbt_resource_skips_only_what_dagster_dbt_still_has(offline_settings):
    """ColiseumDbtResource overrides two private members of dagster-dbt (the `dbt --version` subprocess and the
    in-process adapter): an upgrade that renames them must fail here instead of silently bringing the cost back."""
    from functools import cached_property

    from dagster_dbt import DbtCliResource

    from dagster_project.defs.resources import build_resources
    from dagster_project.settings import BIN_DIR

    assert isinstance(DbtCliResource.__dict__["_cli_version"], cached_property)
    assert callable(DbtCliResource.__dict__["_initialize_dbt_core_adapter"])
    reported = subprocess.run([str(BIN_DIR / "dbt"), "--version"], capture_output=True, text=True, check=True).stdout
    assert f"installed: {build_resources(offline_settings)['dbt']._cli_version}" in reported


def test_dbt_models_link_their_sql_and_each_dbt_test_says_what_it_asserts(defs):
    graph = defs.resolve_asset_graph()
    references = graph.get(build_key("coliseum_dna_mutations")).metadata["dagster/code_references"].code_references
    assert any(r.file_path.endswith("models/intermediate/coliseum_dna_mutations.sql") for r in references)
    dbt_checks = {
        spec.name: spec
        for assets_def in graph.assets_defs
        for spec in assets_def.check_specs
        if "dagster_dbt/unique_id" in spec.metadata
    }
    assert len(dbt_checks) > 20 and all(spec.description for spec in dbt_checks.values())
    # One row_rules test per model: its key, not-null columns, accepted values and expressions in one node.
    described = dbt_checks["row_rules_coliseum_dna_mutations"].description
    assert described.startswith("dbt test row_rules (accepted_values: {'domain': ")
    assert "key: ['passport_entry_id', 'domain']" in described
    assert "not_null: ['passport_entry_id', 'entity_id', 'weight_version']" in described
    assert described.endswith("; blocking: a failure fails the build and holds back publication.")


def test_dbt_row_counts_come_from_the_adapter_response():
    from dagster_project.defs.resources import written_rows_metadata

    def finished(materialized: str, message: str, field: str = "status") -> dict:  # dbt's result event
        return {"data": {"node_info": {"materialized": materialized}, field: message}}

    seed = finished("seed", "INSERT 7", field="result_message")
    assert written_rows_metadata(seed) == {"dagster/row_count": 7, "rows_written_by_build": 7}
    assert written_rows_metadata(finished("table", "SELECT 0")) == {"dagster/row_count": 0, "rows_written_by_build": 0}
    # An incremental model's history is not counted: only what this build wrote.
    assert written_rows_metadata(finished("incremental", "INSERT 0 264")) == {"rows_written_by_build": 264}
    assert written_rows_metadata(finished("incremental", "SELECT 1500")) == {"rows_written_by_build": 1500}
    assert written_rows_metadata(finished("view", "CREATE VIEW")) == {}
    assert written_rows_metadata(finished("incremental", "error")) == {}
    assert written_rows_metadata({"data": {"node_info": {"materialized": "seed"}}}) == {}  # a start event


def test_row_rules_refuses_a_string_where_a_list_belongs(tmp_path):
    # Jinja iterates a string by character: `not_null: 'plan'` would check columns p, l, a, n. dbt parse fails
    # naming the test and the argument instead.
    project = tmp_path / "dbt"
    shutil.copytree(coliseum_dbt.project_dir, project, ignore=shutil.ignore_patterns("target", "logs"))
    seeds = project / "seeds" / "_seeds.yml"
    seeds.write_text(seeds.read_text().replace("not_null: ['plan']", "not_null: 'plan'"))
    parsed = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "parse",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert parsed.returncode != 0
    assert "row_rules_coliseum_plan_limits" in parsed.stdout
    assert "not_null must be a list, got plan" in parsed.stdout
