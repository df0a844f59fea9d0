{#- Text checks on every free-text column of an entry (metadata as its JSON text, metadata_text). The regex
    runs only behind a cheap test that it needs (a scan of the columns joined by spaces). Limits are in
    bytes (octet_length): they protect btree indexes and group keys, whose limits are in bytes. -#}
{% macro entry_text_columns() -%}
  {{ return(["device_id", "event_type", "event_category", "entity_type", "entity_id", "metadata_text"]) }}
{%- endmacro %}

{#- Byte limits per column; metadata's comes from the settings. The tags (genre, country, city) are grouped
    and indexed by the DNA models: one oversized tag must not fail a whole day's build. -#}
{% macro oversized_text() -%}
  (coalesce(octet_length(device_id), 0) > 256 or coalesce(octet_length(event_type), 0) > 128
   or coalesce(octet_length(event_category), 0) > 64 or coalesce(octet_length(entity_type), 0) > 64
   or coalesce(octet_length(entity_id), 0) > 128
   or coalesce(octet_length(metadata_text), 0) > {{ run_value('max_metadata_bytes') }}
   or coalesce(octet_length(genre), 0) > 256 or coalesce(octet_length(country), 0) > 256
   or coalesce(octet_length(city), 0) > 256)
{%- endmacro %}

{#- Raw control characters in text columns, or escaped ones (\u0000-\u001f) inside the JSON text (an
    escape needs a backslash). Backslashes are doubled in the Jinja strings (Jinja unescapes them). -#}
{% macro has_control_characters() -%}
  ({{ regex_matches("concat_ws(' ', " ~ entry_text_columns()[:-1] | join(', ') ~ ")", "'[\\x01-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]'") }}
   or (strpos(metadata_text, '\') > 0 and {{ regex_matches('metadata_text', "'\\\\u00(0[0-8bcef]|1[0-9a-f])'", true) }}))
{%- endmacro %}

{#- The columns that make an entry's content: two rows with one id and equal content (compared as values:
    jsonb equality, the same instant) are copies of one entry. entity_id as text: the app's column may be
    uuid or text. -#}
{% macro entry_content_columns() -%}
  {{ return(["user_id", "session_id", "device_id", "event_type", "event_category", "entity_type", "entity_id",
             "metadata", "created_at"]) }}
{%- endmacro %}

{% macro entry_content(relation) -%}
  {%- for column in entry_content_columns() -%}
    {{ relation }}.{{ column }}{% if column == 'entity_id' %}::text{% endif %}{% if not loop.last %}, {% endif %}
  {%- endfor -%}
{%- endmacro %}

{#- The first instant no timestamp may reach: year 10000 (and +infinity) cannot be a real event time. -#}
{% macro end_of_time() -%}
  '10000-01-01 00:00:00+00'::timestamptz
{%- endmacro %}

{#- Entries whose created_at can never fall into a daily partition: quarantined by the partition that first
    sees them (swept). An entry dated in the future is not one of them: it is not yet due and waits for its
    day. -#}
{% macro untimed_predicate() -%}
  created_at is null
  or created_at < {{ utc_midnight(run_value('platform_start')) }}
  or created_at >= {{ end_of_time() }}
{%- endmacro %}
