{{
  config(
    partition_open_ended=true,
    indexes=[{'columns': ['entity_id', 'domain', 'activity_date']}, {'columns': ['activity_date']}],
  )
}}
{#- Artist x domain x UTC day: fans active in the domain for the first (and second) time. -#}
{{ new_fans_daily(['entity_id', 'domain'], fan_days='int_artist_fans_daily', unique_per_day=true) }}
