{#- Marks the partition's entries (and untimed ones it sweeps) as processed *before* the model reads them,
    in the same transaction. Anything committed in between is read but left unmarked, so it is merely
    reprocessed later: the marker never claims an entry that was not read. -#}
{% macro mark_processed_entries() %}
  update {{ source('passport', 'passport_entries') }}
  set coliseum_processed_at = now()
  where coliseum_processed_at is null
    and (
      (created_at >= {{ utc_midnight(partition_var('start_date')) }}
       and created_at < {{ utc_midnight(partition_var('end_date')) }})
      or {{ untimed_predicate() }}
    )
{% endmacro %}
