{{
  config(
    partition_open_ended=true,
    indexes=[{'columns': ['entity_id', 'activity_date']}, {'columns': ['activity_date']}],
  )
}}
{#- Artist x UTC day: fans (any domain) active for the first and for the second time. -#}
{{ new_fans_daily(['entity_id'], fan_days='int_artist_fan_days', unique_per_day=true) }}
