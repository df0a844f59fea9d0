-- The original design, rebuilt for the benchmark only (nothing in the pipeline reads it): a mutations table
-- refilled from the whole log, then twelve materialized views, one per domain x window, refreshed one by one.
-- Every object lives in the schema `legacy`. bench/legacy.py runs the sections below by name; {source} is the
-- source schema and {until} the end of the as-of date (exclusive). Windows are anchored to the as-of date, as
-- the pipeline's are, so both compute the same boards (the old wall-clock windows would cost the same).

-- name: setup
drop schema if exists legacy cascade;
create schema legacy;

-- The weights seed, loaded from dbt/seeds/influence_weights.csv (same columns, same order).
create table legacy.influence_weights (
    weight_version text,
    valid_from date,
    event_type text,
    event_category text,
    base_intensity numeric(8, 2),
    weight_a numeric(6, 2),
    weight_t numeric(6, 2),
    weight_g numeric(6, 2),
    weight_c numeric(6, 2),
    min_duration_seconds numeric(10, 2),
    requires_completed_status boolean
);

-- No index: the legacy refill and every refresh read the whole table anyway.
create table legacy.coliseum_dna_mutations (
    passport_entry_id uuid,
    entity_id uuid,
    user_id uuid,
    domain text,
    event_type text,
    effective_delta numeric,
    created_at timestamptz
);

-- name: board
-- One leaderboard: {name}, {domain} and the window [{since}, {until}) are filled in for each of the twelve.
-- The old INNER join to artist_profiles silently drops artists without a profile.
create materialized view legacy.{name} as
select
    rank() over (order by strength.strength desc) as rank,
    strength.entity_id,
    profiles.artist_name,
    strength.strength as score,
    strength.event_count,
    strength.unique_fans
from (
    select entity_id, sum(effective_delta) as strength, count(*) as event_count, count(distinct user_id) as unique_fans
    from legacy.coliseum_dna_mutations
    where domain = {domain} and created_at >= {since} and created_at < {until}
    group by entity_id
) as strength
inner join {source}.artist_profiles as profiles on profiles.id = strength.entity_id
with no data;

-- name: refill
-- The whole log, every time: one row per entry x domain with a non-zero delta (no quality factor, no validation).
truncate legacy.coliseum_dna_mutations;
insert into legacy.coliseum_dna_mutations
select
    entries.id,
    (case when entries.entity_type = 'artist' then entries.entity_id else entries.metadata ->> 'artist_id' end)::uuid,
    entries.user_id,
    domains.domain,
    entries.event_type,
    weights.base_intensity * domains.weight,
    entries.created_at
from {source}.passport_entries as entries
inner join (
    -- the latest weights of each event type (the legacy design had no weight versions)
    select distinct on (event_type) * from legacy.influence_weights order by event_type, valid_from desc
) as weights on weights.event_type = entries.event_type
cross join lateral (
    values ('A', weights.weight_a), ('T', weights.weight_t), ('G', weights.weight_g), ('C', weights.weight_c)
) as domains (domain, weight)
where weights.base_intensity * domains.weight <> 0;
