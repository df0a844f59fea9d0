{{ config(materialized='view') }}
{#- Artist names from the app's artist_profiles (one row per profile id). A view: it costs nothing to build,
    and the marts always read the names as they are now. The fallback name of an artist without a profile
    is applied where the marts join this (artist_display_name), since such an artist has no row here. -#}

with source as (

    select * from {{ source('passport', 'artist_profiles') }}

),

renamed as (

    select
        id as artist_id,
        artist_name
    from source

),

final as (

    select * from renamed

)

select * from final
