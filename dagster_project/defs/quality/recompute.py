"""`coliseum verify --recompute`: is what the app reads true? Rebuild the live as-of date from the log as it
stands, in a scratch schema, with the same dbt models in one full build (no incremental state), and diff
every published relation against it. The production-side form of the differential test.

The scratch build reads the sources and writes only its own schema: it never marks the log, never touches
the build schema or the published relations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import psycopg
from dagster_dbt.errors import DagsterDbtCliRuntimeError
from psycopg import sql

from dagster_project.contract import (
    BOARDS,
    FAN_RELATIONS,
    METRICS,
    SNAPSHOTS,
    USER_DNA_COPY,
    USER_ENTRIES_COPY,
    WINDOWS,
    board_name,
)
from dagster_project.db.connection import dbt_env
from dagster_project.defs.dbt.invoke import PARTIAL_PARSE_FILE, stream_dbt
from dagster_project.defs.dbt.vars import daily_vars, run_environment, window_vars
from dagster_project.defs.publish.fan import fan_queries
from dagster_project.defs.publish.publication import (
    BOARD_COLUMNS,
    METRICS_SELECT,
    MUTATION_COLUMNS,
    current_publication,
)
from dagster_project.settings import DBT_PROJECT_DIR, Settings

SAMPLE = 5


@dataclass
class RelationDiff:
    name: str
    published_rows: int
    rebuilt_rows: int
    only_published: list[tuple] = field(default_factory=list)  # first rows the rebuild does not have
    only_rebuilt: list[tuple] = field(default_factory=list)  # first rows the publication does not have
    missing: int = 0  # rows of the rebuild absent from the publication
    extra: int = 0  # rows of the publication absent from the rebuild

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.extra == 0


@dataclass
class RecomputeReport:
    as_of_date: date | None
    publication_id: int | None
    relations: list[RelationDiff] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.as_of_date is not None and all(r.ok for r in self.relations)

    def lines(self) -> list[str]:
        if self.as_of_date is None:
            return ["recompute: nothing has been published"]
        out = []
        for r in self.relations:
            status = "ok" if r.ok else "DIFFERS"
            out.append(
                f"{status:<8} {r.name:<40} published {r.published_rows}, rebuilt {r.rebuilt_rows}"
                + ("" if r.ok else f": {r.extra} row(s) only published, {r.missing} only rebuilt")
            )
            out += [f"           published only: {row}" for row in r.only_published]
            out += [f"           rebuilt only:   {row}" for row in r.only_rebuilt]
        return out


def scratch_schema(settings: Settings) -> str:
    return f"{settings.build_schema}_recompute"[:63]


def rebuild(url: str, settings: Settings, schema: str, as_of: date, run_id: str = "recompute") -> None:
    """One full dbt build, in one dbt invocation: every day from the partitions start through `as_of`, then its
    windows (dbt orders them; the daily and window run values have distinct names)."""
    connection = {**dbt_env(url, settings), "COLISEUM_BUILD_SCHEMA": schema}
    run_values = {
        **daily_vars(settings.partitions_start, as_of + timedelta(days=1), run_id, settings),
        **window_vars(as_of, list(WINDOWS)),
    }
    # One target folder per home for every rebuild: each starts from the previous one's parse state (its profile
    # names the scratch schema, so the pipeline's own parse state does not apply).
    target = settings.dbt_target_dir / "recompute"
    try:
        for _event in stream_dbt(
            ["build", "--select", "tag:daily", "tag:window", "--exclude-resource-type", "test"],
            project_dir=DBT_PROJECT_DIR,
            profiles_dir=DBT_PROJECT_DIR,
            target_path=target,
            parse_state=target / PARTIAL_PARSE_FILE,
            variables={**connection, **run_environment(run_values)},
            echo=False,
        ):
            pass
    except DagsterDbtCliRuntimeError as error:
        raise RuntimeError(f"recompute: dbt build failed:\n{str(error)[-3000:]}") from error


def expected_relations(settings: Settings, schema: str, as_of: date) -> dict[str, tuple[sql.Composable, str]]:
    """For each published relation: the rebuild's rows as it would publish them, and the column list."""
    scratch, literal = sql.Identifier(schema), sql.Literal(as_of)
    relations: dict[str, tuple[sql.Composable, str]] = {}
    for domain, window in BOARDS:
        relations[board_name(domain, window)] = (
            sql.SQL(
                "select {columns} from {s}.coliseum_leaderboard_history where as_of_date = {d} and domain = {domain} "
                'and "window" = {window}'
            ).format(
                columns=sql.SQL(BOARD_COLUMNS),
                s=scratch,
                d=literal,
                domain=sql.Literal(domain),
                window=sql.Literal(window),
            ),
            BOARD_COLUMNS,
        )
    for snapshot in SNAPSHOTS:
        relations[snapshot.name] = (
            sql.SQL("select {columns} from {s}.{model} where as_of_date = {d}").format(
                columns=sql.SQL(snapshot.select_list), s=scratch, model=sql.Identifier(snapshot.name), d=literal
            ),
            snapshot.select_list,
        )
    mutations = sql.SQL("(select * from {s}.coliseum_dna_mutations where activity_date <= {d})").format(
        s=scratch, d=literal
    )
    relations["coliseum_dna_mutations"] = (
        sql.SQL("select {columns} from {m} as m").format(columns=sql.SQL(MUTATION_COLUMNS), m=mutations),
        MUTATION_COLUMNS,
    )
    metrics = METRICS_SELECT.replace("{build}.coliseum_published_mutations", "{m} as m")
    relations[METRICS.name] = (sql.SQL(metrics).format(m=mutations), ", ".join(f'"{c}"' for c in METRICS.column_names))
    entries, dna = (
        sql.SQL("(select * from {s}.{model} where activity_date <= {d})").format(
            s=scratch, model=sql.Identifier(copy.model), d=literal
        )
        for copy in (USER_ENTRIES_COPY, USER_DNA_COPY)
    )
    queries = fan_queries(settings, entries, dna, as_of)
    for relation in FAN_RELATIONS:
        relations[relation.name] = (
            sql.SQL("select {columns} from ({query}) as rebuilt").format(
                columns=sql.SQL(relation.select_list), query=queries[relation.name]
            ),
            relation.select_list,
        )
    return relations


