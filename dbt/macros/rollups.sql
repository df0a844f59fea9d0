{#- A daily rollup of the partition's mutations: one row per `keys` (activity_date first), with `measures`
    (SQL expressions with their names). -#}
{% macro mutations_rollup(keys, measures) %}
with mutations as (

    select * from {{ ref('coliseum_dna_mutations') }}
    where {{ partition_days_filter() }}

),

final as (

    select
        {{ (keys + measures) | join(',\n        ') }}
    from mutations
    group by {{ keys | join(', ') }}

)

select * from final
{% endmacro %}
