{{
  config(
    indexes=[
      {'columns': ['activity_date']},
      {'columns': ['passport_entry_id']},
      {'columns': ['refunded_transaction_id']},
    ],
  )
}}
{#- Statistics (the project's analyze_if_grown post-hook) serve the models that read this one in the same
    invocation: a first load has none, and the planner would scan the whole history per refund. -#}
{%- set start_date = run_value('start_date') -%}
{%- set content = entry_content_columns() | join(', ') -%}
{#- One partition of the log: typed, deduplicated and validated. Every raw row of the partition is
    accounted for: kept once (exact copies counted in duplicate_copies, their rows in source_ctids), with
    rejection_reason NULL when it may score, or a reason code when it must be quarantined. Rows whose
    created_at can never fall into a daily partition (NULL, before the platform start, year 10000 on) are
    swept into the partition that first sees them. Nothing here writes the log: the day's entries are
    marked processed by the daily ledger step once everything derived from them has committed and passed
    its checks (dagster_project/assets/ledger.py), by the ctids this model read. -#}

with source as not materialized (

    select *, ctid as source_row from {{ source('passport', 'passport_entries') }}
    where {{ partition_instants_filter('created_at') }}

),

untimed as not materialized (

    select *, ctid as source_row from {{ source('passport', 'passport_entries') }}
    where coliseum_processed_at is null
      and ({{ untimed_predicate() }})
      and not coalesce(
          {{ partition_instants_filter('created_at') }}, false
      )

),

raw_rows as not materialized (

    select *, false as swept from source
    union all
    select *, true as swept from untimed

),

renamed as not materialized (

    select
        id as passport_entry_id,
        {%- for column in entry_content_columns() %}
        {{ column }}{% if column == 'entity_id' %}::text as entity_id{% endif %},
        {%- endfor %}
        swept,
        source_row,
        case
            when swept then '{{ start_date }}'::date
            else (created_at at time zone 'UTC')::date
        end as activity_date
    from raw_rows

),

repeated_ids as (

    -- NULL ids group together: they go through the copy check like a repeated id.
    select passport_entry_id from renamed group by passport_entry_id having count(*) > 1

),

singles as (

    select
        renamed.*,
        0::bigint as duplicate_copies,
        array[source_row] as source_ctids,
        false as conflicting_in_partition
    from renamed
    where passport_entry_id is not null
      and not exists (select 1 from repeated_ids where repeated_ids.passport_entry_id = renamed.passport_entry_id)

),

-- Copies of one id are grouped by value (jsonb equality, the same instant), never by their text: '100' and
-- '100.0' are one content. Each group is kept once (its lowest ctid), with its extra copies counted.
copies as (

    select
        renamed.*,
        count(*) over content_group - 1 as duplicate_copies,
        array_agg(source_row) over content_group as source_ctids,
        row_number() over (content_group order by source_row) as copy_number,
        dense_rank() over (partition by passport_entry_id order by {{ content }}) as content_number
    from renamed
    where passport_entry_id is null
       or exists (select 1 from repeated_ids where repeated_ids.passport_entry_id = renamed.passport_entry_id)
    window content_group as (partition by passport_entry_id, {{ content }})

),

versions as (

    select * from singles
    union all
    select
        {% for column in ["passport_entry_id"] + entry_content_columns()
                         + ["swept", "source_row", "activity_date", "duplicate_copies", "source_ctids"] -%}
        {{ column }},
        {% endfor -%}
        -- more than one distinct content for one id: every version is quarantined
        content_count > 1 as conflicting_in_partition
    from (
        select *, max(content_number) over (partition by passport_entry_id) as content_count from copies
    ) as counted
    where copy_number = 1

),

typed as (

    select
        versions.*,
        metadata::text as metadata_text,
        {{ json_type('metadata') }} as metadata_type,
        case
            when entity_type = 'artist' then entity_id
            else {{ json_text('metadata', 'artist_id') }}
        end as artist_id_text,
        {%- for key, name in [('duration_seconds', 'duration_json'), ('progress_percentage', 'progress_json'),
                              ('amount_cents', 'amount_json')] %}
        {{ json_field('metadata', key) }} as {{ name }},
        {%- endfor %}
        {%- for key in ['currency', 'status'] %}
        {{ json_text('metadata', key) }} as {{ key }},
        {%- endfor %}
        {{ json_text('metadata', 'refunded_transaction_id') }} as refunded_transaction_id_text,
        case when entity_type = 'event' then entity_id else {{ json_text('metadata', 'event_id') }} end
            as concert_event_id_text,
        case when entity_type = 'track' then entity_id else {{ json_text('metadata', 'content_id') }} end
            as content_id,
        {#- The tags are strings or nothing: a number or an object under genre is no genre. -#}
        {%- for key, normalise in [('genre', 'lower(trim({}))'), ('country', 'upper(trim({}))'), ('city', 'trim({})')] %}
        case when {{ json_type(json_field('metadata', key)) }} = 'string'
            then {{ normalise.format(json_text('metadata', key)) }} end as {{ key }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from versions
    -- Fences (here and in checked): a flattened CTE re-evaluates each of its expressions at every reference
    -- (metadata::text, the ->> lookups, the uuid regexes are read two to four times each): 35% of this model.
    offset 0

),

checked as (

    select
        typed.*,
        weights.event_category as expected_category,
        weights.base_intensity,
        {{ safe_uuid('typed.artist_id_text') }} as artist_id,
        {{ safe_uuid('typed.refunded_transaction_id_text') }} as refunded_transaction_id,
        {{ safe_uuid('typed.concert_event_id_text') }} as concert_event_id,
        {{ sale_channel('typed.event_type') }} as sale_channel,
        {%- for json, name in [('duration_json', 'duration_seconds'), ('progress_json', 'progress_percentage'),
                               ('amount_json', 'amount_value')] %}
        case when {{ json_type(json) }} = 'number' then ({{ json_scalar_text(json) }})::numeric end
            as {{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from typed
    {{ join_weights_in_force('typed', 'left') }}
    offset 0

),

{% if not is_incremental() -%}
-- A first load reads the whole log or most of it: one hashed pass over the log's ids finds those it holds more
-- than once, and only their entries pay the content probe below (an id held once has no other content). The
-- 200k demo: 2.9-3.2 -> 2.35 s; 200k probes of the id index (1.2M buffer hits) against one scan. It pays off
-- even when the chunk is a small part of a long log (the 10M bench's first chunk, 13% of it: 27 -> 25.7 s); a
-- nightly keeps the probe alone: 15k probes cost less than a scan of the whole log.
log_repeated_ids as (

    select id from {{ source('passport', 'passport_entries') }} where id is not null group by id having count(*) > 1

),

{% endif -%}
validated as (

    select
        checked.*,
        case
            when passport_entry_id is null then 'missing_id'
            when conflicting_in_partition then 'conflicting_duplicate_id'
            -- Another content under this id anywhere in the log (any day, untimed, not yet due): a full
            -- build quarantines every version, so each day does (one probe of the id index per entry; on a first
            -- load, per entry whose id the log holds more than once).
            when {% if not is_incremental() %}passport_entry_id in (select id from log_repeated_ids) and {% endif -%}
            exists (
                select 1 from {{ source('passport', 'passport_entries') }} as other
                where other.id = checked.passport_entry_id
                  and row({{ entry_content('other') }}) is distinct from row({{ entry_content('checked') }})
            ) then 'conflicting_duplicate_id'
            when created_at is null then 'missing_created_at'
            when created_at < {{ utc_midnight(run_value('platform_start')) }} then 'before_platform_start'
            when created_at >= {{ end_of_time() }} then 'invalid_created_at'
            when {{ oversized_text() }} then 'oversized_text'
            when {{ has_control_characters() }} then 'control_characters'
            when user_id is null then 'missing_user_id'
            when event_type is null or expected_category is null then 'unknown_event_type'
            when event_category is not null and event_category <> expected_category then 'category_mismatch'
            when metadata is not null and metadata_type <> 'object' then 'metadata_not_object'
            when base_intensity <> 0 and artist_id is null then 'invalid_artist'
            when duration_json is not null
                 and (duration_seconds is null or duration_seconds < 0) then 'invalid_duration'
            when progress_json is not null
                 and (progress_percentage is null or progress_percentage not between 0 and 100)
                 then 'invalid_progress'
            when expected_category = 'treasury'
                 and (amount_value is null or amount_value < 0 or amount_value <> trunc(amount_value)
                      or amount_value > {{ run_value('max_amount_cents') }}) then 'invalid_amount'
            when expected_category = 'treasury'
                 and (currency is null or upper(currency) not in (select currency from {{ ref('currencies') }}))
                 then 'unknown_currency'
            when expected_category = 'treasury'
                 and (status is null or status not in ('pending', 'completed', 'failed', 'refunded'))
                 then 'invalid_status'
            when sale_channel is not null and concert_event_id is null then 'invalid_event_id'
            when event_type = 'treasury.refund' and refunded_original.found is null
                then 'refund_of_unknown_transaction'
        end as rejection_reason
    from checked
    -- One index probe per refund (a NOT EXISTS here was planned as a hash of every payment of the log).
    left join lateral (
        select true as found
        from {{ source('passport', 'passport_entries') }} as original
        where checked.event_type = 'treasury.refund'
          and original.id = checked.refunded_transaction_id
          and original.event_type like 'treasury.%'
          and original.event_type <> 'treasury.refund'
        limit 1
    ) as refunded_original on true
    -- A fence: final reads rejection_reason three times, and an inlined CASE would be evaluated three times.
    offset 0

),

final as (

    select
        passport_entry_id,
        {%- for column in entry_content_columns() %}
        {{ column }},
        {%- endfor %}
        activity_date,
        swept,
        -- The quarantine key of a rejected entry (its content as text; only rejected rows pay for it).
        case when rejection_reason is not null then md5(row({{ entry_content('validated') }})::text) end
            as content_hash,
        duplicate_copies,
        source_ctids,
        artist_id,
        duration_seconds,
        progress_percentage,
        case
            when amount_value between 0 and {{ run_value('max_amount_cents') }} and amount_value = trunc(amount_value)
                then amount_value::bigint
        end as amount_cents,
        upper(currency) as currency,
        status,
        refunded_transaction_id,
        concert_event_id,
        sale_channel,
        content_id,
        nullif(genre, '') as genre,
        nullif(country, '') as country,
        nullif(city, '') as city,
        rejection_reason,
        case when rejection_reason is not null then (
            select {{ json_row_without('raw', 'coliseum_processed_at') }}
            from {{ source('passport', 'passport_entries') }} as raw
            where raw.ctid = validated.source_row
        ) end as raw_entry
    from validated

)

select * from final
