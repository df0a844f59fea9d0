{{
  config(
    partition_open_ended=true,
    unique_key=['artist_id', 'currency', 'activity_date'],
    indexes=[
      {'columns': ['artist_id', 'currency', 'activity_date'], 'unique': true},
      {'columns': ['valid_until']},
      {'columns': ['activity_date']},
    ],
  )
}}
{#- Artist x currency: the revenue up to each active day (running totals): money and transactions summed,
    paying fans from their first counted payment day, the first and last sale the earliest and latest. The
    all-time revenue window reads one row per artist and currency from here, not every transaction. -#}

with revenue_days as (

    select
        activity_date, artist_id, currency,
        {%- for measure in revenue_sums() %}
        {{ measure }},
        {%- endfor %}
        0::bigint as paying_fans,
        first_sale_at,
        last_sale_at
    from {{ ref('int_artist_revenue_daily') }}
    where {{ running_totals_since('activity_date') }}

    union all

    select
        activity_date, artist_id, currency,
        {%- for measure in revenue_sums() %}
        0::bigint as {{ measure }},
        {%- endfor %}
        new_fans::bigint as paying_fans,
        null::timestamptz as first_sale_at,
        null::timestamptz as last_sale_at
    from {{ ref('int_artist_new_payers_daily') }}
    where {{ running_totals_since('activity_date') }}

),

daily as (

    select
        activity_date,
        artist_id,
        currency,
        {%- for measure in revenue_sums() + ['paying_fans'] %}
        sum({{ measure }})::bigint as {{ measure }},
        {%- endfor %}
        min(first_sale_at) as first_sale_at,
        max(last_sale_at) as last_sale_at
    from revenue_days
    group by activity_date, artist_id, currency

),

{{ running_totals(
    'daily', ['artist_id', 'currency'], revenue_sums() + ['paying_fans'],
    extremes={'first_sale_at': 'min', 'last_sale_at': 'max'}
) }}
