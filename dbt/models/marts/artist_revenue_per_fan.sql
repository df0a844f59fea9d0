{{
  config(
    indexes=[{'columns': ['as_of_date', '"window"']}],
  )
}}
{%- set as_of_date = run_value('as_of_date') -%}
{#- The G-domain money metric, per artist, currency and window: net revenue per unique fan (anyone with a
    counted event for the artist in the window) and per paying fan, rounded to whole cents. -#}

with revenue as (

    select * from {{ ref('artist_revenue_summary') }}
    where {{ partition_windows_filter() }}

),

fans as (

    -- Unique fans are counted once, by the DNA mart (the alltime window reads every fan-day).
    select "window", entity_id, unique_fans from {{ ref('coliseum_artist_dna') }}
    where {{ partition_windows_filter() }}

),

final as (

    select
        revenue.as_of_date,
        revenue."window",
        revenue.artist_id,
        revenue.artist_name,
        revenue.currency,
        revenue.net_cents,
        coalesce(fans.unique_fans, 0) as unique_fans,
        revenue.paying_fans,
        round(revenue.net_cents::numeric / nullif(fans.unique_fans, 0))::bigint as net_cents_per_fan,
        round(revenue.net_cents::numeric / nullif(revenue.paying_fans, 0))::bigint as net_cents_per_paying_fan
    from revenue
    left join fans
        on fans."window" = revenue."window"
        and fans.entity_id = revenue.artist_id

)

select * from final
