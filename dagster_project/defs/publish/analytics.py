"""The artist DNA SQL functions (the original migration 018), as thin wrappers over the published views.

They run with the caller's rights: whoever may read the published analytics may call them.
Metric definitions: README, "Artist DNA metrics".
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from dagster_project.settings import Settings

SCALAR_TEMPLATE = """
create or replace function {{target}}.{name}(p_artist_id uuid, p_window text default 'alltime'{extra_arg})
returns {returns} language sql stable as $$
    select {column} from {{target}}.{relation}
    where {key} = p_artist_id and "window" = p_window{extra_filter}
$$
"""
# One metric per domain: (function, returns, column, relation, artist key column).
SCALARS = (
    ("coliseum_genre_diversity_score", "numeric", "genre_diversity_score", "coliseum_artist_dna", "entity_id"),
    ("coliseum_repeat_engagement_rate", "numeric", "repeat_engagement_rate", "coliseum_artist_dna", "entity_id"),
    ("coliseum_revenue_per_fan", "bigint", "net_cents_per_fan", "artist_revenue_per_fan", "artist_id"),
    ("coliseum_geographic_reach", "bigint", "geographic_reach", "coliseum_artist_dna", "entity_id"),
)


def _scalar(name: str, returns: str, column: str, relation: str, key: str) -> str:
    # Revenue per fan is per currency: it takes the currency as a third argument.
    money = relation == "artist_revenue_per_fan"
    definition = SCALAR_TEMPLATE.format(
        name=name,
        returns=returns,
        column=column,
        relation=relation,
        key=key,
        extra_arg=", p_currency text default 'USD'" if money else "",
        extra_filter=" and currency = upper(p_currency)" if money else "",
    )
    return definition


# name -> definition ({target} is the publish schema); their signatures are in contract.FUNCTIONS.
DEFINITIONS: dict[str, str] = {
    **{scalar[0]: _scalar(*scalar) for scalar in SCALARS},
    "coliseum_get_artist_dna": """
        create or replace function {target}.coliseum_get_artist_dna(p_artist_id uuid)
        returns jsonb language sql stable as $$
            select jsonb_build_object(
                'entity_id', p_artist_id,
                'artist_name', max(dna.artist_name),
                'as_of_date', max(dna.as_of_date),
                'windows', jsonb_object_agg(dna."window", jsonb_build_object(
                    'A', jsonb_build_object('strength', dna.strength_a, 'rank', dna.rank_a,
                                            'genre_diversity_score', dna.genre_diversity_score),
                    'T', jsonb_build_object('strength', dna.strength_t, 'rank', dna.rank_t,
                                            'repeat_engagement_rate', dna.repeat_engagement_rate),
                    'G', jsonb_build_object('strength', dna.strength_g, 'rank', dna.rank_g,
                                            'revenue_per_fan', coalesce((
                                                select jsonb_object_agg(money.currency, money.net_cents_per_fan)
                                                from {target}.artist_revenue_per_fan as money
                                                where money.artist_id = p_artist_id
                                                  and money."window" = dna."window"
                                            ), '{{}}'::jsonb)),
                    'C', jsonb_build_object('strength', dna.strength_c, 'rank', dna.rank_c,
                                            'geographic_reach', dna.geographic_reach)
                ))
            )
            from {target}.coliseum_artist_dna as dna
            where dna.entity_id = p_artist_id
            having count(*) > 0
        $$
        """,
}


def create_analytics_functions(conn: psycopg.Connection, settings: Settings) -> None:
    target = sql.Identifier(settings.publish_schema)
    for definition in DEFINITIONS.values():
        conn.execute(sql.SQL(definition).format(target=target))
