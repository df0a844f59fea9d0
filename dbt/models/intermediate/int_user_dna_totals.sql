{{
  config(
    partition_open_ended=true,
    partition_scope='rebuilt_users',
    unique_key=['user_id', 'activity_date'],
    indexes=[
      {'columns': ['user_id', 'activity_date'], 'unique': true},
      {'columns': ['valid_until']},
      {'columns': ['activity_date']},
    ],
  )
}}
{%- set anchor = run_value('platform_start') -%}
{#- User, on each active day: the running sums behind the user DNA (README, "User DNA"). scaled_<d> is the sum
    over the user's active days t <= this day of influence_t x 2^((t - anchor_date) / half_life_days), each
    day's term rounded to 8 decimals: a sum of exact numerics, so a night-by-night build equals a full one.
    The EMA as of any D >= this day is then alpha x scaled x 2^(-(D - anchor_date) / half_life_days), with
    alpha = 1 - 2^(-1 / half_life_days) (coliseum_user_dna_ema, created by publish). influence_<d> is the plain
    sum of effective deltas (the DIA influence summary reconciles with it). A late day rebuilds only its own
    users, from that day on (partition_scope). -#}

with parameters as (

    select half_life_days from {{ ref('user_dna_parameters') }}

),

{% if is_incremental() -%}
rebuilt_users as materialized (

    {{ user_dna_rebuilt_users() }}

),

entries as (

    {{ rebuilt_user_rows(ref('int_user_entries'), 'select user_id from rebuilt_users') }}

),
{%- else -%}
entries as (

    select * from {{ ref('int_user_entries') }}

),
{%- endif %}

-- Each day's scale 2^((t - anchor) / h), computed once per day: a numeric power per user and domain cost 4 s of a
-- 1M nightly (9k users).
day_scales as materialized (

    select
        days.activity_date,
        parameters.half_life_days,
        power(2::numeric, (days.activity_date - '{{ anchor }}'::date)::numeric / parameters.half_life_days) as scale
    from (select distinct activity_date from entries) as days
    cross join parameters

),

daily as (

    select
        entries.activity_date,
        entries.user_id,
        {%- for domain in domains(lower=true) %}
        round(sum(entries.delta_{{ domain }}) * day_scales.scale, 8) as scaled_{{ domain }},
        {%- endfor %}
        {%- for domain in domains(lower=true) %}
        sum(entries.delta_{{ domain }}) as influence_{{ domain }},
        {%- endfor %}
        count(*)::bigint as events_counted,
        max(entries.created_at) as last_event_at,
        day_scales.half_life_days,
        '{{ anchor }}'::date as anchor_date
    from entries
    inner join day_scales on day_scales.activity_date = entries.activity_date
    group by entries.activity_date, entries.user_id, day_scales.scale, day_scales.half_life_days

),

{{ running_totals(
    'daily',
    ['user_id'],
    ['scaled_a', 'scaled_t', 'scaled_g', 'scaled_c', 'influence_a', 'influence_t', 'influence_g', 'influence_c',
     'events_counted'],
    latest=['last_event_at', 'half_life_days', 'anchor_date'],
    scope='select user_id from rebuilt_users' if is_incremental() else none,
) }}
