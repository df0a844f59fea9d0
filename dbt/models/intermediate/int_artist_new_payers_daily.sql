{{
  config(
    partition_open_ended=true,
    indexes=[{'columns': ['artist_id', 'currency', 'activity_date']}, {'columns': ['activity_date']}],
  )
}}
{#- Artist x currency x UTC day: paying fans on their first (new_fans) and second (new_repeat_fans) day with a
    counted payment to the artist in the currency. Summed up to D: the all-time paying fans as of D. -#}
{{ new_fans_daily(['artist_id', 'currency'], fan_days='int_treasury_transactions', condition="kind = 'payment' and counted") }}
