{#- The partition filters in the dbt tests' `where` configs. dbt renders a test's config while parsing and
    offers no project macro there, so a `where` names the filter by a placeholder, replaced here when the
    test compiles (dbt's documented override of get_where_subquery) by the macros of partitions.sql:
      __partition_days__             partition_days_filter(): activity_date in [start_date, end_date)
      __partition_since_start__      partition_days_filter(open_ended=true): activity_date >= start_date
      __partition_since_start(col)__ the same on another date column
      __partition_as_of__            partition_as_of_filter(): as_of_date = the as-of date
    A test that runs without the partition vars fails loudly (partition_var), like a model. -#}
{% macro get_where_subquery(relation) -%}
  {%- set where = config.get('where') -%}
  {%- if not where -%}
    {{ return(relation) }}
  {%- endif -%}
  {%- set ns = namespace(where=where) -%}
  {%- for token, column in modules.re.findall('(__partition_since_start(?:\((\w+)\))?__)', where) -%}
    {%- set ns.where = ns.where.replace(token, partition_days_filter(column or 'activity_date', open_ended=true)) -%}
  {%- endfor -%}
  {%- if '__partition_days__' in where -%}
    {%- set ns.where = ns.where.replace('__partition_days__', partition_days_filter()) -%}
  {%- endif -%}
  {%- if '__partition_as_of__' in where -%}
    {%- set ns.where = ns.where.replace('__partition_as_of__', partition_as_of_filter()) -%}
  {%- endif -%}
  {%- set filtered -%}
    (select * from {{ relation }} where {{ ns.where }}) dbt_subquery
  {%- endset -%}
  {{ return(filtered) }}
{%- endmacro %}
