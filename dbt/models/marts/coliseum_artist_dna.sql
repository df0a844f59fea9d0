{{
  config(
    indexes=[{'columns': ['as_of_date', '"window"', 'entity_id']}],
  )
}}
{%- set as_of_date = run_value('as_of_date') -%}
{#- Artist DNA per as-of date and window: each domain's strength and rank, and one metric per domain
    (definitions in the README): A genre diversity (Gini-Simpson over genre-tagged counted entries),
    T repeat engagement (share of fans active on two or more days), C geographic reach (distinct
    countries). G's metric, revenue per fan, is per currency: see artist_revenue_per_fan. -#}

{#- The project's analyze_if_grown post-hook on the marts read here: the as-of date's rows were inserted moments
    ago, and without statistics the planner re-aggregated a window's tags once per artist. -#}

with board as (

    select * from {{ ref('coliseum_leaderboard_history') }}
    where {{ partition_windows_filter() }}

),

domains as (

    select
        "window",
        entity_id,
        {%- for domain in domains() %}
        max(score) filter (where domain = '{{ domain }}') as strength_{{ domain | lower }},
        max(rank) filter (where domain = '{{ domain }}') as rank_{{ domain | lower }},
        {%- endfor %}
        max(artist_name) as artist_name
    from board
    group by "window", entity_id

),

{% for window in partition_windows() -%}
tags_{{ loop.index }} as (

    {% if window_days(window) is none -%}
    -- All time: each artist and tag's running totals as of D.
    select '{{ window }}'::text as "window", entity_id, tag_kind, tag, event_count::bigint as event_count
    from {{ as_of_totals(ref('int_artist_tag_totals'), as_of_date) }} as as_of
    {%- else -%}
    select '{{ window }}'::text as "window", entity_id, tag_kind, tag, sum(event_count)::bigint as event_count
    from {{ ref('int_artist_tags_daily') }}
    where {{ in_window('activity_date', as_of_date, window) }}
    group by entity_id, tag_kind, tag
    {%- endif %}

),

{% endfor -%}

tags as (

    {% for window in partition_windows() -%}
    {%- if not loop.first %} union all {% endif %}
    select * from tags_{{ loop.index }}
    {% endfor %}

),

fans as (

    select "window", entity_id, unique_fans, repeat_fans
    from {{ ref('coliseum_artist_fans') }}
    where {{ partition_windows_filter() }}

),

genre_shares as (

    select
        "window",
        entity_id,
        count(*) as genres,
        1 - sum(power(event_count::numeric / total, 2)) as genre_diversity_score
    from (
        select *, sum(event_count) over (partition by "window", entity_id) as total
        from tags where tag_kind = 'genre'
    ) as genre_counts
    group by "window", entity_id

),

places as (

    select
        "window",
        entity_id,
        count(*) filter (where tag_kind = 'country') as geographic_reach,
        count(*) filter (where tag_kind = 'city') as cities
    from tags
    where tag_kind in ('country', 'city')
    group by "window", entity_id

),

final as (

    select
        '{{ as_of_date }}'::date as as_of_date,
        domains."window",
        domains.entity_id,
        domains.artist_name,
        {%- for domain in domains(lower=true) %}
        domains.strength_{{ domain }},
        domains.rank_{{ domain }},
        {%- endfor %}
        round(genre_shares.genre_diversity_score, 4) as genre_diversity_score,
        coalesce(genre_shares.genres, 0) as genres,
        round(fans.repeat_fans::numeric / fans.unique_fans, 4) as repeat_engagement_rate,
        fans.repeat_fans,
        fans.unique_fans,
        places.geographic_reach,
        coalesce(places.cities, 0) as cities
    from domains
    inner join fans
        on fans."window" = domains."window"
        and fans.entity_id = domains.entity_id
    left join genre_shares
        on genre_shares."window" = domains."window"
        and genre_shares.entity_id = domains.entity_id
    left join places
        on places."window" = domains."window"
        and places.entity_id = domains.entity_id

)

select * from final
