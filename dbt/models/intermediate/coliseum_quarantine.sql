{{
  config(
    materialized='incremental',
    incremental_strategy='replace_partition',
    partition_grain='day',
    on_schema_change='fail',
    indexes=[{'columns': ['activity_date']}],
  )
}}
{#- Every entry the pipeline rejected, with its reason and the raw row: nothing is dropped silently. -#}

with rejected as (

    select * from {{ ref('stg_passport__entries') }}
    where activity_date >= '{{ partition_var("start_date") }}'::date
      and activity_date < '{{ partition_var("end_date") }}'::date
      and rejection_reason is not null

),

final as (

    select
        passport_entry_id,
        rejection_reason,
        activity_date,
        created_at,
        jsonb_build_object(
            'id', passport_entry_id,
            'user_id', user_id,
            'session_id', session_id,
            'device_id', device_id,
            'event_type', event_type,
            'event_category', event_category,
            'entity_type', entity_type,
            'entity_id', entity_id,
            'metadata', metadata,
            'created_at', created_at
        ) as raw_entry,
        '{{ invocation_id }}' as dbt_invocation_id
    from rejected

)

select * from final
