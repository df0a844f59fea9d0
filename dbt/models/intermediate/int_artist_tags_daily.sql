{{
  config(
    materialized='incremental',
    incremental_strategy='replace_partition',
    partition_grain='day',
    on_schema_change='fail',
    indexes=[{'columns': ['activity_date']}],
  )
}}
{%- set start_date = partition_var('start_date') -%}
{%- set end_date = partition_var('end_date') -%}
{#- Artist x day x tag: how many of the artist's counted entries (at least one mutation) carried each
    genre, country and city. The DNA metrics read windows of this, never the raw log. -#}

with entries as (

    select * from {{ ref('stg_passport__entries') }}
    where activity_date >= '{{ start_date }}'::date
      and activity_date < '{{ end_date }}'::date
      and rejection_reason is null

),

counted as (

    select distinct passport_entry_id from {{ ref('coliseum_dna_mutations') }}
    where activity_date >= '{{ start_date }}'::date
      and activity_date < '{{ end_date }}'::date

),

tagged as (

    select entries.activity_date, entries.artist_id as entity_id, entries.genre, entries.country, entries.city
    from entries
    inner join counted on counted.passport_entry_id = entries.passport_entry_id

),

final as (

    select activity_date, entity_id, 'genre' as tag_kind, genre as tag, count(*) as event_count
    from tagged where genre is not null
    group by activity_date, entity_id, genre

    union all

    select activity_date, entity_id, 'country' as tag_kind, country as tag, count(*) as event_count
    from tagged where country is not null
    group by activity_date, entity_id, country

    union all

    select activity_date, entity_id, 'city' as tag_kind, country || '/' || city as tag, count(*) as event_count
    from tagged where country is not null and city is not null
    group by activity_date, entity_id, country, city

)

select * from final
