{#- The fan side (user DNA, DIA marts): README, "User DNA and the DIA marts". -#}

{#- What kind of interaction an event type is, as the DIA dashboard groups them (the seed's `source`):
    listening = player plays, engagement = the other player and social events, voting, attendance, purchase
    (a treasury payment), refund. -#}
{% macro interaction_category(event_type) -%}
  case
    when {{ event_type }} = 'audio_play' then 'listening'
    when {{ event_type }} = 'concierto.vote_cast' then 'voting'
    when {{ event_type }} = 'concierto.event_attend' then 'attendance'
    when {{ event_type }} = 'treasury.refund' then 'refund'
    when {{ event_type }} like 'treasury.%' then 'purchase'
    else 'engagement'
  end
{%- endmacro %}

{#- The users a build of int_user_dna_totals rebuilds (its partition_scope): those with counted entries in the
    partition's days now, or with totals on those days from an earlier build. Every other user's totals are
    untouched, so a late day costs its own users (from that day on), not every user active since.
    partition_scope='rebuilt_users' (macros/partitions.sql). -#}
{% macro user_dna_rebuilt_users() -%}
    select user_id from {{ ref('int_user_entries') }} where {{ partition_days_filter() }}
    union
    select user_id from {{ this }} where {{ partition_days_filter() }}
{%- endmacro %}
