{#- Influence weights with their validity range [valid_from, valid_to): an entry uses the version in force
    on its own UTC day, never the wall clock, so reruns and backfills across a version change are exact. -#}
{% macro influence_weights_ranges() -%}
  (
    select
        *,
        lead(valid_from) over (partition by event_type order by valid_from) as valid_to
    from {{ ref('influence_weights') }}
  )
{%- endmacro %}

{% macro weights_in_force(weights, activity_date) -%}
  {{ activity_date }} >= {{ weights }}.valid_from
  and ({{ weights }}.valid_to is null or {{ activity_date }} < {{ weights }}.valid_to)
{%- endmacro %}

{#- Joins each entry of `entries` (an alias with event_type and activity_date) to the weights in force on its
    day, as `weights`: inner (scoring) or left (validation: an unknown event type has none). -#}
{% macro join_weights_in_force(entries, kind='inner') -%}
  {{ kind }} join {{ influence_weights_ranges() }} as weights
        on weights.event_type = {{ entries }}.event_type
        and {{ weights_in_force('weights', entries ~ '.activity_date') }}
{%- endmacro %}
