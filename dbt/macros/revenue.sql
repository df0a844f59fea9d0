{#- Treasury event types sold at a concierto event, and their sale channel (artist_event_revenue). -#}
{% macro sale_channel(event_type) -%}
  case {{ event_type }}
  {%- for name, channel in var('sale_channels').items() %}
    when '{{ name }}' then '{{ channel }}'
  {%- endfor %}
  end
{%- endmacro %}

{#- The name the app shows: the profile's, or a stable placeholder for an artist without a profile. -#}
{% macro artist_display_name(profile_name, entity_id) -%}
  coalesce({{ profile_name }}, 'Unknown artist ' || left(({{ entity_id }})::text, 8))
{%- endmacro %}
