"""The artist DNA SQL functions (the original migration 018), as thin wrappers over the published views.

They run with the caller's rights: whoever may read the published analytics may call them.
Metric definitions: README, "Artist DNA metrics".
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from dagster_project.settings import Settings

# name -> (argument list for to_regprocedure, definition); {target} is the publish schema.
FUNCTIONS: dict[str, tuple[str, str]] = {
    "coliseum_genre_diversity_score": (
        "uuid, text",
        """
        create or replace function {target}.coliseum_genre_diversity_score(
            p_artist_id uuid, p_window text default 'alltime'
        ) returns numeric language sql stable as $$
            select genre_diversity_score from {target}.coliseum_artist_dna
            where entity_id = p_artist_id and "window" = p_window
        $$
        """,
    ),
    "coliseum_repeat_engagement_rate": (
        "uuid, text",
        """
        create or replace function {target}.coliseum_repeat_engagement_rate(
            p_artist_id uuid, p_window text default 'alltime'
        ) returns numeric language sql stable as $$
            select repeat_engagement_rate from {target}.coliseum_artist_dna
            where entity_id = p_artist_id and "window" = p_window
        $$
        """,
    ),
    "coliseum_revenue_per_fan": (
        "uuid, text, text",
        """
        create or replace function {target}.coliseum_revenue_per_fan(
            p_artist_id uuid, p_window text default 'alltime', p_currency text default 'USD'
        ) returns bigint language sql stable as $$
            select net_cents_per_fan from {target}.artist_revenue_per_fan
            where artist_id = p_artist_id and "window" = p_window and currency = upper(p_currency)
        $$
        """,
    ),
    "coliseum_geographic_reach": (
        "uuid, text",
        """
        create or replace function {target}.coliseum_geographic_reach(
            p_artist_id uuid, p_window text default 'alltime'
        ) returns bigint language sql stable as $$
            select geographic_reach from {target}.coliseum_artist_dna
            where entity_id = p_artist_id and "window" = p_window
        $$
        """,
    ),
    "coliseum_get_artist_dna": (
        "uuid",
        """
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
    ),
}


def create_analytics_functions(conn: psycopg.Connection, settings: Settings) -> None:
    target = sql.Identifier(settings.publish_schema)
    for _args, definition in FUNCTIONS.values():
        conn.execute(sql.SQL(definition).format(target=target))
