{#- The four DNA domains (A cultural, T behavioral, G economic, C spatial), in the order of the influence
    weights' columns (weight_a ... weight_c): the one list the models loop over. `lower`: as column suffixes. -#}
{% macro domains(lower=false) %}
  {%- set names = var('domains') -%}
  {{ return(names | map('lower') | list if lower else names) }}
{% endmacro %}
