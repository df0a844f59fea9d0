{#- Text checks on every free-text column of an entry (metadata as its JSON text). -#}
{% macro entry_text_columns() -%}
  {{ return(["device_id", "event_type", "event_category", "entity_type", "entity_id", "metadata::text"]) }}
{%- endmacro %}

{% macro oversized_text() -%}
  (coalesce(length(device_id), 0) > 256 or coalesce(length(event_type), 0) > 128
   or coalesce(length(event_category), 0) > 64 or coalesce(length(entity_type), 0) > 64
   or coalesce(length(entity_id), 0) > 128 or coalesce(length(metadata::text), 0) > {{ var('max_metadata_bytes') }})
{%- endmacro %}

{#- Raw control characters in text columns, or escaped ones (\u0000-\u001f) inside the JSON text. -#}
{% macro has_control_characters() -%}
  ({% for column in entry_text_columns() if column != "metadata::text" -%}
   coalesce({{ column }}, '') ~ '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]' or
   {% endfor -%}
   coalesce(metadata::text, '') ~* '\\u00(0[0-8bcef]|1[0-9a-f])')
{%- endmacro %}

{#- Text that reads like an injection attempt. It is only ever stored and shown as data (bound
    parameters, jsonb), never executed; flagging it keeps it out of the published boards. -#}
{% macro looks_like_sql() -%}
  ({% for column in entry_text_columns() -%}
   coalesce({{ column }}, '') ~* '(;\s*(drop|delete|truncate|alter|insert|update|create|grant)\s)|(union\s+(all\s+)?select\s)|(''\s*or\s+''?1''?\s*=\s*''?1)|(--\s*$)'
   {%- if not loop.last %} or {% endif %}
   {% endfor %})
{%- endmacro %}

{#- Entries whose created_at can never fall into a daily partition. -#}
{% macro untimed_predicate() -%}
  created_at is null
  or created_at < {{ utc_midnight(var('platform_start')) }}
  or created_at > now() + interval '{{ var("future_skew_minutes") }} minutes'
{%- endmacro %}
