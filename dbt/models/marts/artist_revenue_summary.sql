{{
  config(
    indexes=[{'columns': ['as_of_date', '"window"']}],
  )
}}
{%- set as_of_date = run_value('as_of_date') -%}
{#- Per artist and currency (never summed across currencies), integer cents. gross = completed payments,
    refunds = what completed refunds reversed (dated by the refund), net = gross - refunds. Payments that
    are pending or failed are excluded from the money and counted. -#}

{% call(window) union_windows() %}
    with profiles as (

        select artist_id, artist_name from {{ ref('stg_passport__artist_profiles') }}

    ),

    {% if window_days(window) is none -%}
    -- All time: one row per artist and currency of the running totals as of the date, not every transaction.
    per_artist as (

        select
            artist_id,
            currency,
            {%- for measure in revenue_sums() + ['paying_fans'] %}
            {{ measure }}::bigint as {{ measure }},
            {%- endfor %}
            first_sale_at,
            last_sale_at
        from {{ as_of_totals(ref('int_artist_revenue_totals'), as_of_date) }} as as_of

    ),
    {%- else -%}
    transactions as (

        select * from {{ ref('int_treasury_transactions') }}
        where {{ in_window('activity_date', as_of_date, window) }}

    ),

    per_artist as (

        select
            {{ revenue_measures() | indent(8) }},
            count(distinct user_id) filter (where kind = 'payment' and counted) as paying_fans
        from transactions
        group by artist_id, currency

    ),
    {%- endif %}

    final as (

        select
            '{{ as_of_date }}'::date as as_of_date,
            '{{ window }}'::text as "window",
            per_artist.artist_id,
            {{ artist_display_name('profiles.artist_name', 'per_artist.artist_id') }} as artist_name,
            per_artist.currency,
            per_artist.gross_cents,
            per_artist.refunds_cents,
            per_artist.gross_cents - per_artist.refunds_cents as net_cents,
            per_artist.completed_transactions,
            per_artist.refunded_transactions,
            per_artist.pending_transactions,
            per_artist.failed_transactions,
            per_artist.excluded_transactions,
            per_artist.paying_fans,
            per_artist.first_sale_at,
            per_artist.last_sale_at
        from per_artist
        left join profiles on profiles.artist_id = per_artist.artist_id

    )

    select * from final
{% endcall %}
