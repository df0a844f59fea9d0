{{
  config(
    indexes=[{'columns': ['activity_date']}, {'columns': ['user_id', 'activity_date']}],
  )
}}
{#- One row per counted entry of the partition (a valid entry with at least one non-zero effective delta, as
    for the artists), credited to the acting user: what it was, what it touched, the weights in force and its
    effective delta per domain, and the money it moved for the user (spend_cents: a completed payment's amount,
    minus what a refund reversed). The DIA marts read its published copy. -#}

{#- Every join here is a probe of an index by entry id (mutations, payments), per entry of the partition: the
    planner's estimates for a new day lie beyond its statistics (about one row), and the hash-free plans it then
    chose compared every entry with every mutation or payment of the day (22.8 s for a nightly of 11k entries at
    1M events). -#}

with entries as (

    {{ valid_staged_entries() }}

),

scored as (

    select entries.*, deltas.*
    from entries
    cross join lateral (
        select
            count(*) as mutations,
            {%- for domain in domains() %}
            coalesce(sum(mutations.effective_delta) filter (where mutations.domain = '{{ domain }}'), 0)
                as delta_{{ domain | lower }}{% if not loop.last %},{% endif %}
            {%- endfor %}
        from {{ ref('coliseum_dna_mutations') }} as mutations
        where mutations.passport_entry_id = entries.passport_entry_id
    ) as deltas
    where deltas.mutations > 0

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
        {%- for domain in domains(lower=true) %}
        entries.delta_{{ domain }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from scored as entries
    {{ join_weights_in_force('entries') }}
    left join lateral (
        select
            transactions.passport_entry_id,
            case
                when transactions.kind = 'payment' and transactions.counted then transactions.amount_cents
                when transactions.kind = 'refund' then -transactions.reversed_cents
                else 0
            end::bigint as spend_cents
        from {{ ref('int_treasury_transactions') }} as transactions
        where entries.event_type like 'treasury.%'
          and transactions.passport_entry_id = entries.passport_entry_id
        -- one row per entry; also a fence, so the planner keeps the probe instead of a join by estimates
        limit 1
    ) as money on true

)

select * from final
