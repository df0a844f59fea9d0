{{
  config(
    indexes=[{'columns': ['activity_date']}, {'columns': ['entity_id', 'user_id', 'activity_date']}],
  )
}}
{#- One row per artist x domain x fan x day, so unique fans over any window are exact (distinct users),
    not a sum of daily uniques. -#}

{{ mutations_rollup(keys=['activity_date', 'entity_id', 'domain', 'user_id'], measures=['count(*) as event_count']) }}
