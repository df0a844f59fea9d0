{{
  config(
    indexes=[{'columns': ['activity_date']}],
  )
}}
{#- Artist x domain x UTC day: strength (sum of effective_delta) and mutations. -#}

{{ mutations_rollup(
    keys=['activity_date', 'entity_id', 'domain'],
    measures=['sum(effective_delta) as strength', 'count(*) as event_count']
) }}
