{#- Running totals: every row's valid_until is its key's next active day, and only a key's last row is
    current (null). Meant for the rows a partition rebuilt or carried (a `where` on the start date). -#}
{% test running_totals_chain(model, keys) %}
with chained as (

    select
        *,
        lead(activity_date) over (partition by {{ keys | join(', ') }} order by activity_date) as next_day
    from {{ model }}

)

select * from chained where valid_until is distinct from next_day
{% endtest %}
