{{
  config(
    indexes=[{'columns': ['activity_date']}, {'columns': ['passport_entry_id']}],
  )
}}

{#- Statistics (the project's analyze_if_grown post-hook): int_user_entries joins the partition's mutations by
    entry; without them on a first load the planner chose a nested loop over them (69 s for the demo's 45 days
    instead of 1 s). -#}

with entries as (

    {{ valid_staged_entries() }}

),

scored as (

    select
        entries.passport_entry_id,
        entries.artist_id,
        entries.user_id,
        entries.event_type,
        entries.created_at,
        entries.activity_date,
        weights.weight_version,
        weights.base_intensity,
        weights.weight_a,
        weights.weight_t,
        weights.weight_g,
        weights.weight_c,
        -- Quality factor: a play shorter than the minimum, or a payment that did not complete, counts 0.
        case
            when weights.min_duration_seconds is not null
                 and coalesce(entries.duration_seconds, 0) < weights.min_duration_seconds then 0
            when weights.requires_completed_status
                 and entries.status is distinct from 'completed' then 0
            else 1
        end as quality_factor
    from entries
    {{ join_weights_in_force('entries') }}

),

unpivoted as (

    select
        scored.passport_entry_id,
        scored.artist_id as entity_id,
        domains.domain,
        scored.event_type,
        (scored.base_intensity * domains.weight * scored.quality_factor)::numeric(18, 4) as effective_delta,
        scored.weight_version,
        scored.quality_factor,
        scored.user_id,
        scored.created_at,
        scored.activity_date
    from scored
    cross join lateral (
        values {% for domain in domains() %}('{{ domain }}', scored.weight_{{ domain | lower }}){% if not loop.last %}, {% endif %}{% endfor %}
    ) as domains (domain, weight)

),

final as (

    select * from unpivoted where effective_delta <> 0

)

select * from final
