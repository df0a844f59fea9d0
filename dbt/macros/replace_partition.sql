{#- Incremental strategy: delete exactly the partition being built, then insert its new rows, in the
    materialization's transaction. Unlike delete+insert on a key, a partition whose rows all disappear is
    still cleared, so a rerun always leaves precisely what the source says now. -#}
{% macro get_incremental_replace_partition_sql(arg_dict) %}
  {%- set target = arg_dict["target_relation"] -%}
  {%- set source = arg_dict["temp_relation"] -%}
  {%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
  delete from {{ target }} where {{ current_partition_predicate() }};
  insert into {{ target }} ({{ columns }})
  select {{ columns }} from {{ source }};
{% endmacro %}
