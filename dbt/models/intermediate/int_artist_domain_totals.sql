{{
  config(
    partition_open_ended=true,
    unique_key=['entity_id', 'domain', 'activity_date'],
    indexes=[
      {'columns': ['entity_id', 'domain', 'activity_date'], 'unique': true},
      {'columns': ['valid_until']},
      {'columns': ['activity_date']},
    ],
  )
}}
{#- Artist x domain: strength, mutations and unique fans up to each active day (running totals). The
    all-time window reads one row per artist and domain from here. -#}

with domain_days as (

    select activity_date, entity_id, domain, strength, event_count, 0 as unique_fans
    from {{ ref('int_artist_domain_daily') }}
    where {{ running_totals_since('activity_date') }}

    union all

    select activity_date, entity_id, domain, 0 as strength, 0 as event_count, new_fans as unique_fans
    from {{ ref('int_artist_domain_new_fans_daily') }}
    where {{ running_totals_since('activity_date') }}

),

daily as (

    select
        activity_date,
        entity_id,
        domain,
        sum(strength) as strength,
        sum(event_count)::bigint as event_count,
        sum(unique_fans)::bigint as unique_fans
    from domain_days
    group by activity_date, entity_id, domain

),

{{ running_totals('daily', ['entity_id', 'domain'], ['strength', 'event_count', 'unique_fans']) }}
