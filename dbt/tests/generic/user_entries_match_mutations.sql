{#- The partition's counted entries are exactly the entries of its mutations, with the same deltas: per day,
    as many entries as distinct mutated entries, and the same sum of effective deltas. -#}
{% test user_entries_match_mutations(model) %}
with mutations as (

    select activity_date, count(distinct passport_entry_id) as entries, sum(effective_delta) as delta_sum
    from {{ ref('coliseum_dna_mutations') }}
    where {{ partition_days_filter() }}
    group by activity_date

),

entries as (

    select activity_date, count(*) as entries, sum(delta_a + delta_t + delta_g + delta_c) as delta_sum
    from {{ model }}
    where {{ partition_days_filter() }}
    group by activity_date

)

select
    coalesce(mutations.activity_date, entries.activity_date) as activity_date,
    mutations.entries as mutated_entries,
    entries.entries as counted_entries,
    mutations.delta_sum as mutations_delta_sum,
    entries.delta_sum as entries_delta_sum
from mutations
full join entries on entries.activity_date = mutations.activity_date
where mutations.entries is distinct from entries.entries
   or mutations.delta_sum is distinct from entries.delta_sum
{% endtest %}
