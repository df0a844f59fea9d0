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

{#- The rows of `relation` (int_user_entries, or the totals themselves) of the rebuilt users (`users`: a query of
    their user_id) from the partition's start on, as `select <column>` (`*`, `ctid`). Every row on the
    partition's own days is a rebuilt user's (user_dna_rebuilt_users reads those days of both), so those days
    are one range of the activity_date index. Only the days after the partition (a late day's rebuild) take one
    probe of the (user_id, activity_date) index per user, and only when such days exist: probing every user of
    a new day found nothing after it and cost 0.2 s of a 1M nightly's user DNA (0.3 s with its delete). A plain
    IN over the users was planned as a nested loop comparing every pair (10.9 s for a 1M nightly). -#}
{% macro rebuilt_user_rows(relation, users, column='*') -%}
    select source_rows.{{ column }} from {{ relation }} as source_rows where {{ partition_days_filter('source_rows.activity_date') }}
    union all
    select later.{{ column }}
    from ({{ users }}) as users
    cross join lateral (
        select source_rows.{{ column }} from {{ relation }} as source_rows
        where source_rows.user_id = users.user_id
          and {{ key_from('source_rows', 'users', 'user_id', run_value('end_date')) }}
        -- a fence: pulled up into a join, the probe became a nested loop over the users again (7.3 s at 1M)
        offset 0
    ) as later
    where exists (select from {{ relation }} as after_end where after_end.activity_date >= '{{ run_value("end_date") }}'::date)
{%- endmacro %}
