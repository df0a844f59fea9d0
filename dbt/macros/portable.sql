{#- Dialect-specific constructs behind adapter.dispatch (DESIGN.md, "Scale path"): models call these, each
    adapter gets its own `<adapter>__` version, and `default__` is the SQL standard where there is one, so a
    second adapter (dbt-spark is the candidate) adds `spark__` macros without touching the models. Postgres
    keeps the exact SQL it always ran. -#}

{#- A JSON object's member as text (NULL when absent): Postgres `->>`, standard JSON_VALUE. -#}
{% macro json_text(column, key) %}{{ return(adapter.dispatch('json_text', 'coliseum')(column, key)) }}{% endmacro %}
{% macro default__json_text(column, key) %}json_value({{ column }}, '$.{{ key }}'){% endmacro %}
{% macro postgres__json_text(column, key) %}{{ column }} ->> '{{ key }}'{% endmacro %}

{#- A JSON object's member as JSON (it keeps its type): Postgres `->`, standard JSON_QUERY. -#}
{% macro json_field(column, key) %}{{ return(adapter.dispatch('json_field', 'coliseum')(column, key)) }}{% endmacro %}
{% macro default__json_field(column, key) %}json_query({{ column }}, '$.{{ key }}'){% endmacro %}
{% macro postgres__json_field(column, key) %}{{ column }} -> '{{ key }}'{% endmacro %}

{#- A JSON scalar's value as text (a number's digits, a string without its quotes): Postgres `#>> '{}'`. -#}
{% macro json_scalar_text(column) %}{{ return(adapter.dispatch('json_scalar_text', 'coliseum')(column)) }}{% endmacro %}
{% macro default__json_scalar_text(column) %}json_value({{ column }}, '$'){% endmacro %}
{% macro postgres__json_scalar_text(column) %}{{ column }} #>> '{}'{% endmacro %}

{#- The JSON type of a value ('object', 'array', 'string', 'number', 'boolean', 'null'). No standard
    function: an adapter without its own version fails to compile, naming the macro to add. -#}
{% macro json_type(column) %}{{ return(adapter.dispatch('json_type', 'coliseum')(column)) }}{% endmacro %}
{% macro default__json_type(column) %}{{ not_portable('json_type') }}{% endmacro %}
{% macro postgres__json_type(column) %}jsonb_typeof({{ column }}){% endmacro %}

{#- A table row as a JSON object without one key (the raw entry the quarantine keeps). -#}
{% macro json_row_without(row_alias, key) %}{{ return(adapter.dispatch('json_row_without', 'coliseum')(row_alias, key)) }}{% endmacro %}
{% macro default__json_row_without(row_alias, key) %}{{ not_portable('json_row_without') }}{% endmacro %}
{% macro postgres__json_row_without(row_alias, key) %}to_jsonb({{ row_alias }}) - '{{ key }}'{% endmacro %}

{#- A regular-expression match, case-insensitive on demand: Postgres `~` and `~*`, else REGEXP_LIKE. -#}
{% macro regex_matches(expr, pattern, case_insensitive=false) -%}
  {{ return(adapter.dispatch('regex_matches', 'coliseum')(expr, pattern, case_insensitive)) }}
{%- endmacro %}
{% macro default__regex_matches(expr, pattern, case_insensitive=false) -%}
  regexp_like({{ expr }}, {{ pattern }}{% if case_insensitive %}, 'i'{% endif %})
{%- endmacro %}
{% macro postgres__regex_matches(expr, pattern, case_insensitive=false) -%}
  {{ expr }} {{ '~*' if case_insensitive else '~' }} {{ pattern }}
{%- endmacro %}

{#- Deletes the rows of `target` that share `unique_key` with a row of `source` (replace_partition's carried
    rows): on Postgres one probe of the target's key index per source row, collected as ctids (a DELETE ...
    USING was planned as a hash of the whole target: 0.3 s of a 1M nightly, growing with the history); the
    default is a correlated EXISTS, which every engine accepts. -#}
{% macro delete_matching_rows(target, source, unique_key) -%}
  {{ return(adapter.dispatch('delete_matching_rows', 'coliseum')(target, source, unique_key)) }}
{%- endmacro %}
{% macro default__delete_matching_rows(target, source, unique_key) -%}
  delete from {{ target }}
  where exists (select 1 from {{ source }} as source where {{ key_match('source', target, unique_key) }})
{%- endmacro %}
{% macro postgres__delete_matching_rows(target, source, unique_key) -%}
  delete from {{ target }}
  where ctid = any(array(
      select matched.ctid
      from {{ source }} as source
      cross join lateral (
          -- a fence: pulled up, the probe would be planned as a join again
          select target.ctid from {{ target }} as target where {{ key_match('target', 'source', unique_key) }}
          offset 0
      ) as matched
  ))
{%- endmacro %}

{#- left.k = right.k for each key column (a name or a list of names). -#}
{% macro key_match(left, right, unique_key) -%}
  {%- for key in ([unique_key] if unique_key is string else unique_key) -%}
    {{ left }}.{{ key }} = {{ right }}.{{ key }}{% if not loop.last %} and {% endif %}
  {%- endfor -%}
{%- endmacro %}

{% macro not_portable(name) -%}
  {{ exceptions.raise_compiler_error(name ~ ": no implementation for adapter '" ~ adapter.type() ~ "' (add "
                                     ~ adapter.type() ~ "__" ~ name ~ " in macros/portable.sql)") }}
{%- endmacro %}
