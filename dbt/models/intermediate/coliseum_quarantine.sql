{{
  config(
    partition_filter='not swept',
    unique_key='quarantine_key',
    on_schema_change='append_new_columns',
    indexes=[{'columns': ['activity_date']}, {'columns': ['rejection_reason']}, {'columns': ['quarantine_key']}],
  )
}}
{#- Every rejected entry with its reason code and the raw row, verbatim: nothing is dropped silently.
    A rerun replaces the partition's rows but keeps when each entry was first seen. Swept (untimed)
    entries are kept across reruns: they are read by the partition that first saw them, until the daily
    ledger marks them processed. A run killed before that leaves them unmarked, so the next run sweeps them
    again: unique_key replaces the earlier row instead of adding a second one. -#}

with rejected as (

    select * from {{ ref('stg_passport__entries') }}
    where {{ partition_days_filter() }}
      and rejection_reason is not null

),

keyed as (

    select
        md5(coalesce(passport_entry_id::text, '-') || ':' || content_hash) as quarantine_key,
        *
    from rejected

),

previous as (

    {% if is_incremental() -%}
    -- Only this partition's keys (quarantine_key index): the quarantine grows with the history.
    select quarantine_key, first_seen_at, first_run_id from {{ this }}
    where quarantine_key in (select quarantine_key from keyed)
    {%- else -%}
    select null::text as quarantine_key, null::timestamptz as first_seen_at, null::text as first_run_id
    where false
    {%- endif %}

),

final as (

    select
        keyed.quarantine_key,
        keyed.passport_entry_id,
        keyed.rejection_reason,
        keyed.activity_date,
        keyed.created_at,
        keyed.swept,
        keyed.duplicate_copies,
        keyed.raw_entry,
        coalesce(previous.first_seen_at, now()) as first_seen_at,
        coalesce(previous.first_run_id, '{{ run_value("run_id") }}') as first_run_id,
        '{{ run_value("run_id") }}' as last_run_id
    from keyed
    left join previous on previous.quarantine_key = keyed.quarantine_key

)

select * from final