def diff(conn: psycopg.Connection, settings: Settings, schema: str, as_of: date) -> list[RelationDiff]:
    target = sql.Identifier(settings.publish_schema)
    out = []
    for name, (expected, columns) in expected_relations(settings, schema, as_of).items():
        published = sql.SQL("select {columns} from {t}.{name}").format(
            columns=sql.SQL(columns), t=target, name=sql.Identifier(name)
        )
        query = sql.SQL(
            """
            with published as materialized ({published}), rebuilt as materialized ({expected}),
            extra as (select * from published except all select * from rebuilt),
            missing as (select * from rebuilt except all select * from published)
            select (select count(*) from published), (select count(*) from rebuilt),
                   (select count(*) from extra), (select count(*) from missing),
                   (select coalesce(json_agg(to_json(e)), '[]') from (select * from extra limit {n}) e),
                   (select coalesce(json_agg(to_json(m)), '[]') from (select * from missing limit {n}) m)
            """
        ).format(published=published, expected=expected, n=sql.Literal(SAMPLE))
        n_published, n_rebuilt, extra, missing, extra_rows, missing_rows = conn.execute(query).fetchone()
        out.append(
            RelationDiff(
                name=name,
                published_rows=n_published,
                rebuilt_rows=n_rebuilt,
                only_published=[tuple(r.values()) for r in extra_rows],
                only_rebuilt=[tuple(r.values()) for r in missing_rows],
                missing=missing,
                extra=extra,
            )
        )
    return out


def recompute(url: str, settings: Settings, keep: bool = False) -> RecomputeReport:
    """Rebuild the live as-of date in a scratch schema and diff every published relation against it."""
    with psycopg.connect(url, autocommit=True) as conn:
        live = current_publication(conn, settings)
        if live is None:
            return RecomputeReport(None, None)
        schema = scratch_schema(settings)
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
        try:
            rebuild(url, settings, schema, live.as_of_date)
            relations = diff(conn, settings, schema, live.as_of_date)
        finally:
            if not keep:
                conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
    return RecomputeReport(live.as_of_date, live.publication_id, relations)
