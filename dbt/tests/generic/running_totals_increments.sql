{#- Running totals: each rebuilt row (from the partition start on) adds exactly its day's amounts to the key's
    previous row. `daily` is the model of the day's amounts, one row per key and activity_date; `measures` maps
    each total column to its daily column. A key's day with amounts and no row, or a row whose step differs
    from its day's amounts (missing amounts count 0), fails. With the chain test, the totals as of any date are
    then the sum of the daily amounts up to it, checked per build, not by a scan of the history. -#}
{% test running_totals_increments(model, keys, daily, measures) %}
with rebuilt as (

    select * from {{ model }} where {{ partition_days_filter(open_ended=true) }}

),

stepped as (

    select
        {%- for key in keys %}
        rebuilt.{{ key }},
        {%- endfor %}
        rebuilt.activity_date,
        {%- for total in measures %}
        rebuilt.{{ total }} - coalesce(previous.{{ total }}, 0) as added_{{ total }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from rebuilt
    -- The key's row before this one (one probe of the unique (keys, activity_date) index).
    left join lateral (
        select * from {{ model }} as earlier
        where {% for key in keys %}earlier.{{ key }} = rebuilt.{{ key }} and {% endfor -%}
              earlier.activity_date < rebuilt.activity_date
        order by earlier.activity_date desc
        limit 1
    ) as previous on true

),

days as (

    select
        {%- for key in keys %}
        {{ key }},
        {%- endfor %}
        activity_date,
        {%- for total, column in measures.items() %}
        sum({{ column }}) as {{ total }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ ref(daily) }}
    where {{ partition_days_filter(open_ended=true) }}
    group by {{ keys | join(', ') }}, activity_date

)

select
    {%- for key in keys %}
    coalesce(stepped.{{ key }}, days.{{ key }}) as {{ key }},
    {%- endfor %}
    coalesce(stepped.activity_date, days.activity_date) as activity_date,
    stepped.activity_date is null as missing_row
    {%- for total in measures %},
    stepped.added_{{ total }},
    days.{{ total }} as day_{{ total }}
    {%- endfor %}
from stepped
full join days on {% for key in keys %}days.{{ key }} = stepped.{{ key }} and {% endfor -%}
    days.activity_date = stepped.activity_date
where stepped.activity_date is null
   {%- for total in measures %}
   or stepped.added_{{ total }} is distinct from coalesce(days.{{ total }}, 0)
   {%- endfor %}
{% endtest %}
