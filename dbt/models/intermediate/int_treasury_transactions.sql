{{
  config(
    materialized='incremental',
    incremental_strategy='replace_partition',
    partition_grain='day',
    on_schema_change='fail',
    indexes=[
      {'columns': ['activity_date']},
      {'columns': ['refunded_transaction_id']},
    ],
  )
}}
{%- set start_date = partition_var('start_date') -%}
{%- set end_date = partition_var('end_date') -%}
{#- One row per valid treasury entry of the partition, resolved for revenue. A payment counts when its own
    status is completed. A completed refund reverses the payment it names: for that payment's artist,
    event and currency, at most the payment's amount, and only once (the first refund by created_at, id).
    Everything else is kept with an outcome, so excluded money is counted, never dropped. -#}

with entries as (

    select * from {{ ref('stg_passport__entries') }}
    where activity_date >= '{{ start_date }}'::date
      and activity_date < '{{ end_date }}'::date
      and rejection_reason is null
      and event_type like 'treasury.%'

),

refunds as (

    select * from entries where event_type = 'treasury.refund'

),

-- Completed refunds per refunded payment, in (created_at, id) order: earlier partitions' reversals (read
-- through the refunded_transaction_id index, only for the payments this partition refunds) and this
-- partition's completed refunds. Only the first of each payment can reverse it: a rank, not a pairwise
-- comparison (an EXISTS per refund was quadratic in refunds on a full rebuild).
refund_order as (

    select
        passport_entry_id,
        row_number() over (
            partition by refunded_transaction_id order by created_at, passport_entry_id
        ) as refund_rank
    from (
        {% if is_incremental() -%}
        select refunded_transaction_id, created_at, passport_entry_id from {{ this }}
        where refund_outcome = 'reversed'
          and refunded_transaction_id in (select refunded_transaction_id from refunds)
          and not (activity_date >= '{{ start_date }}'::date and activity_date < '{{ end_date }}'::date)
        union all
        {% endif -%}
        select refunded_transaction_id, created_at, passport_entry_id from refunds
        where status = 'completed'
    ) as completed_refunds

),

resolved_refunds as (

    select
        refunds.passport_entry_id,
        coalesce(payment.artist_id, refunds.artist_id) as artist_id,
        payment.concert_event_id,
        payment.sale_channel,
        payment.amount_cents as payment_cents,
        case
            when refunds.status <> 'completed' then 'refund_not_completed'
            when payment.passport_entry_id is null then 'payment_not_found'
            when payment.status <> 'completed' then 'payment_not_completed'
            when payment.currency <> refunds.currency then 'currency_mismatch'
            when refund_order.refund_rank > 1 then 'already_refunded'
            else 'reversed'
        end as refund_outcome
    from refunds
    left join refund_order on refund_order.passport_entry_id = refunds.passport_entry_id
    -- One index probe per refund into the whole staged history (never a scan of it).
    left join lateral (
        select * from {{ ref('stg_passport__entries') }} as staged
        where staged.passport_entry_id = refunds.refunded_transaction_id
          and staged.rejection_reason is null
          and staged.event_type like 'treasury.%'
          and staged.event_type <> 'treasury.refund'
        limit 1
    ) as payment on true

),

final as (

    select
        entries.passport_entry_id,
        entries.activity_date,
        entries.created_at,
        entries.user_id,
        case when entries.event_type = 'treasury.refund' then 'refund' else 'payment' end as kind,
        entries.event_type,
        entries.status,
        entries.currency,
        entries.amount_cents,
        coalesce(resolved_refunds.artist_id, entries.artist_id) as artist_id,
        coalesce(resolved_refunds.concert_event_id, entries.concert_event_id) as concert_event_id,
        coalesce(resolved_refunds.sale_channel, entries.sale_channel) as sale_channel,
        entries.refunded_transaction_id,
        resolved_refunds.refund_outcome,
        case
            when entries.event_type <> 'treasury.refund' then entries.status = 'completed'
            else resolved_refunds.refund_outcome = 'reversed'
        end as counted,
        case
            when resolved_refunds.refund_outcome = 'reversed'
                then least(entries.amount_cents, resolved_refunds.payment_cents)
            else 0
        end::bigint as reversed_cents
    from entries
    left join resolved_refunds
        on resolved_refunds.passport_entry_id = entries.passport_entry_id

)

select * from final
