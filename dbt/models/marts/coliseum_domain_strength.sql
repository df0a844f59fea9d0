{{
  config(
    indexes=[{'columns': ['as_of_date', '"window"']}],
  )
}}
{%- set as_of_date = run_value('as_of_date') -%}
{#- Reads only daily aggregates, running totals and the window's fan counts (coliseum_artist_fans): the raw
    log is never rescanned for a window. -#}

{% call(window) union_windows() %}
    with strength as (

        select * from {{ window_strength(as_of_date, window) }} as in_window

    ),

    final as (

        select
            '{{ as_of_date }}'::date as as_of_date,
            '{{ window }}'::text as "window",
            strength.entity_id,
            strength.domain,
            strength.strength,
            strength.event_count,
            -- The artist's fans in this domain (a strength row without them fails the GX suite's unique_fans >= 1).
            case strength.domain
                {%- for domain in domains() %}
                when '{{ domain }}' then fans.unique_fans_{{ domain | lower }}
                {%- endfor %}
            end as unique_fans
        from strength
        -- One probe of the (as_of_date, window, entity_id) index per row: a join of the two relations just built
        -- is planned from stale statistics (a few rows each) as a nested loop over both.
        cross join lateral (
            select * from {{ ref('coliseum_artist_fans') }} as artist_fans
            where artist_fans.as_of_date = '{{ as_of_date }}'::date
              and artist_fans."window" = '{{ window }}'
              and artist_fans.entity_id = strength.entity_id
            limit 1
        ) as fans

    )

    select * from final
{% endcall %}
