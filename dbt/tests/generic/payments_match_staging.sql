{#- The partition's resolved payments are exactly its valid staged payments (same ids, artist, money and
    status). With it, the publish check that reconciles revenue against the transactions reconciles it
    against the staged log, without re-reading the log's whole history. -#}
{% test payments_match_staging(model) %}
{%- set columns = 'passport_entry_id, activity_date, artist_id, currency, amount_cents, status' -%}
with staged as (

    select {{ columns }} from {{ ref('stg_passport__entries') }}
    where {{ partition_days_filter() }}
      and rejection_reason is null
      and event_type like 'treasury.%'
      and event_type <> 'treasury.refund'

),

resolved as (

    select {{ columns }} from {{ model }}
    where {{ partition_days_filter() }} and kind = 'payment'

),

missing as (

    select 'missing from the transactions' as problem, * from (
        select * from staged except all select * from resolved
    ) as rows

),

unexpected as (

    select 'not a staged payment' as problem, * from (
        select * from resolved except all select * from staged
    ) as rows

)

select * from missing
union all
select * from unexpected
{% endtest %}
