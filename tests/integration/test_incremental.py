"""The nightly (incremental) path and a full rebuild from an empty pipeline state publish identical
relations for the same as-of date."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dagster import DagsterInstance

from dagster_project.app.runner import run_pipeline
from dagster_project.contract import PUBLISHED_NAMES
from dagster_project.devtools.generate import generate
from tests.support.database import AS_OF
from tests.support.helpers import quiet, table_rows

D = AS_OF
ORDER = {
    "coliseum_dna_mutations": "passport_entry_id, domain",
    "coliseum_metrics": "id, metric_type",
}


# The running totals carry state from night to night: built night by night they must equal one build.
RUNNING_TOTALS = {
    "int_artist_domain_totals": "entity_id, domain, activity_date",
    "int_artist_totals": "entity_id, activity_date",
    "int_artist_tag_totals": "entity_id, tag_kind, tag, activity_date",
    "int_artist_revenue_totals": "artist_id, currency, activity_date",
    "int_user_dna_totals": "user_id, activity_date",
}


def published_state(database) -> dict[str, list[tuple]]:
    with database.connect() as conn:
        state = {name: table_rows(conn, f"public.{name}", ORDER.get(name, "1, 2, 3, 4, 5")) for name in PUBLISHED_NAMES}
        for name, order in RUNNING_TOTALS.items():
            state[name] = table_rows(conn, f"{database.settings.build_schema}.{name}", order)
    return state


@pytest.fixture(scope="module")
def states(database):
    with database.connect() as conn:
        generate(conn, database.settings, events=6000, days=12, seed=23, end_date=D - timedelta(days=1))
    run_pipeline(database.settings, [D - timedelta(days=1)], database.instance, log=quiet)
    with database.connect() as conn:  # the same network's next day arrives after yesterday's publication
        generate(conn, database.settings, events=600, days=1, seed=24, end_date=D, population=(23, 6000))
    run_pipeline(database.settings, [D], database.instance, log=quiet)
    incremental = published_state(database)
    with database.connect() as conn:
        # The night carries earlier totals forward (each key's previous row gets a new valid_until, in the build
        # and in the published user DNA copy): a new network's day would leave that path untested.
        carried = conn.execute(
            f"select count(*) from {database.settings.build_schema}.int_user_dna_totals "
            "where activity_date < %(d)s and valid_until = %(d)s",
            {"d": D},
        ).fetchone()[0]
    assert carried > 0

    with database.connect() as conn:  # empty pipeline state: no build schema, nothing marked processed
        conn.execute(f"drop schema {database.settings.build_schema} cascade")
        conn.execute("update public.passport_entries set coliseum_processed_at = null")
    with DagsterInstance.ephemeral() as fresh:
        run_pipeline(database.settings, [D - timedelta(days=1), D], fresh, log=quiet)
    return incremental, published_state(database)


@pytest.mark.parametrize("name", [*PUBLISHED_NAMES, *RUNNING_TOTALS])
def test_incremental_equals_full_rebuild(states, name):
    incremental, full = states
    assert incremental[name], f"{name} is empty: the comparison would prove nothing"
    assert incremental[name] == full[name]
