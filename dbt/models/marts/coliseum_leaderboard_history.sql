{{
  config(
    indexes=[{'columns': ['as_of_date', '"window"', 'domain']}],
  )
}}
{%- set as_of_date = run_value('as_of_date') -%}
{%- set previous_date = modules.datetime.date.fromisoformat(as_of_date) - modules.datetime.timedelta(days=1) if execute else as_of_date -%}
{#- Every board of every as-of date; the publish step copies one as-of date into the published relations. -#}

with strength as (

    select * from {{ ref('coliseum_domain_strength') }}
    where {{ partition_windows_filter() }}

),

profiles as (

    select artist_id::text as entity_id, artist_name from {{ ref('stg_passport__artist_profiles') }}

),

ranked as (

    select
        strength.*,
        -- Competition rank (1, 2, 2, 4); ties are listed by entity_id when read.
        rank() over (partition by strength."window", strength.domain order by strength.strength desc) as rank
    from strength

),

-- The artist's rank on the same board at D-1, ranked from the same log state as D (the daily rollups and
-- running totals as of D-1), never read from a stored D-1 partition that may be stale or missing.
previous as (

    {% for window in partition_windows() -%}
    {%- if not loop.first %}
    union all
    {% endif -%}
    select
        '{{ window }}'::text as "window",
        domain,
        entity_id,
        rank() over (partition by domain order by strength desc) as previous_rank
    from {{ window_strength(previous_date, window) }} as day_before
    {%- endfor %}

),

final as (

    select
        ranked.as_of_date,
        ranked."window",
        ranked.domain,
        ranked.rank,
        ranked.entity_id,
        -- The old inner join dropped artists without a profile; they are ranked under a fallback name.
        {{ artist_display_name('profiles.artist_name', 'ranked.entity_id') }} as artist_name,
        profiles.entity_id is null as missing_profile,
        ranked.strength as score,
        ranked.event_count,
        ranked.unique_fans,
        previous.previous_rank,
        previous.previous_rank - ranked.rank as rank_change
    from ranked
    left join profiles on profiles.entity_id = ranked.entity_id::text
    left join previous
        on previous."window" = ranked."window"
        and previous.domain = ranked.domain
        and previous.entity_id = ranked.entity_id

)

select * from final
