{#- Text checks on every free-text column of an entry (metadata as its JSON text, metadata_text). Each
    regex runs only behind a cheap test that it needs (one scan of the columns joined by spaces): most
    entries contain none of the characters a match requires, and a regex per column and row was the
    largest cost of staging. The pre-tests never change the outcome (a space cannot complete a match). -#}
{% macro entry_text_columns() -%}
  {{ return(["device_id", "event_type", "event_category", "entity_type", "entity_id", "metadata_text"]) }}
{%- endmacro %}

{% macro oversized_text() -%}
  (coalesce(length(device_id), 0) > 256 or coalesce(length(event_type), 0) > 128
   or coalesce(length(event_category), 0) > 64 or coalesce(length(entity_type), 0) > 64
   or coalesce(length(entity_id), 0) > 128 or coalesce(length(metadata_text), 0) > {{ var('max_metadata_bytes') }})
{%- endmacro %}

{#- Raw control characters in text columns, or escaped ones (\u0000-\u001f) inside the JSON text (an
    escape needs a backslash). -#}
{% macro has_control_characters() -%}
  (concat_ws(' ', {{ entry_text_columns()[:-1] | join(', ') }}) ~ '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]'
   or (strpos(metadata_text, '\') > 0 and metadata_text ~* '\\u00(0[0-8bcef]|1[0-9a-f])'))
{%- endmacro %}

{#- Text that reads like an injection attempt. It is only ever stored and shown as data (bound
    parameters, jsonb), never executed; flagging it keeps it out of the published boards. A match needs
    a ';', a quote, '--' or 'union'. -#}
{% macro looks_like_sql() -%}
  (concat_ws(' ', {{ entry_text_columns() | join(', ') }}) ~* '[;'']|--|union'
   and ({% for column in entry_text_columns() -%}
   coalesce({{ column }}, '') ~* '(;\s*(drop|delete|truncate|alter|insert|update|create|grant)\s)|(union\s+(all\s+)?select\s)|(''\s*or\s+''?1''?\s*=\s*''?1)|(--\s*$)'
   {%- if not loop.last %} or {% endif %}
   {% endfor %}))
{%- endmacro %}

{#- The columns that make an entry's content: two rows with one id and equal content are copies. -#}
{% macro entry_content(relation) -%}
  {%- for column in ["user_id", "session_id", "device_id", "event_type", "event_category", "entity_type",
                     "entity_id", "metadata", "created_at"] -%}
    {{ relation }}.{{ column }}{% if not loop.last %}, {% endif %}
  {%- endfor -%}
{%- endmacro %}

{#- Entries whose created_at can never fall into a daily partition. -#}
{% macro untimed_predicate() -%}
  created_at is null
  or created_at < {{ utc_midnight(var('platform_start')) }}
  or created_at > now() + interval '{{ var("future_skew_minutes") }} minutes'
{%- endmacro %}
