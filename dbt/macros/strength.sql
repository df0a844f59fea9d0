{#- Strength and mutations per artist and domain in a window as of a date, from aggregates only: the daily
    rollups for 7d/30d, the running totals (one row per key as of the date) for all time; fans are
    coliseum_artist_fans'. Used for the as-of date's strength and for the previous day's ranks (previous_rank),
    so both come from the same log state. -#}
{% macro window_strength(as_of_date, window) -%}
  {%- if window_days(window) is none -%}
  (
    select entity_id, domain, strength, event_count::bigint as event_count
    from {{ as_of_totals(ref('int_artist_domain_totals'), as_of_date) }} as as_of
  )
  {%- else -%}
  (
    select entity_id, domain, sum(strength) as strength, sum(event_count)::bigint as event_count
    from {{ ref('int_artist_domain_daily') }}
    where {{ in_window('activity_date', as_of_date, window) }}
    group by entity_id, domain
  )
  {%- endif -%}
{%- endmacro %}
