{{
  config(
    indexes=[{'columns': ['as_of_date', '"window"', 'entity_id']}],
  )
}}
{%- set as_of_date = run_value('as_of_date') -%}
{#- Exact fans per artist, as-of date and window, the one home of a window's fan counts: unique fans in any
    domain and in each, and repeat fans (active on two or more days of the window). coliseum_domain_strength
    and coliseum_artist_dna read them from here, so a window's fan-days are hashed once, not once per mart
    (each did its own distinct, one after the other on the window build's critical path). -#}

{% call(window) union_windows() %}
    with
    {% if window_days(window) is none -%}
    -- All time: the running totals as of D (one row per artist, and per artist and domain).
    artist_totals as (

        select entity_id, unique_fans::bigint as unique_fans, repeat_fans::bigint as repeat_fans
        from {{ as_of_totals(ref('int_artist_totals'), as_of_date) }} as as_of

    ),

    domain_totals as (

        select
            entity_id,
            {%- for domain in domains() %}
            coalesce(max(unique_fans) filter (where domain = '{{ domain }}'), 0)::bigint as unique_fans_{{ domain | lower }}{% if not loop.last %},{% endif %}
            {%- endfor %}
        from {{ as_of_totals(ref('int_artist_domain_totals'), as_of_date) }} as as_of
        group by entity_id

    ),

    fans as (

        select
            artist_totals.entity_id,
            artist_totals.unique_fans,
            artist_totals.repeat_fans,
            {%- for domain in domains(lower=true) %}
            coalesce(domain_totals.unique_fans_{{ domain }}, 0) as unique_fans_{{ domain }}{% if not loop.last %},{% endif %}
            {%- endfor %}
        from artist_totals
        left join domain_totals on domain_totals.entity_id = artist_totals.entity_id

    ),
    {%- else -%}
    -- One row per artist and fan of the window (a hash of its fan-days, one row per artist, fan and day): a fan
    -- is a repeat fan when their first and last active days in the window differ, and a fan of a domain when
    -- any of their days has it.
    fan_windows as (

        select
            entity_id,
            user_id,
            min(activity_date) <> max(activity_date) as is_repeat,
            {%- for domain in domains(lower=true) %}
            bool_or(in_{{ domain }}) as in_{{ domain }}{% if not loop.last %},{% endif %}
            {%- endfor %}
        from {{ ref('int_artist_fan_days') }}
        where {{ in_window('activity_date', as_of_date, window) }}
        group by entity_id, user_id

    ),

    fans as (

        select
            entity_id,
            count(*) as unique_fans,
            count(*) filter (where is_repeat) as repeat_fans,
            {%- for domain in domains(lower=true) %}
            count(*) filter (where in_{{ domain }}) as unique_fans_{{ domain }}{% if not loop.last %},{% endif %}
            {%- endfor %}
        from fan_windows
        group by entity_id

    ),
    {%- endif %}

    final as (

        select
            '{{ as_of_date }}'::date as as_of_date,
            '{{ window }}'::text as "window",
            entity_id,
            unique_fans,
            repeat_fans,
            {%- for domain in domains(lower=true) %}
            unique_fans_{{ domain }}{% if not loop.last %},{% endif %}
            {%- endfor %}
        from fans

    )

    select * from final
{% endcall %}
