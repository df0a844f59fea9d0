{{
  config(
    partition_open_ended=true,
    unique_key=['entity_id', 'tag_kind', 'tag', 'activity_date'],
    indexes=[
      {'columns': ['entity_id', 'tag_kind', 'tag', 'activity_date'], 'unique': true},
      {'columns': ['valid_until']},
      {'columns': ['activity_date']},
    ],
  )
}}
{#- Artist x tag (genre, country, country/city): counted entries carrying the tag up to each active day
    (running totals). -#}

with daily as (

    select activity_date, entity_id, tag_kind, tag, event_count::bigint as event_count
    from {{ ref('int_artist_tags_daily') }}
    where {{ running_totals_since('activity_date') }}

),

{{ running_totals('daily', ['entity_id', 'tag_kind', 'tag'], ['event_count']) }}
