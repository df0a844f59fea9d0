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
    with transactions as (

        select * from {{ ref('int_treasury_transactions') }}
        where {{ in_window('activity_date', as_of_date, window) }}

    ),

    profiles as (

        select artist_id, artist_name from {{ ref('stg_passport__artist_profiles') }}

    ),

    per_artist as (

        select
            artist_id,
            currency,
            coalesce(sum(amount_cents) filter (where kind = 'payment' and counted), 0)::bigint as gross_cents,
            sum(reversed_cents)::bigint as refunds_cents,
            count(*) filter (where kind = 'payment' and counted) as completed_transactions,
            count(*) filter (where kind = 'refund' and counted) as refunded_transactions,
            count(*) filter (where kind = 'payment' and status = 'pending') as pending_transactions,
            count(*) filter (where kind = 'payment' and status = 'failed') as failed_transactions,
            count(*) filter (where kind = 'payment' and not counted) as excluded_transactions,
            count(distinct user_id) filter (where kind = 'payment' and counted) as paying_fans,
            min(created_at) filter (where kind = 'payment' and counted) as first_sale_at,
            max(created_at) filter (where kind = 'payment' and counted) as last_sale_at
        from transactions
        group by artist_id, currency

    ),

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
