{{
  config(
    partition_open_ended=true,
    unique_key=['entity_id', 'activity_date'],
    indexes=[
      {'columns': ['entity_id', 'activity_date'], 'unique': true},
      {'columns': ['valid_until']},
      {'columns': ['activity_date']},
    ],
  )
}}
{#- Artist: unique fans (any domain) and repeat fans up to each active day (running totals). -#}

with daily as (

    select activity_date, entity_id, new_fans::bigint as unique_fans, new_repeat_fans::bigint as repeat_fans
    from {{ ref('int_artist_new_fans_daily') }}
    where {{ running_totals_since('activity_date') }}

),

{{ running_totals('daily', ['entity_id'], ['unique_fans', 'repeat_fans']) }}
