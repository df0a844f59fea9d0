{#- Two runs building the same model at once would each delete then insert the partition and could
    leave both copies; a lock held until the model's transaction ends makes the second wait for the first.
    Postgres: a transaction-scoped advisory lock. An engine without one (default) renders nothing (dbt skips
    an empty hook): its adapter must serialise writes its own way (e.g. Delta's optimistic commits). -#}
{% macro lock_relation() %}
  {{ return(adapter.dispatch('lock_relation', 'coliseum')()) }}
{% endmacro %}

{% macro default__lock_relation() %}
{% endmacro %}

{% macro postgres__lock_relation() %}
  select pg_advisory_xact_lock(hashtext('{{ this }}'))
{% endmacro %}
