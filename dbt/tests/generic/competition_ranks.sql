{#- Each row's rank must be 1 + the number of rows in its group with a strictly higher score: this catches
    gaps, duplicated ranks that are not ties, and ranks out of score order. Returns the offending rows. -#}
{% test competition_ranks(model, column_name, score, group_by) %}
with ranked as (
    select
        {{ group_by | join(', ') }},
        {{ column_name }} as actual_rank,
        rank() over (partition by {{ group_by | join(', ') }} order by {{ score }} desc) as expected_rank,
        {{ score }} as score
    from {{ model }}
)
select * from ranked where actual_rank is distinct from expected_rank
{% endtest %}
