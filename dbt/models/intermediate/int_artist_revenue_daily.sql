{{
  config(
    indexes=[{'columns': ['activity_date']}],
  )
}}
{#- Artist x currency x UTC day: the day's treasury transactions, counted as artist_revenue_summary counts
    them (README, "Revenue rules"); paying fans are per window, not per day (int_artist_new_payers_daily). -#}

with transactions as (

    select * from {{ ref('int_treasury_transactions') }}
    where {{ partition_days_filter() }}

),

final as (

    select
        activity_date,
        {{ revenue_measures() }}
    from transactions
    group by activity_date, artist_id, currency

)

select * from final
