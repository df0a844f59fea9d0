{#- Post-hook: ANALYZE the model when its statistics are missing or its current partition is more than a
    tenth of the rows they describe (a first load, a full rebuild, a long catch-up; for a window mart, its
    first nights). Models read in the same invocation need them: without statistics the planner chose
    per-row plans over whole tables. A nightly day is a small fraction, and ANALYZE samples 30k pages
    of the whole table every time: at 1M events it took up to 10 s of the staging node, read from disk, and
    it grows with the history. Autovacuum analyzes at the same threshold, in the background. -#}
{% macro analyze_if_grown() %}
  {#- Rendered at execution only: while parsing, a hook's model config is not complete yet. Partitioned
      (incremental) models only: a view has no statistics of its own. -#}
  {%- if not execute or config.get("materialized") != "incremental" -%}{{ return("") }}{%- endif -%}
  {{ return(adapter.dispatch('analyze_if_grown', 'coliseum')()) }}
{% endmacro %}

{#- An engine without planner statistics to refresh (default) renders nothing (dbt skips an empty hook). -#}
{% macro default__analyze_if_grown() %}
{% endmacro %}

{#- Postgres: pg_class.reltuples against the partition's row count, then ANALYZE. -#}
{% macro postgres__analyze_if_grown() %}
  {%- set relation = this.include(database=false) -%}
  do $analyze$
  begin
    if (select reltuples from pg_class where oid = '{{ relation }}'::regclass)
       < 10 * (select count(*) from {{ relation }} where {{ current_partition_predicate(scoped=false) }}) then
      analyze {{ relation }};
    end if;
  end
  $analyze$
{% endmacro %}
