{{
  config(
    indexes=[{'columns': ['activity_date']}, {'columns': ['entity_id', 'user_id', 'activity_date']}],
  )
}}
{#- One row per artist x domain x fan x day, so unique fans over any window are exact (distinct users),
    not a sum of daily uniques. -#}

with mutations as (

    select * from {{ ref('coliseum_dna_mutations') }}
    where {{ partition_days_filter() }}

),

final as (

    select
        activity_date,
        entity_id,
        domain,
        user_id,
        count(*) as event_count
    from mutations
    group by activity_date, entity_id, domain, user_id

)

select * from final
