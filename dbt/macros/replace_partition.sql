{#- Incremental strategy: delete exactly the partition being built, then insert its new rows, in the
    materialization's transaction. Unlike delete+insert on a key, a partition whose rows all disappear is
    still cleared, so a rerun always leaves precisely what the source says now.
    With a unique_key, rows outside the partition that the model re-emits (running totals' carried rows)
    are replaced too. Both deletes read the partition, not the history: every partitioned model has an index
    led by its partition column (activity_date, as_of_date) and one on its unique_key. -#}
{% macro get_incremental_replace_partition_sql(arg_dict) %}
  {%- set target = arg_dict["target_relation"] -%}
  {%- set source = arg_dict["temp_relation"] -%}
  {%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
  {%- set unique_key = arg_dict["unique_key"] -%}
  delete from {{ target }} where {{ current_partition_predicate() }};
  {%- if unique_key %}
  {{ delete_matching_rows(target, source, unique_key) }};
  {%- endif %}
  insert into {{ target }} ({{ columns }})
  select {{ columns }} from {{ source }};
{% endmacro %}
