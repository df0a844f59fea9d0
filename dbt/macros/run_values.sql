{#- The values of one invocation: partition bounds (start_date, end_date | as_of_date, windows), the Dagster
    run id and the validation limits (platform_start, max_amount_cents, max_metadata_bytes). They travel as
    JSON in the environment variable COLISEUM_DBT_RUN (dagster_project/defs/dbt/vars.py) and are read only
    while executing: a value read while parsing (a --vars, an env_var) is stored in the manifest, and a new
    one forces a full re-parse of the project on every run, seconds per invocation. While parsing this
    returns none. A model that executes without a value fails loudly instead of processing nothing. -#}
{% macro run_value(name) %}
  {%- if not execute -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set value = fromjson(env_var('COLISEUM_DBT_RUN', '{}')).get(name) -%}
  {%- if value is none -%}
    {{ exceptions.raise_compiler_error("run value '" ~ name ~ "' is required for " ~ model.name ~ " (COLISEUM_DBT_RUN, set by the Dagster assets)") }}
  {%- endif -%}
  {{- return(value) -}}
{% endmacro %}
