{#- Two runs building the same model at once would each delete then insert the partition and could
    leave both copies; a transaction-scoped advisory lock makes the second wait for the first. -#}
{% macro lock_relation() %}
  select pg_advisory_xact_lock(hashtext('{{ this }}'))
{% endmacro %}
