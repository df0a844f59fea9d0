{{
  config(
    materialized='incremental',
    incremental_strategy='replace_partition',
    partition_grain='day',
    on_schema_change='fail',
    pre_hook="{{ mark_processed_entries() }}",
    indexes=[{'columns': ['activity_date']}],
  )
}}
{%- set start_date = partition_var('start_date') -%}
{%- set end_date = partition_var('end_date') -%}

with source as (

    select * from {{ source('passport', 'passport_entries') }}
    where created_at >= {{ utc_midnight(start_date) }}
      and created_at < {{ utc_midnight(end_date) }}

),

renamed as (

    select
        id as passport_entry_id,
        user_id,
        session_id,
        device_id,
        event_type,
        event_category,
        entity_type,
        entity_id::text as entity_id,
        metadata,
        created_at,
        (created_at at time zone 'UTC')::date as activity_date,
        -- The artist of an event: the entity itself, or the artist the app logs in metadata.
        case
            when entity_type = 'artist' then {{ safe_uuid('entity_id::text') }}
            else {{ safe_uuid("metadata ->> 'artist_id'") }}
        end as artist_id,
        {{ safe_numeric("metadata ->> 'duration_seconds'") }} as duration_seconds,
        {{ safe_numeric("metadata ->> 'progress_percentage'") }} as progress_percentage,
        {{ safe_numeric("metadata ->> 'amount_cents'") }} as amount_cents,
        upper(metadata ->> 'currency') as currency,
        metadata ->> 'status' as status
    from source

),

deduplicated as (

    -- The same id delivered more than once within the day counts once.
    (
        select distinct on (passport_entry_id) *
        from renamed
        where passport_entry_id is not null
        order by passport_entry_id, created_at
    )

    union all

    select * from renamed where passport_entry_id is null

),

weights as (

    select * from {{ influence_weights_ranges() }}

),

final as (

    select
        deduplicated.*,
        case
            when deduplicated.passport_entry_id is null then 'missing_id'
            when deduplicated.user_id is null then 'missing_user_id'
            when weights.event_type is null then 'unknown_event_type'
            when weights.base_intensity <> 0 and deduplicated.artist_id is null then 'unresolved_artist'
        end as rejection_reason
    from deduplicated
    left join weights
        on weights.event_type = deduplicated.event_type
        and {{ weights_in_force('weights', 'deduplicated.activity_date') }}

)

select * from final
