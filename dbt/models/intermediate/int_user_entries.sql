{{
  config(
    post_hook="{{ analyze_if_grown() }}",
    indexes=[{'columns': ['activity_date']}, {'columns': ['user_id', 'activity_date']}],
  )
}}
{#- One row per counted entry of the partition (a valid entry with at least one non-zero effective delta, as
    for the artists), credited to the acting user: what it was, what it touched, the weights in force and its
    effective delta per domain, and the money it moved for the user (spend_cents: a completed payment's amount,
    minus what a refund reversed). The DIA marts read its published copy. -#}

with entries as (

    {{ valid_staged_entries() }}

),

deltas as (

    select
        passport_entry_id,
        {%- for domain in ['A', 'T', 'G', 'C'] %}
        coalesce(sum(effective_delta) filter (where domain = '{{ domain }}'), 0) as delta_{{ domain | lower }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ ref('coliseum_dna_mutations') }}
    where {{ partition_days_filter() }}
    group by passport_entry_id

),

-- Materialized: the planner ran the join as a nested loop over the day's payments per entry (5.4M rows read
-- for 11k entries at 1M events); a hashed CTE reads them once.
money as materialized (

    select
        passport_entry_id,
        case
            when kind = 'payment' and counted then amount_cents
            when kind = 'refund' then -reversed_cents
            else 0
        end::bigint as spend_cents
    from {{ ref('int_treasury_transactions') }}
    where {{ partition_days_filter() }}

),

final as (

    select
        entries.passport_entry_id,
        entries.user_id,
        entries.session_id::text as session_id,
        entries.activity_date,
        entries.created_at,
        entries.event_type,
        weights.event_category,
        {{ interaction_category('entries.event_type') }} as interaction_category,
        entries.entity_type,
        entries.entity_id,
        entries.artist_id,
        entries.content_id,
        entries.genre,
        entries.duration_seconds,
        entries.progress_percentage,
        case when money.passport_entry_id is not null then entries.currency end as currency,
        money.spend_cents,
        {%- for column in ['weight_version', 'base_intensity', 'weight_a', 'weight_t', 'weight_g', 'weight_c'] %}
        weights.{{ column }},
        {%- endfor %}
        {%- for domain in ['a', 't', 'g', 'c'] %}
        deltas.delta_{{ domain }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from entries
    inner join deltas on deltas.passport_entry_id = entries.passport_entry_id
    {{ join_weights_in_force('entries') }}
    left join money on money.passport_entry_id = entries.passport_entry_id

)

select * from final
