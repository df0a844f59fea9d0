{{
  config(
    indexes=[{'columns': ['activity_date']}],
  )
}}

with mutations as (

    select * from {{ ref('coliseum_dna_mutations') }}
    where {{ partition_days_filter() }}

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
