{#- Casts that yield NULL instead of aborting the whole partition on one malformed value; the row is then
    rejected with a reason by the staging model's validation. -#}
{% macro safe_uuid(expr) -%}
  case when {{ regex_matches('(' ~ expr ~ ')', "'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'", true) }}
       then ({{ expr }})::uuid end
{%- endmacro %}

{% macro safe_numeric(expr) -%}
  case when {{ regex_matches('(' ~ expr ~ ')', "'^-?[0-9]{1,15}(\\.[0-9]{1,6})?$'") }} then ({{ expr }})::numeric end
{%- endmacro %}
