{{
  config(
    indexes=[{'columns': ['activity_date']}],
  )
}}

with mutations as (

    select * from {{ ref('coliseum_dna_mutations') }}
    where activity_date >= '{{ partition_var("start_date") }}'::date
      and activity_date < '{{ partition_var("end_date") }}'::date

),

final as (

    select
        activity_date,
        entity_id,
        domain,
        sum(effective_delta) as strength,
        count(*) as event_count
    from mutations
    group by activity_date, entity_id, domain

)

select * from final
