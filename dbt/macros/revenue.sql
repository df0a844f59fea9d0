{#- Treasury event types sold at a concierto event, and their sale channel (artist_event_revenue). -#}
{% macro sale_channel(event_type) -%}
  case {{ event_type }}
  {%- for name, channel in var('sale_channels').items() %}
    when '{{ name }}' then '{{ channel }}'
  {%- endfor %}
  end
{%- endmacro %}

{#- The name the app shows: the profile's, or a stable placeholder for an artist without a profile. -#}
{% macro artist_display_name(profile_name, entity_id) -%}
  coalesce({{ profile_name }}, 'Unknown artist ' || left(({{ entity_id }})::text, 8))
{%- endmacro %}

{#- The revenue rules (README, "Revenue rules") over treasury transactions grouped by artist and currency (and
    whatever else the caller groups by): money in integer cents and transactions by outcome, then the first and
    last sale. Paying fans are distinct users, so a caller counts them over its own rows. -#}
{% macro revenue_measures() -%}
    artist_id,
    currency,
    coalesce(sum(amount_cents) filter (where kind = 'payment' and counted), 0)::bigint as gross_cents,
    sum(reversed_cents)::bigint as refunds_cents,
    count(*) filter (where kind = 'payment' and counted) as completed_transactions,
    count(*) filter (where kind = 'refund' and counted) as refunded_transactions,
    count(*) filter (where kind = 'payment' and status = 'pending') as pending_transactions,
    count(*) filter (where kind = 'payment' and status = 'failed') as failed_transactions,
    count(*) filter (where kind = 'payment' and not counted) as excluded_transactions,
    min(created_at) filter (where kind = 'payment' and counted) as first_sale_at,
    max(created_at) filter (where kind = 'payment' and counted) as last_sale_at
{%- endmacro %}

{#- The measures of revenue_measures() that add up across days (running totals sum them). -#}
{% macro revenue_sums() -%}
  {{ return(['gross_cents', 'refunds_cents', 'completed_transactions', 'refunded_transactions',
             'pending_transactions', 'failed_transactions', 'excluded_transactions']) }}
{%- endmacro %}
