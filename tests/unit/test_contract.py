"""The published contract is one consistent list: unique columns, functions that exist, and the README's
contract table lists exactly these names and columns."""

from __future__ import annotations

import re
from itertools import product

import yaml

from dagster_project.contract import (
    BOARD_NAMES,
    BOARDS,
    CONTRACT,
    DOMAINS,
    FUNCTIONS,
    PUBLISHED,
    PUBLISHED_NAMES,
    SNAPSHOTS,
    SOURCES,
    WINDOW_DAYS,
    WINDOWS,
    board_name,
    window_start,
)
from dagster_project.defs.publish import analytics, entitlements, fan
from dagster_project.settings import PROJECT_ROOT


def test_domains_windows_and_boards():
    assert DOMAINS == ("A", "T", "G", "C")
    # dbt's one list of the domains (macros/domains.sql) is the contract's.
    project = yaml.safe_load((PROJECT_ROOT / "dbt" / "dbt_project.yml").read_text())
    assert tuple(project["vars"]["domains"]) == DOMAINS
    assert WINDOWS == ("7d", "30d", "alltime")
    assert tuple(product(DOMAINS, WINDOWS)) == BOARDS
    assert BOARD_NAMES[0] == board_name("A", "7d") == "coliseum_leaderboard_a_7d"
    assert len(set(BOARD_NAMES)) == 12


def test_window_start_is_anchored_to_the_as_of_date():
    from datetime import date

    d = date(2026, 11, 20)
    assert window_start(d, "7d") == date(2026, 11, 14)  # [D-6, D+1)
    assert window_start(d, "30d") == date(2026, 10, 22)  # [D-29, D+1)
    assert window_start(d, "alltime") is None
    assert WINDOW_DAYS == {"7d": 7, "30d": 30, "alltime": None}


def test_every_relation_has_unique_names_and_columns():
    names = [r.name for r in CONTRACT]
    assert len(names) == len(set(names))
    for relation in CONTRACT:
        assert relation.columns, relation.name
        assert len(relation.column_names) == len(set(relation.column_names)), relation.name
        assert relation.description
    assert tuple(r.name for r in PUBLISHED) == PUBLISHED_NAMES
    assert set(PUBLISHED_NAMES) < set(names)


def test_snapshots_have_their_own_tables_and_quote_window():
    tables = [s.snapshot_table for s in SNAPSHOTS]
    assert all(tables) and len(set(tables)) == len(tables)
    for snapshot in SNAPSHOTS:
        assert '"window"' in snapshot.select_list
        assert snapshot.select_list.count(",") == len(snapshot.columns) - 1


def test_functions_are_the_analytics_the_two_entitlement_functions_and_the_user_dna_ema():
    entitlement_functions = {"get_user_coliseum_plan", "coliseum_leaderboard"}
    assert set(FUNCTIONS) == set(analytics.DEFINITIONS) | entitlement_functions | {"coliseum_user_dna_ema"}
    assert "{target}.coliseum_user_dna_ema(" in fan.EMA_FUNCTION
    assert not set(analytics.DEFINITIONS) & entitlement_functions
    for name, definition in analytics.DEFINITIONS.items():
        assert f"{{target}}.{name}(" in definition, name
    for name in entitlement_functions:
        assert f"{{target}}.{name}(" in entitlements.PLAN_FUNCTION + entitlements.READ_FUNCTION, name


def test_sources_name_the_columns_the_pipeline_reads():
    assert set(SOURCES) == {"passport_entries", "artist_profiles"}
    assert {"id", "created_at", "coliseum_processed_at", "metadata"} <= set(SOURCES["passport_entries"])


def _expand(text: str) -> list[str]:
    """`coliseum_leaderboard_{a,t}_{7d,30d}` -> every combination, in order."""
    parts = re.split(r"\{([^}]*)\}", text)
    options = [[p] if i % 2 == 0 else p.split(",") for i, p in enumerate(parts)]
    return ["".join(choice) for choice in product(*options)]


def readme_contract() -> dict[str, list[str]]:
    """The README's "Published contract" relations table: relation name -> its columns."""
    text = (PROJECT_ROOT / "README.md").read_text()
    section = text.split("## Published contract", 1)[1].split("Functions:", 1)[0]
    table: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        names = _expand(re.match(r"`([^`]+)`", cells[0]).group(1))
        columns_text = re.sub(r"\([^)]*\)", "", cells[1]).split(":", 1)[0]  # drop notes and explanations
        columns = [
            column
            for part in re.split(r",(?![^{]*\})", columns_text)
            if part.strip()
            for column in _expand(part.strip())
        ]
        for name in names:
            table[name] = columns
    return table


def test_readme_contract_table_lists_exactly_the_contract():
    documented = readme_contract()
    assert set(documented) == {r.name for r in CONTRACT}
    for relation in CONTRACT:
        columns = documented[relation.name]
        assert len(columns) == len(set(columns)), relation.name
        assert set(columns) == set(relation.column_names), relation.name
