{{
  config(
    indexes=[{'columns': ['as_of_date', '"window"']}],
  )
}}
{%- set as_of_date = run_value('as_of_date') -%}
{#- Per artist, concierto event and currency: ticket and on-site sales (completed), refunds reversed against
    them, net. Same money rules as artist_revenue_summary; only sales that name an event are here. -#}

{% call(window) union_windows() %}
    with transactions as (

        select * from {{ ref('int_treasury_transactions') }}
        where {{ in_window('activity_date', as_of_date, window) }}
          and sale_channel is not null

    ),

    per_event as (

        select
            artist_id,
            concert_event_id as event_id,
            currency,
            coalesce(sum(amount_cents) filter (
                where kind = 'payment' and counted and sale_channel = 'ticket'), 0)::bigint as ticket_cents,
            coalesce(sum(amount_cents) filter (
                where kind = 'payment' and counted and sale_channel = 'on_site'), 0)::bigint as on_site_cents,
            sum(reversed_cents)::bigint as refunds_cents,
            count(*) filter (where kind = 'payment' and counted and sale_channel = 'ticket') as tickets_sold,
            count(*) filter (where kind = 'payment' and counted and sale_channel = 'on_site') as on_site_sales,
            count(*) filter (where kind = 'payment' and not counted) as excluded_transactions,
            count(distinct user_id) filter (where kind = 'payment' and counted) as paying_fans
        from transactions
        group by artist_id, concert_event_id, currency

    ),

    final as (

        select
            '{{ as_of_date }}'::date as as_of_date,
            '{{ window }}'::text as "window",
            artist_id,
            event_id,
            currency,
            ticket_cents,
            on_site_cents,
            ticket_cents + on_site_cents as gross_cents,
            refunds_cents,
            ticket_cents + on_site_cents - refunds_cents as net_cents,
            tickets_sold,
            on_site_sales,
            excluded_transactions,
            paying_fans
        from per_event

    )

    select * from final
{% endcall %}
