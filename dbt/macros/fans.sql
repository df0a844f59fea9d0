{#- New fans per day for a fan key (artist x fan, or artist x domain x fan), from the fan-days `fan_days`:
    new_fans counts the keys whose first active day it is, new_repeat_fans those whose second. Summed up to
    D they give the all-time unique and repeat fans as of D, so an all-time window reads one row per artist
    and day instead of every fan of the history.
    `fan_days` needs an index on group_columns (but a domain, which the view filters), user_id, activity_date;
    `unique_per_day`: it holds one row per key and day already (int_artist_fan_days for artists, the view
    int_artist_fans_daily over it for artist x domain), so nothing is grouped (a group by of every fan-day of
    the history was a fifth of a first build).
    `condition`: the rows of fan_days that count (the paying fans of int_treasury_transactions).
    Rebuilds every day from the partition start on (partition_open_ended): a late day can move a fan's first
    day later or earlier. The days before the start cost one index probe per key seen since the start. -#}
{% macro new_fans_daily(group_columns, fan_days, unique_per_day=false, condition='true') %}
{%- set start_date = run_value('start_date') -%}
{%- set keys = group_columns + ['user_id'] -%}

with recent as (

    select {{ keys | join(', ') }}, activity_date
    from {{ ref(fan_days) }}
    where {{ partition_days_filter(open_ended=true) }} and ({{ condition }})
    {%- if not unique_per_day %}
    group by {{ keys | join(', ') }}, activity_date
    {%- endif %}

),

{% if is_incremental() -%}
fan_keys as (

    select distinct {{ keys | join(', ') }} from recent

),

earlier as (

    -- At most the two earliest active days before the start (served by the (entity_id, user_id,
    -- activity_date) index).
    select {% for key in keys %}fan_keys.{{ key }}, {% endfor %}prior.activity_date
    from fan_keys
    cross join lateral (
        select distinct fans.activity_date
        from {{ ref(fan_days) }} as fans
        where {% for key in keys %}fans.{{ key }} = fan_keys.{{ key }}{% if not loop.last %} and {% endif %}{% endfor %}
          and fans.activity_date < '{{ start_date }}'::date
          and ({{ condition }})
        order by fans.activity_date
        limit 2
    ) as prior

),
{%- else -%}
earlier as (

    select {{ keys | join(', ') }}, activity_date from recent where false

),
{%- endif %}

numbered as (

    select
        *,
        row_number() over (partition by {{ keys | join(', ') }} order by activity_date) as day_number
    from (select * from earlier union all select * from recent) as active_days

),

final as (

    select
        activity_date,
        {{ group_columns | join(', ') }},
        count(*) filter (where day_number = 1) as new_fans,
        count(*) filter (where day_number = 2) as new_repeat_fans
    from numbered
    where {{ partition_days_filter(open_ended=true) }}
      and day_number <= 2
    group by activity_date, {{ group_columns | join(', ') }}

)

select * from final
{% endmacro %}
