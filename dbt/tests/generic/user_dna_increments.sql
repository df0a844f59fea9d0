{#- Each rebuilt row of the user DNA totals adds exactly its day's counted entries to the user's previous row:
    the influence and the events counted, and one half-life throughout (a changed half-life needs a full
    rebuild: the scaled sums of earlier days were made with the old one). -#}
{% test user_dna_increments(model) %}
with rebuilt as (

    select * from {{ model }} where {{ partition_days_filter(open_ended=true) }}

),

stepped as (

    select
        rebuilt.*,
        {%- for domain in domains(lower=true) %}
        rebuilt.influence_{{ domain }} - coalesce(previous.influence_{{ domain }}, 0) as added_{{ domain }},
        {%- endfor %}
        rebuilt.events_counted - coalesce(previous.events_counted, 0) as added_events,
        previous.half_life_days as previous_half_life_days
    from rebuilt
    left join lateral (
        select * from {{ model }} as earlier
        where earlier.user_id = rebuilt.user_id and earlier.activity_date < rebuilt.activity_date
        order by earlier.activity_date desc
        limit 1
    ) as previous on true

),

days as (

    select
        user_id,
        activity_date,
        {%- for domain in domains(lower=true) %}
        sum(delta_{{ domain }}) as delta_{{ domain }},
        {%- endfor %}
        count(*) as events
    from {{ ref('int_user_entries') }}
    where {{ partition_days_filter(open_ended=true) }}
    group by user_id, activity_date

)

select
    coalesce(stepped.user_id, days.user_id) as user_id,
    coalesce(stepped.activity_date, days.activity_date) as activity_date,
    stepped.added_events,
    days.events
from stepped
full join days on days.user_id = stepped.user_id and days.activity_date = stepped.activity_date
where stepped.user_id is null
   or days.user_id is null
   or stepped.added_events <> days.events
   {%- for domain in domains(lower=true) %}
   or stepped.added_{{ domain }} <> days.delta_{{ domain }}
   {%- endfor %}
   or stepped.half_life_days <> coalesce(stepped.previous_half_life_days, stepped.half_life_days)
{% endtest %}
