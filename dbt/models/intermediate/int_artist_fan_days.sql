{{
  config(
    indexes=[{'columns': ['activity_date']}, {'columns': ['entity_id', 'user_id', 'activity_date']}],
  )
}}
{#- One row per artist x fan x UTC day with the domains the fan counted in that day (a fan-day has 3.5 domain
    rows at 1M), so a window's fans and an artist's new fans read a third of the rows; the view
    int_artist_fans_daily unpivots it per domain. -#}

{%- set measures = [] -%}
{%- for domain in domains() -%}
  {%- do measures.append("bool_or(domain = '" ~ domain ~ "') as in_" ~ domain | lower) -%}
{%- endfor %}

{{ mutations_rollup(keys=['activity_date', 'entity_id', 'user_id'], measures=measures) }}
