{#- Midnight UTC of an ISO date, as a timestamptz literal: never depends on the session time zone. -#}
{% macro utc_midnight(iso_date) -%}
  '{{ iso_date }} 00:00:00+00'::timestamptz
{%- endmacro %}

{% macro window_days(window) %}
  {%- set days = {"7d": 7, "30d": 30, "alltime": none} -%}
  {%- if execute and window not in days -%}
    {{ exceptions.raise_compiler_error("unknown window '" ~ window ~ "' (expected 7d, 30d or alltime)") }}
  {%- endif -%}
  {{- return(days.get(window)) -}}
{% endmacro %}

{#- Daily rows in the window [D - days + 1, D], on a date column. -#}
{% macro in_window(date_column, as_of_date, window) -%}
  {%- set days = window_days(window) -%}
  {{ date_column }} <= '{{ as_of_date }}'::date
  {%- if days is not none %} and {{ date_column }} >= '{{ as_of_date }}'::date - {{ days - 1 }}{% endif %}
{%- endmacro %}

{#- The one home of the partition filters: models reading a partitioned model, the replace_partition strategy
    (current_partition_predicate) and the dbt tests' `where` configs (through placeholders: test_where.sql)
    all use these. -#}

{#- The invocation's days [start_date, end_date) on a date column; open_ended: from start_date on. -#}
{% macro partition_days_filter(column='activity_date', open_ended=false) -%}
  {{ column }} >= '{{ run_value("start_date") }}'::date
  {%- if not open_ended %} and {{ column }} < '{{ run_value("end_date") }}'::date{% endif %}
{%- endmacro %}

{#- The same days on a timestamptz column, as UTC instants (a raw log's created_at). -#}
{% macro partition_instants_filter(column='created_at') -%}
  {{ column }} >= {{ utc_midnight(run_value("start_date")) }} and {{ column }} < {{ utc_midnight(run_value("end_date")) }}
{%- endmacro %}

{#- The invocation's as-of date; with its windows, the rows of a window-grain model it builds. -#}
{% macro partition_as_of_filter() -%}
  as_of_date = '{{ run_value("as_of_date") }}'::date
{%- endmacro %}

{% macro partition_windows_filter() -%}
  {{ partition_as_of_filter() }} and "window" in ({{ window_list() }})
{%- endmacro %}

{#- The rows of the current partition in a built relation: what the replace_partition strategy deletes.
    partition_open_ended: a model whose later days depend on earlier ones rebuilds from the start on;
    partition_scope: only for the keys that scope selects (partition_scope_predicate); `scoped=false` leaves the
    scope out (the days alone: what analyze_if_grown counts; inside its DO block the scope's ctid array was
    planned as a filter searched once per row, an hour for a 3M first-load chunk). -#}
{% macro current_partition_predicate(scoped=true) %}
  {%- set grain = config.get("partition_grain") -%}
  {%- if grain == "day" -%}
    {{ partition_days_filter(open_ended=config.get("partition_open_ended")) }}
    {%- if config.get("partition_filter") %} and ({{ config.get("partition_filter") }}){% endif -%}
    {%- if scoped and config.get("partition_scope") %} and ({{ partition_scope_predicate() }}){% endif -%}
  {%- elif grain == "window" -%}
    {{ partition_windows_filter() }}
  {%- else -%}
    {{ exceptions.raise_compiler_error(model.name ~ ": partition_grain must be 'day' or 'window'") }}
  {%- endif -%}
{% endmacro %}

{#- The windows of this invocation. While parsing (no run values) every window is rendered, so the manifest holds
    the refs of every window's branch (the lineage Dagster shows). -#}
{% macro partition_windows() %}
  {{- return(run_value('windows') if execute else ['7d', '30d', 'alltime']) -}}
{% endmacro %}

{#- The windows of this invocation, as a quoted SQL list. -#}
{% macro window_list() -%}
  {%- for window in partition_windows() -%}
    '{{ window }}'{% if not loop.last %}, {% endif %}
  {%- endfor -%}
{%- endmacro %}

{#- A window-grain model as one branch per window of the invocation, glued with UNION ALL (each branch
    sees its `window`):
      {% call(window) union_windows() %} with ... select * from final {% endcall %} -#}
{% macro union_windows() -%}
  {%- for window in partition_windows() -%}
    {%- if not loop.first %}

union all

{% endif -%}
(
{{ caller(window) }}
)
  {%- endfor -%}
{%- endmacro %}

{#- The keys of a scoped partition: config partition_scope names one of these (key columns, query of the keys a
    build rebuilds); the rows a build deletes are those of these keys only. -#}
{% macro partition_scope_predicate() -%}
  {%- set scope = config.get("partition_scope") -%}
  {%- if scope == "rebuilt_users" -%}
    {#- The rows as ctids (macros/fan.sql, rebuilt_user_rows): a plain IN was planned as a nested loop comparing
        every row of the days with every user (11.5 s to rerun a 1M nightly); the delete's own days filter
        bounds them. -#}
    ctid = any(array({{ rebuilt_user_rows(this, user_dna_rebuilt_users(), 'ctid') }}))
  {%- else -%}
    {{ exceptions.raise_compiler_error(model.name ~ ": unknown partition_scope '" ~ scope ~ "'") }}
  {%- endif -%}
{%- endmacro %}

{#- The partition's valid staged entries (not quarantined): what every scoring model starts from. -#}
{% macro valid_staged_entries() -%}
    select * from {{ ref('stg_passport__entries') }}
    where {{ partition_days_filter() }}
      and rejection_reason is null
{%- endmacro %}

{#- A probe of a (key, activity_date) index for one key's days from `start` on, written as a row comparison so
    that only that index can serve it: with a plain `activity_date >= start`, the planner, whose statistics do
    not know the day just built (estimated at one row), probed the activity_date index instead and read the
    whole day once per key (7.4 s for a 1M nightly's 7k users). -#}
{% macro key_from(relation, keys, key, start) -%}
  ({{ relation }}.{{ key }}, {{ relation }}.activity_date) >= ({{ keys }}.{{ key }}, '{{ start }}'::date)
{%- endmacro %}
