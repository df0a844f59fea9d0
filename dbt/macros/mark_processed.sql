{#- Marks the day's entries as processed *before* the model reads them (same transaction). Anything that
    commits in between is read but left unmarked, so it is merely reprocessed later: the marker can never
    claim an entry that was not read. -#}
{% macro mark_processed_entries() %}

  update {{ source('passport', 'passport_entries') }}
  set coliseum_processed_at = now()
  where created_at >= {{ utc_midnight(partition_var('start_date')) }}
    and created_at < {{ utc_midnight(partition_var('end_date')) }}
    and coliseum_processed_at is null

{% endmacro %}
