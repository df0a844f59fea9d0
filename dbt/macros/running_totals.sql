{#- Running totals per key, stored on the key's active days only: each row holds the totals up to and
    including its activity_date, and valid_until is the key's next active day (null: still current).
    The totals as of D are then one row per key (as_of_totals), so an all-time window costs the number of
    keys, not the length of the history.

    `daily` names a CTE with one row per activity_date and key, holding the day's amounts of `measures`,
    for the days from the partition start on (all days on a first build: see running_totals_since).
    A rebuild from the start (partition_open_ended) carries each key's last totals before the start, and
    re-emits that row with its new valid_until; the replace_partition strategy swaps it by unique_key.
    Keys are never null (an equality probe could not find a null key's earlier totals).
    `latest`: columns taken from each day's own row, not summed (a last event time, the parameters used).
    `extremes`: columns kept as their running min or max ({'first_sale_at': 'min'}) instead of summed.
    `scope`: a query of the keys this build rebuilds (the model's partition_scope); without it, every key active
    from the start on. Keys out of scope keep their rows untouched, `daily` must hold only keys in scope. -#}
{% macro running_totals(daily, keys, measures, latest=[], scope=none, extremes={}) %}
{%- set start_date = run_value('start_date') -%}
{%- set key_list = keys | join(', ') -%}
{%- set columns = (measures + (extremes | list) + latest) | join(', ') -%}

day_keys as (

    select distinct {{ key_list }} from {{ daily }}

),

{% if is_incremental() -%}
carried as (

    -- Each rebuilt key's last row before the start (one probe of the (keys, activity_date) index).
    select prior.*
    from day_keys
    cross join lateral ({{ last_totals_before(keys, 'day_keys', start_date) }}) as prior

),

orphaned as (

    -- Keys that were active on or after the start before this rebuild and are not any more: their last
    -- earlier row becomes current again.
    {%- if scope %}
    -- Only the keys in scope without a day now are probed (a rerun's vanished keys; none on a new day's build):
    -- the scope filter on the history was planned as one probe per key in scope, each reading every earlier
    -- row of its key (0.11 s of a 1M nightly's 0.39 s SELECT). Only a key's last row before the start can
    -- have valid_until >= start (valid_until is the key's next active day).
    select prior.*
    from (
        {{ scope }}
        except
        select {{ key_list }} from day_keys
    ) as vanished
    cross join lateral ({{ last_totals_before(keys, 'vanished', start_date) }}) as prior
    where prior.valid_until >= '{{ start_date }}'::date
    {%- else %}
    -- NOT IN (keys are never null) is one hashed lookup per row; the planner ran NOT EXISTS as a nested loop
    -- over day_keys (5 s for one day's 7k tag keys).
    select totals.*
    from {{ this }} as totals
    where totals.valid_until >= '{{ start_date }}'::date
      and totals.activity_date < '{{ start_date }}'::date
      and ({% for key in keys %}totals.{{ key }}{% if not loop.last %}, {% endif %}{% endfor %})
          not in (select {{ key_list }} from day_keys)
    {%- endif %}

),
{%- else -%}
carried as (

    select {{ key_list }}, activity_date, {{ columns }} from {{ daily }} where false

),

orphaned as (

    select {{ key_list }}, activity_date, {{ columns }} from {{ daily }} where false

),
{%- endif %}

-- The carried row leads each key's days (it is dated before the start), so one running sum adds it to every
-- rebuilt day, and its valid_until becomes the first rebuilt day. No join: joins of CTEs were planned as
-- nested loops.
days as (

    select activity_date, {{ key_list }}, {{ columns }} from {{ daily }}
    union all
    select activity_date, {{ key_list }}, {{ columns }} from carried

),

rebuilt as (

    select
        activity_date,
        {{ key_list }},
        {%- for measure in measures %}
        sum({{ measure }}) over keyed_days as {{ measure }},
        {%- endfor %}
        {%- for column, aggregate in extremes.items() %}
        {{ aggregate }}({{ column }}) over keyed_days as {{ column }},
        {%- endfor %}
        {%- for column in latest %}
        {{ column }},
        {%- endfor %}
        lead(activity_date) over keyed_days as valid_until
    from days
    window keyed_days as (
        partition by {{ key_list }}
        order by activity_date
        rows between unbounded preceding and current row
    )

),

final as (

    select activity_date, {{ key_list }}, {{ columns }}, valid_until from rebuilt
    union all
    select activity_date, {{ key_list }}, {{ columns }}, null::date as valid_until from orphaned

)

select * from final
{% endmacro %}

{#- The lower bound of a running-totals model's daily amounts: the partition start when the model adds to
    its earlier totals, every day when it is built from nothing. -#}
{% macro running_totals_since(date_column) -%}
  {%- if is_incremental() -%}
    {{ partition_days_filter(date_column, open_ended=true) }}
  {%- else -%}
    true
  {%- endif -%}
{%- endmacro %}

{#- One row per key: its running totals as of D (served by the valid_until index). -#}
{% macro as_of_totals(relation, as_of_date) -%}
  (
    select * from {{ relation }}
    where activity_date <= '{{ as_of_date }}'::date
      and (valid_until is null or valid_until > '{{ as_of_date }}'::date)
  )
{%- endmacro %}

{#- Each key of `keys_alias`'s row: its last running-totals row before `start` (one probe of the (keys,
    activity_date) index). -#}
{% macro last_totals_before(keys, keys_alias, start) -%}
        select totals.*
        from {{ this }} as totals
        where {% for key in keys %}totals.{{ key }} = {{ keys_alias }}.{{ key }} and {% endfor -%}
              totals.activity_date < '{{ start }}'::date
        order by totals.activity_date desc
        limit 1
{%- endmacro %}
